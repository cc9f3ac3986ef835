package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// idcsIssuer is what IDCS puts in its discovery document and its tokens,
// whatever URL serves them.
const idcsIssuer = "https://identity.oraclecloud.com/"

// testProvider is a small OpenID provider for this package's tests: real
// RS256 signing and JWKS, real PKCE and client checks, and knobs to make it
// misbehave. Like IDCS, it declares an issuer other than its own URL.
type testProvider struct {
	t        *testing.T
	srv      *httptest.Server
	URL      string
	Issuer   string
	ClientID string
	Secret   string // "" = public client
	key      *rsa.PrivateKey
	clock    *fakeClock

	mu sync.Mutex
	// Knobs; set them before the request they change.
	tokenOverride   http.HandlerFunc // answers /token instead of the provider
	authorizeError  string           // /authorize redirects back with this error=
	authorizeRefuse string           // /authorize answers 400 with this HTML page, as for an unregistered redirect URI
	noRefreshRotate bool             // refresh answers without a new refresh token
	noIDToken       bool             // token answers carry no id_token
	tamper          func(claims map[string]any)
	discoveryHeader string // Cache-Control of the discovery document
	discoveryBody   string // replaces the discovery document
	discoveryStatus int
	devicePolls     []string // error codes the device poll answers, in order, before success

	// Records.
	authRequests   []url.Values
	tokenRequests  []url.Values
	tokenAuth      []string // Authorization header of each token request
	discoveryHits  int
	revoked        []url.Values
	codes          map[string]url.Values // code -> its authorization request
	accessTokens   map[string]bool
	refreshTokens  map[string]bool
	deviceRequests []url.Values
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestProvider(t *testing.T) *testProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{
		t:             t,
		Issuer:        idcsIssuer,
		ClientID:      "cli-public",
		key:           key,
		clock:         &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		codes:         map[string]url.Values{},
		accessTokens:  map[string]bool{},
		refreshTokens: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /oauth2/v1/authorize", p.authorize)
	mux.HandleFunc("POST /oauth2/v1/token", p.token)
	mux.HandleFunc("GET /admin/v1/SigningCert/jwk", p.jwks)
	mux.HandleFunc("GET /oauth2/v1/userinfo", p.userinfo)
	mux.HandleFunc("POST /oauth2/v1/revoke", p.revoke)
	mux.HandleFunc("POST /oauth2/v1/device", p.deviceAuthorization)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) metadata() *Metadata {
	return &Metadata{
		Issuer:                      p.Issuer,
		AuthorizationEndpoint:       p.URL + "/oauth2/v1/authorize",
		TokenEndpoint:               p.URL + "/oauth2/v1/token",
		UserinfoEndpoint:            p.URL + "/oauth2/v1/userinfo",
		JWKSURI:                     p.URL + "/admin/v1/SigningCert/jwk",
		RevocationEndpoint:          p.URL + "/oauth2/v1/revoke",
		DeviceAuthorizationEndpoint: p.URL + "/oauth2/v1/device",
	}
}

// client is an auth.Client for this provider, on its fake clock.
func (p *testProvider) client() *Client {
	hc := p.srv.Client()
	hc.Timeout = 10 * time.Second
	return &Client{
		Metadata:     p.metadata(),
		ClientID:     p.ClientID,
		ClientSecret: p.Secret,
		Scopes:       []string{"urn:opc:idm:t.user.me", "openid"},
		HTTP:         hc,
		Now:          p.clock.Now,
	}
}

func (p *testProvider) discovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.discoveryHits++
	body, header, status := p.discoveryBody, p.discoveryHeader, p.discoveryStatus
	p.mu.Unlock()
	if header != "" {
		w.Header().Set("Cache-Control", header)
	}
	if body != "" {
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return
	}
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p.metadata())
}

func (p *testProvider) jwks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

