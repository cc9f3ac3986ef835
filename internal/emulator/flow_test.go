package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// jwks fetches and parses the key set as a relying party would; go-jose
// also checks that x5c, x5t and x5t#S256 agree with the key.
func (v *env) jwks() jose.JSONWebKeySet {
	v.t.Helper()
	r := v.get("/admin/v1/SigningCert/jwk", nil)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(r.body), &set); err != nil {
		v.t.Fatalf("JWKS does not parse: %v\n%s", err, r.body)
	}
	return set
}

// verifyJWT checks a token's signature against the JWKS and returns its
// header and claims.
func (v *env) verifyJWT(raw string) (jose.Header, map[string]any) {
	v.t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		v.t.Fatalf("not an RS256 JWS: %v", err)
	}
	h := jws.Signatures[0].Header
	set := v.jwks()
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		v.t.Fatalf("JWKS has %d keys with kid %q", len(keys), h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		v.t.Fatalf("signature does not verify with the JWKS key: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		v.t.Fatal(err)
	}
	return h, claims
}

func TestCodeFlowIssuesTokensVerifiableWithTheJWKS(t *testing.T) {
	v := newEnv(t, Options{})
	set := v.jwks()
	if len(set.Keys) != 1 || set.Keys[0].Use != "sig" || set.Keys[0].Algorithm != "RS256" || len(set.Keys[0].Certificates) != 1 {
		t.Fatalf("JWKS key: %+v", set.Keys)
	}

	verifier, challenge := pkcePair()
	redirect := v.signIn(authParams(challenge), DemoUserName, DemoUserPassword)
	if redirect.status != http.StatusFound {
		t.Fatalf("sign-in status %d: %s", redirect.status, redirect.body)
	}
	loc := redirect.location(t)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Errorf("redirected to %q, want %q", got, testRedirect)
	}
	if loc.Query().Get("state") != "state-123" {
		t.Errorf("state %q not echoed", loc.Query().Get("state"))
	}
	r := v.postForm("/oauth2/v1/token", url.Values{
		"grant_type":    {GrantAuthorizationCode},
		"code":          {loc.Query().Get("code")},
		"redirect_uri":  {testRedirect},
		"client_id":     {DemoPublicClientID},
		"code_verifier": {verifier},
	}, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("token status %d: %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	tok := r.json(t)
	if str(tok, "token_type") != "Bearer" || tok["expires_in"] != float64(3600) {
		t.Errorf("token_type %v, expires_in %v", tok["token_type"], tok["expires_in"])
	}
	if got := str(tok, "scope"); got != "openid profile email "+ScopeUserMe {
		t.Errorf("scope %q", got)
	}
	if rt := str(tok, "refresh_token"); len(rt) < 400 || strings.Count(rt, ".") != 0 {
		t.Errorf("refresh token should be opaque and long like IDCS's, got %d chars", len(rt))
	}
	at := str(tok, "access_token")
	if len(at) < 2000 {
		t.Errorf("access token is %d bytes; IDCS's are 2 KB or more", len(at))
	}

	h, idt := v.verifyJWT(str(tok, "id_token"))
	if h.KeyID != "SIGNING_KEY" {
		t.Errorf("kid %q, want SIGNING_KEY as IDCS", h.KeyID)
	}
	aud, _ := idt["aud"].([]any)
	if !slices.Contains(aud, any(DemoPublicClientID)) {
		t.Errorf("ID token aud %v lacks the client id", idt["aud"])
	}
	sum := sha256.Sum256([]byte(at))
	for k, want := range map[string]any{
		"iss":              DefaultIssuer,
		"sub":              DemoUserName,
		"nonce":            "nonce-456",
		"tok_type":         "IT",
		"user_displayname": DemoUserDisplayName,
		"user_id":          DemoUserID,
		"azp":              DemoPublicClientID,
		"at_hash":          base64.RawURLEncoding.EncodeToString(sum[:16]),
		"iat":              float64(v.clock.Now().Unix()),
		"auth_time":        float64(v.clock.Now().Unix()),
		"exp":              float64(v.clock.Now().Add(time.Hour).Unix()),
	} {
		if idt[k] != want {
			t.Errorf("ID token %s = %v, want %v", k, idt[k], want)
		}
	}

	_, atc := v.verifyJWT(at)
	for k, want := range map[string]any{
		"iss":              DefaultIssuer,
		"sub":              DemoUserName,
		"sub_type":         "user",
		"tok_type":         "AT",
		"client_id":        DemoPublicClientID,
		"user_id":          DemoUserID,
		"user_displayname": DemoUserDisplayName,
		"scope":            "openid profile email " + ScopeUserMe,
		"tenant_iss":       v.srv.URL,
	} {
		if atc[k] != want {
			t.Errorf("access token %s = %v, want %v", k, atc[k], want)
		}
	}
	for _, k := range []string{"jti", "exp", "iat", "aud", "tenant", "client_name", "user_tz", "sub_mappingattr"} {
		if _, ok := atc[k]; !ok {
			t.Errorf("access token lacks %s", k)
		}
	}
}

func TestConfidentialClientAuthenticatesWithBasicOrPost(t *testing.T) {
	cases := []struct {
		name       string
		basic      bool
		postSecret string
		wantStatus int
		wantError  string
	}{
		{name: "basic", basic: true, wantStatus: http.StatusOK},
		{name: "client_secret_post", postSecret: DemoConfidentialClientSecret, wantStatus: http.StatusOK},
		{name: "both methods at once", basic: true, postSecret: DemoConfidentialClientSecret, wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "no secret", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "wrong post secret", postSecret: "wrong", wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			params := authParams("")
			params.Set("client_id", DemoConfidentialClientID)
			params.Del("code_challenge")
			params.Del("code_challenge_method")
			form := url.Values{
				"grant_type":   {GrantAuthorizationCode},
				"code":         {v.code(params)},
				"redirect_uri": {testRedirect},
				"client_id":    {DemoConfidentialClientID},
			}
			if tc.postSecret != "" {
				form.Set("client_secret", tc.postSecret)
			}
			user := ""
			if tc.basic {
				user = DemoConfidentialClientID
			}
			r := v.postForm("/oauth2/v1/token", form, user, DemoConfidentialClientSecret)
			if tc.wantError != "" {
				wantOAuthError(t, r, tc.wantStatus, tc.wantError)
				return
			}
			if r.status != tc.wantStatus || str(r.json(t), "access_token") == "" {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		})
	}
}

func TestWrongPasswordShowsTheFormAgainAndARetryWorks(t *testing.T) {
	v := newEnv(t, Options{})
	_, challenge := pkcePair()
	page := v.get("/oauth2/v1/authorize", authParams(challenge))
	action, id := signInForm(t, page)
	for _, el := range []string{`id="username"`, `id="password"`, `id="signin"`, `id="cancel"`, `name="action" value="cancel"`, `type="submit"`} {
		if !strings.Contains(page.body, el) {
			t.Errorf("sign-in page lacks %s", el)
		}
	}
	if strings.Contains(page.body, "http://") || strings.Contains(page.body, "https://") || strings.Contains(page.body, "<script") {
		t.Errorf("sign-in page must be self-contained, without external assets or scripts")
	}

	bad := v.postForm(action, url.Values{"request_id": {id}, "username": {DemoUserName}, "password": {"nope"}}, "", "")
	if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "incorrect user name or password") {
		t.Fatalf("wrong password: status %d, body %s", bad.status, bad.body)
	}
	if strings.Contains(bad.body, "nope") {
		t.Errorf("the page echoes the wrong password")
	}
	_, id2 := signInForm(t, bad)
	good := v.postForm(action, url.Values{"request_id": {id2}, "username": {strings.ToUpper(DemoUserName)}, "password": {DemoUserPassword}}, "", "")
	if good.status != http.StatusFound || good.location(t).Query().Get("code") == "" {
		t.Fatalf("retry: status %d: %s", good.status, good.body)
	}
	again := v.postForm(action, url.Values{"request_id": {id2}, "username": {DemoUserName}, "password": {DemoUserPassword}}, "", "")
	if again.status != http.StatusBadRequest {
		t.Errorf("a sign-in request must be usable once; second submit got %d", again.status)
	}
}