// authorize checks the request like IDCS would and redirects back to the
// client's redirect URI with a code (or the error knob).
func (p *testProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.authRequests = append(p.authRequests, q)
	authErr, refuse := p.authorizeError, p.authorizeRefuse
	p.mu.Unlock()
	switch {
	case refuse != "":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, refuse)
		return
	case q.Get("client_id") != p.ClientID, q.Get("response_type") != "code":
		http.Error(w, "bad client or response type", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256", len(q.Get("code_challenge")) != 43:
		http.Error(w, "PKCE S256 required", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{"state": {q.Get("state")}}
	if authErr != "" {
		v.Set("error", authErr)
		v.Set("error_description", "The user said no")
	} else {
		code := randomToken()
		p.mu.Lock()
		p.codes[code] = q
		p.mu.Unlock()
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// clientOK checks client authentication: HTTP Basic for a confidential
// client, client_id in the form for a public one.
func (p *testProvider) clientOK(r *http.Request) bool {
	if p.Secret == "" {
		_, _, basic := r.BasicAuth()
		return !basic && r.PostForm.Get("client_id") == p.ClientID
	}
	id, secret, ok := r.BasicAuth()
	return ok && r.PostForm.Get("client_secret") == "" &&
		subtle.ConstantTimeCompare([]byte(id), []byte(p.ClientID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(p.Secret)) == 1
}

func (p *testProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	p.mu.Lock()
	p.tokenRequests = append(p.tokenRequests, r.PostForm)
	p.tokenAuth = append(p.tokenAuth, r.Header.Get("Authorization"))
	override := p.tokenOverride
	p.mu.Unlock()
	if override != nil {
		override(w, r)
		return
	}
	if !p.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "authorization_code":
		p.mu.Lock()
		req, ok := p.codes[f.Get("code")]
		delete(p.codes, f.Get("code"))
		p.mu.Unlock()
		if !ok || req.Get("redirect_uri") != f.Get("redirect_uri") {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or expired")
			return
		}
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != req.Get("code_challenge") {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
		p.issue(w, req.Get("nonce"), true)
	case "refresh_token":
		p.mu.Lock()
		ok := p.refreshTokens[f.Get("refresh_token")]
		rotate := !p.noRefreshRotate
		if ok && rotate {
			delete(p.refreshTokens, f.Get("refresh_token"))
		}
		p.mu.Unlock()
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid or expired")
			return
		}
		p.issue(w, "", rotate)
	case "client_credentials":
		p.issue(w, "", false)
	case deviceCodeGrant:
		p.mu.Lock()
		var next string
		if len(p.devicePolls) > 0 {
			next, p.devicePolls = p.devicePolls[0], p.devicePolls[1:]
		}
		p.mu.Unlock()
		if next != "" {
			oauthError(w, http.StatusBadRequest, next, "")
			return
		}
		p.issue(w, "", true)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

// issue answers a token request with fresh tokens and an ID token for the
// demo user.
func (p *testProvider) issue(w http.ResponseWriter, nonce string, withRefresh bool) {
	access := "at-" + randomToken()
	resp := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   3600,
		"scope":        "urn:opc:idm:t.user.me openid",
	}
	p.mu.Lock()
	p.accessTokens[access] = true
	if withRefresh {
		rt := "rt-" + randomToken()
		p.refreshTokens[rt] = true
		resp["refresh_token"] = rt
	}
	noID := p.noIDToken
	p.mu.Unlock()
	if !noID {
		claims := p.claims(nonce)
		claims["at_hash"] = atHash(access)
		resp["id_token"] = p.sign(claims)
	}
	writeJSON(w, http.StatusOK, resp)
}

// claims are a good ID token's claims, through the tamper knob.
func (p *testProvider) claims(nonce string) map[string]any {
	now := p.clock.Now()
	c := map[string]any{
		"iss":              p.Issuer,
		"sub":              "user@example.com",
		"aud":              []string{p.ClientID},
		"exp":              now.Add(time.Hour).Unix(),
		"iat":              now.Unix(),
		"user_displayname": "Demo User",
		"user_id":          "8f1c2d",
		"email":            "user@example.com",
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	p.mu.Lock()
	tamper := p.tamper
	p.mu.Unlock()
	if tamper != nil {
		tamper(c)
	}
	return c
}

func (p *testProvider) sign(claims map[string]any) string {
	return signJWT(p.t, jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: p.key, KeyID: "k1"}}, claims)
}

func signJWT(t *testing.T, key jose.SigningKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsignedJWT is a token with alg "none", which go-jose will not make.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "."
}

func otherRSAKey(t *testing.T) jose.SigningKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}
}

func ecKey(t *testing.T) (jose.SigningKey, crypto.PublicKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, &k.PublicKey
}

func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (p *testProvider) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	valid := ok && p.accessTokens[tok]
	p.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token is invalid"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": "user@example.com", "email": "user@example.com"})
}

func (p *testProvider) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !p.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = append(p.revoked, r.PostForm)
	delete(p.refreshTokens, r.PostForm.Get("token"))
	delete(p.accessTokens, r.PostForm.Get("token"))
	w.WriteHeader(http.StatusOK)
}

func (p *testProvider) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !p.clientOK(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return
	}
	p.mu.Lock()
	p.deviceRequests = append(p.deviceRequests, r.PostForm)
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               "dc-" + randomToken(),
		"user_code":                 "WDJB-MJHT",
		"verification_uri":          p.URL + "/device",
		"verification_uri_complete": p.URL + "/device?user_code=WDJB-MJHT",
		"expires_in":                60,
		"interval":                  1,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// browserVisit is what the fake browser saw at the end of its redirects.
type browserVisit struct {
	url    string
	status int
	body   string
	err    error
}

// fakeBrowser follows the sign-in URL like a browser whose person is
// already signed in: the provider redirects straight to the callback.
type fakeBrowser struct {
	client *http.Client
	visits chan browserVisit
}

func newFakeBrowser() *fakeBrowser {
	return &fakeBrowser{client: &http.Client{Timeout: 10 * time.Second}, visits: make(chan browserVisit, 8)}
}

func (b *fakeBrowser) open(u string) error {
	go func() {
		resp, err := b.client.Get(u)
		if err != nil {
			b.visits <- browserVisit{url: u, err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		b.visits <- browserVisit{url: resp.Request.URL.String(), status: resp.StatusCode, body: string(body), err: err}
	}()
	return nil
}

// tokenRequest returns the form of the n-th token request.
func (p *testProvider) tokenRequest(n int) url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n >= len(p.tokenRequests) {
		p.t.Fatalf("token request %d was not made (%d made)", n, len(p.tokenRequests))
	}
	return p.tokenRequests[n]
}

func (p *testProvider) authRequest(n int) url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n >= len(p.authRequests) {
		p.t.Fatalf("authorization request %d was not made (%d made)", n, len(p.authRequests))
	}
	return p.authRequests[n]
}

func (p *testProvider) set(f func(p *testProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}