func TestSignInFormAlsoPostsToTheAuthorizeEndpoint(t *testing.T) {
	v := newEnv(t, Options{})
	_, challenge := pkcePair()
	_, id := signInForm(t, v.get("/oauth2/v1/authorize", authParams(challenge)))
	r := v.postForm("/oauth2/v1/authorize", url.Values{"request_id": {id}, "username": {DemoUserName}, "password": {DemoUserPassword}}, "", "")
	if r.status != http.StatusFound || r.location(t).Query().Get("code") == "" {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	// And a whole authorization request may be posted (OpenID Connect Core 3.1.2.1).
	page := v.postForm("/oauth2/v1/authorize", authParams(challenge), "", "")
	signInForm(t, page)
}

func TestCancelRedirectsWithAccessDenied(t *testing.T) {
	v := newEnv(t, Options{})
	_, challenge := pkcePair()
	action, id := signInForm(t, v.get("/oauth2/v1/authorize", authParams(challenge)))
	r := v.postForm(action, url.Values{"request_id": {id}, "action": {"cancel"}}, "", "")
	if r.status != http.StatusFound {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	q := r.location(t).Query()
	if q.Get("error") != "access_denied" || q.Get("error_description") != "The user denied the request" || q.Get("state") != "state-123" {
		t.Errorf("redirect query %v", q)
	}
}

func TestPagesEscapeEverythingTheyEcho(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	v := newEnv(t, Options{})
	cases := []struct {
		name string
		get  func() response
	}{
		{"unknown client id", func() response {
			return v.get("/oauth2/v1/authorize", url.Values{"client_id": {evil}, "redirect_uri": {testRedirect}})
		}},
		{"user name after a wrong password", func() response {
			_, challenge := pkcePair()
			action, id := signInForm(t, v.get("/oauth2/v1/authorize", authParams(challenge)))
			return v.postForm(action, url.Values{"request_id": {id}, "username": {evil}, "password": {"x"}}, "", "")
		}},
		{"device user code", func() response {
			return v.get(devicePath, url.Values{"user_code": {evil}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.get()
			if strings.Contains(r.body, "<script>") {
				t.Fatalf("page echoes markup unescaped:\n%s", r.body)
			}
			if !strings.Contains(r.body, "&lt;script&gt;") {
				t.Fatalf("page does not show the escaped input:\n%s", r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestUserLogoutRedirectsOnlyToRegisteredURIs(t *testing.T) {
	v := newEnv(t, Options{})
	const after = "http://127.0.0.1:8765/signed-out"
	if err := v.e.AddPostLogoutRedirectURI(DemoPublicClientID, after); err != nil {
		t.Fatal(err)
	}
	idToken := str(v.login(), "id_token")
	cases := []struct {
		name       string
		q          url.Values
		wantStatus int
	}{
		{"registered uri with id_token_hint", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {after}, "state": {"s1"}}, http.StatusFound},
		{"unregistered uri", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1:9/x"}}, http.StatusBadRequest},
		{"uri without a hint or client id", url.Values{"post_logout_redirect_uri": {after}}, http.StatusBadRequest},
		// OpenID RP-Initiated Logout lets client_id stand in for the hint;
		// IDCS documents only the hint, which names the application.
		{"client_id in place of the hint", url.Values{"client_id": {DemoPublicClientID}, "post_logout_redirect_uri": {after}, "state": {"s1"}}, http.StatusBadRequest},
		{"client_id of another application", url.Values{"id_token_hint": {idToken}, "client_id": {DemoConfidentialClientID}, "post_logout_redirect_uri": {after}}, http.StatusBadRequest},
		{"forged hint", url.Values{"id_token_hint": {idToken[:len(idToken)-4] + "AAAA"}, "post_logout_redirect_uri": {after}}, http.StatusBadRequest},
		{"no redirect", url.Values{}, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := v.get("/oauth2/v1/userlogout", tc.q)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if r.status == http.StatusFound {
				loc := r.location(t)
				if loc.Query().Get("state") != "s1" || !strings.HasPrefix(loc.String(), after) {
					t.Errorf("Location %s", loc)
				}
			}
		})
	}
}
