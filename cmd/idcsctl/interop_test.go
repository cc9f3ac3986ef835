package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// The provider of the interop scripts is zitadel/oidc's op package, an
// OpenID Certified implementation nobody here wrote. It knows idcsctl only
// as a registered native public client; idcsctl knows it only through its
// discovery document.
const (
	opClientID = "idcsctl-native"
	opUserName = "ada"
	opPassword = "correct horse battery staple"
	opSubject  = "u-7f3c9a"
	// opDefaultTTL is the access token lifetime until a script says otherwise.
	opDefaultTTL = 5 * time.Minute
)

// TestScriptsInterop runs testdata/script-interop against a fresh zitadel
// provider each: sign-in through the HTTP stand-in browser and, where
// Chromium is installed, through Chromium; token, refresh, whoami and
// logout with revocation, all through discovery alone.
func TestScriptsInterop(t *testing.T) {
	browser := startChromiumIfInstalled(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script-interop",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			srv, err := startOP(testKey())
			if err != nil {
				return err
			}
			e.Defer(srv.Close)
			e.Values["op"] = srv
			port, err := scriptPort(e)
			if err != nil {
				return err
			}
			work := e.WorkDir
			e.Vars = append(e.Vars,
				"HOME="+filepath.Join(work, "home"),
				"XDG_CONFIG_HOME="+filepath.Join(work, "home", ".config"),
				"XDG_CACHE_HOME="+filepath.Join(work, "home", ".cache"),
				"IDCSCTL_CONFIG="+filepath.Join(work, "idcsctl", "config.toml"),
				"OP="+srv.URL,
				"CLIENT_ID="+opClientID,
				"PORT="+strconv.Itoa(port),
				"BROWSER=testbrowser",
				"TESTBROWSER_USER="+opUserName,
				"TESTBROWSER_PASSWORD="+opPassword,
				"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(work, "no-bus"),
				"IDCSCTL_TOKEN_STORE=file",
			)
			return setupChromiumHandoff(e)
		},
		Condition: chromiumCondition(browser),
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"op":       cmdOP,
			"exits":    cmdExits,
			"chromium": cmdChromium(browser),
		},
	})
}

// cmdOP turns the provider's knobs and checks its books:
//
//	op ttl DURATION     access tokens issued from now on live this long
//	op refreshes N      the provider has served exactly N refresh grants
//	op live A R         exactly A access tokens and R refresh tokens are live
func cmdOP(ts *testscript.TestScript, neg bool, args []string) {
	srv := ts.Value("op").(*opServer)
	if len(args) == 0 {
		ts.Fatalf("usage: op ttl|refreshes|live ...")
	}
	st := srv.store
	st.mu.Lock()
	defer st.mu.Unlock()
	switch {
	case args[0] == "ttl" && len(args) == 2:
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		st.ttl = d
	case args[0] == "refreshes" && len(args) == 2:
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		if (st.refreshes == want) == neg {
			ts.Fatalf("the provider served %d refresh grants, want %d", st.refreshes, want)
		}
	case args[0] == "live" && len(args) == 3:
		access, err := strconv.Atoi(args[1])
		ts.Check(err)
		refresh, err := strconv.Atoi(args[2])
		ts.Check(err)
		if (len(st.access) == access && len(st.refresh) == refresh) == neg {
			ts.Fatalf("the provider holds %d live access and %d live refresh tokens, want %d and %d", len(st.access), len(st.refresh), access, refresh)
		}
	default:
		ts.Fatalf("usage: op ttl DURATION | op refreshes N | op live ACCESS REFRESH")
	}
}

// opServer is the provider on loopback: the op package's handler, and the
// sign-in form the op package leaves to its user.
type opServer struct {
	URL   string
	store *opStore
	srv   *httptest.Server
}

// Close stops the server.
func (s *opServer) Close() { s.srv.Close() }

// startOP starts a provider whose issuer is its own URL, as is usual
// outside IDCS.
func startOP(key *rsa.PrivateKey) (*opServer, error) {
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	st := newOPStore(key)
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, err
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:             cryptoKey,
		CodeMethodS256:        true,
		GrantTypeRefreshToken: true,
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("start the zitadel provider: %w", err)
	}
	login := &opLogin{store: st, callback: op.AuthCallbackURL(provider)}
	mux := http.NewServeMux()
	mux.Handle("GET /login", http.HandlerFunc(login.form))
	mux.Handle("POST /login", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(login.submit))
	mux.Handle("/", provider)
	srv.Config.Handler = mux
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	srv.Start()
	return &opServer{URL: issuer, store: st, srv: srv}, nil
}

// opLogin is the provider's sign-in UI: the op package hands it the
// authorization request's id and expects it back at the callback URL once
// the user is known.
type opLogin struct {
	store    *opStore
	callback func(context.Context, string) string
}

var opLoginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - zitadel/oidc provider</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:#eef1f5;color:#1d1f23}
main{width:22em;padding:2em;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.3em;margin-top:0}
label{display:block;margin-top:1em;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5em;font-size:1em;border:1px solid #9aa3ad;border-radius:4px}
button{margin-top:1.5em;width:100%;padding:.6em;font-size:1em;border:0;border-radius:4px;background:#3558d6;color:#fff}
.error{color:#b42318}
</style>
</head>
<body>
<main>
<h1>Sign in</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<label for="username">User name</label>
<input type="text" id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="signin">Sign in</button>
</form>
</main>
</body>
</html>
`))

func (l *opLogin) render(w http.ResponseWriter, status int, id, problem string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = opLoginPage.Execute(w, struct{ ID, Error string }{id, problem})
}

func (l *opLogin) form(w http.ResponseWriter, r *http.Request) {
	l.render(w, http.StatusOK, r.URL.Query().Get("authRequestID"), "")
}

func (l *opLogin) submit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("id")
	if err := l.store.signIn(id, r.PostForm.Get("username"), r.PostForm.Get("password")); err != nil {
		l.render(w, http.StatusUnauthorized, id, err.Error())
		return
	}
	http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
}

// opStore is the provider's storage, in memory: one user, one client
// (idcsctl as a native public client that must use PKCE S256), and the
// requests and tokens of the flows. It implements op.Storage.
type opStore struct {
	key    *rsa.PrivateKey
	keyID  string
	client *opClient

	mu        sync.Mutex
	ttl       time.Duration
	requests  map[string]*opAuthRequest // by request id
	codes     map[string]string         // code → request id
	access    map[string]*opGrant       // live access tokens, by id
	refresh   map[string]*opGrant       // live refresh tokens, by value
	refreshes int                       // refresh grants served
}

// opGrant is what a token stands for.
type opGrant struct {
	id, subject, clientID string
	scopes, audience      []string
	authTime              time.Time
	amr                   []string
	expiry                time.Time
	accessID              string // the access token a refresh token last gave
}

func newOPStore(key *rsa.PrivateKey) *opStore {
	return &opStore{
		key:      key,
		keyID:    "interop-1",
		client:   &opClient{},
		ttl:      opDefaultTTL,
		requests: map[string]*opAuthRequest{},
		codes:    map[string]string{},
		access:   map[string]*opGrant{},
		refresh:  map[string]*opGrant{},
	}
}

func opRandom() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signIn checks the user's password and marks the request signed in.
func (s *opStore) signIn(id, username, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, ok := s.requests[id]
	if !ok {
		return errors.New("this sign-in has expired; start again from the application")
	}
	if username != opUserName || subtle.ConstantTimeCompare([]byte(password), []byte(opPassword)) != 1 {
		return errors.New("wrong user name or password")
	}
	req.subject, req.authTime, req.done = opSubject, time.Now(), true
	return nil
}

// CreateAuthRequest refuses a request without PKCE S256: the client is
// registered as public, so the verifier is its only proof.
func (s *opStore) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("this client must use PKCE with S256")
	}
	req := &opAuthRequest{id: opRandom(), req: r}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[req.id] = req
	return req, nil
}

func (s *opStore) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req, ok := s.requests[id]; ok {
		return req, nil
	}
	return nil, errors.New("unknown authorization request")
}

func (s *opStore) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("unknown or used code")
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *opStore) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

func (s *opStore) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for code, rid := range s.codes {
		if rid == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// grantOf reads who and what a token request is for.
func grantOf(r op.TokenRequest) *opGrant {
	g := &opGrant{subject: r.GetSubject(), scopes: r.GetScopes(), audience: r.GetAudience()}
	switch r := r.(type) {
	case *opAuthRequest:
		g.clientID, g.authTime, g.amr = r.GetClientID(), r.GetAuthTime(), r.GetAMR()
	case *opRefreshRequest:
		g.clientID, g.authTime, g.amr = r.GetClientID(), r.GetAuthTime(), r.GetAMR()
	}
	return g
}

// issueAccess records a new access token; s.mu must be held.
func (s *opStore) issueAccess(g *opGrant) *opGrant {
	a := *g
	a.id, a.expiry = opRandom(), time.Now().Add(s.ttl)
	s.access[a.id] = &a
	return &a
}

func (s *opStore) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.issueAccess(grantOf(r))
	return a.id, a.expiry, nil
}

// CreateAccessAndRefreshTokens issues tokens for a sign-in, or, with
// current set, for a refresh grant: the refresh token rotates and the
// access token it gave before dies.
func (s *opStore) CreateAccessAndRefreshTokens(_ context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := grantOf(r)
	if current != "" {
		old, ok := s.refresh[current]
		if !ok {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
		delete(s.refresh, current)
		delete(s.access, old.accessID)
		s.refreshes++
	}
	rt := &opGrant{subject: g.subject, clientID: g.clientID, scopes: g.scopes, audience: g.audience, authTime: g.authTime, amr: g.amr}
	rt.id = opRandom()
	a := s.issueAccess(g)
	rt.accessID = a.id
	s.refresh[rt.id] = rt
	return a.id, rt.id, a.expiry, nil
}

func (s *opStore) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.refresh[token]
	if !ok {
		return nil, op.ErrInvalidRefreshToken
	}
	c := *g
	return &opRefreshRequest{&c}, nil
}

func (s *opStore) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]*opGrant{s.access, s.refresh} {
		for k, g := range m {
			if g.subject == userID && g.clientID == clientID {
				delete(m, k)
			}
		}
	}
	return nil
}

// RevokeToken gets an access token's id, or a refresh token as
// GetRefreshTokenInfo named it. Revoking a refresh token revokes the
// access token it gave too. Unknown tokens are already revoked (RFC 7009).
func (s *opStore) RevokeToken(_ context.Context, token, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.access[token]; ok {
		if a.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		delete(s.access, token)
		return nil
	}
	if rt, ok := s.refresh[token]; ok {
		if rt.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was issued to another client")
		}
		delete(s.refresh, token)
		delete(s.access, rt.accessID)
	}
	return nil
}

func (s *opStore) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt, ok := s.refresh[token]; ok {
		return rt.subject, token, nil
	}
	return "", "", op.ErrInvalidRefreshToken
}

func (s *opStore) SigningKey(context.Context) (op.SigningKey, error) {
	return opKey{s.key, s.keyID}, nil
}

func (s *opStore) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *opStore) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{opPublicKey{opKey{s.key, s.keyID}}}, nil
}

func (s *opStore) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != opClientID {
		return nil, fmt.Errorf("unknown client %q", id)
	}
	return s.client, nil
}

// AuthorizeClientIDSecret is refused: the only client is public.
func (s *opStore) AuthorizeClientIDSecret(context.Context, string, string) error {
	return errors.New("no client of this provider has a secret")
}

// SetUserinfoFromScopes is deprecated in favour of SetUserinfoFromRequest.
func (s *opStore) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims.
func (s *opStore) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return setOPUserinfo(info, r.GetSubject(), scopes)
}

// SetUserinfoFromToken serves the userinfo endpoint for a live access token.
func (s *opStore) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	a, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(a.expiry) {
		return errors.New("the access token is expired or revoked")
	}
	return setOPUserinfo(info, a.subject, a.scopes)
}

func setOPUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	if subject != opSubject {
		return fmt.Errorf("unknown user %q", subject)
	}
	info.Subject = subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.PreferredUsername, info.Name = opUserName, "Ada Lovelace"
		info.GivenName, info.FamilyName = "Ada", "Lovelace"
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email, info.EmailVerified = "ada@example.com", true
	}
	return nil
}

func (s *opStore) SetIntrospectionFromToken(_ context.Context, r *oidc.IntrospectionResponse, tokenID, _, _ string) error {
	s.mu.Lock()
	a, ok := s.access[tokenID]
	s.mu.Unlock()
	if !ok || time.Now().After(a.expiry) {
		return errors.New("the access token is expired or revoked")
	}
	r.Active, r.Subject, r.ClientID, r.Scope = true, a.subject, a.clientID, a.scopes
	r.Expiration = oidc.FromTime(a.expiry)
	return nil
}

func (s *opStore) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID serves JWT client assertions, which no client here uses.
func (s *opStore) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("no client of this provider signs assertions")
}

func (s *opStore) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not offered")
}

func (s *opStore) Health(context.Context) error { return nil }

// opKey is the provider's RS256 signing key (an op.SigningKey).
type opKey struct {
	key *rsa.PrivateKey
	id  string
}

func (k opKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k opKey) ID() string                                  { return k.id }
func (k opKey) Key() any                                    { return k.key }

// opPublicKey is the same key as the JWKS publishes it (an op.Key).
type opPublicKey struct{ opKey }

func (k opPublicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k opPublicKey) Use() string                        { return "sig" }
func (k opPublicKey) Key() any                           { return &k.key.PublicKey }

// opAuthRequest is one authorization request and its sign-in.
type opAuthRequest struct {
	id       string
	req      *oidc.AuthRequest
	subject  string
	authTime time.Time
	done     bool
}

func (a *opAuthRequest) GetID() string         { return a.id }
func (a *opAuthRequest) GetACR() string        { return "" }
func (a *opAuthRequest) GetAudience() []string { return []string{a.req.ClientID} }
func (a *opAuthRequest) GetAuthTime() time.Time {
	return a.authTime
}
func (a *opAuthRequest) GetClientID() string { return a.req.ClientID }
func (a *opAuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.req.CodeChallenge, Method: a.req.CodeChallengeMethod}
}
func (a *opAuthRequest) GetNonce() string                   { return a.req.Nonce }
func (a *opAuthRequest) GetRedirectURI() string             { return a.req.RedirectURI }
func (a *opAuthRequest) GetResponseType() oidc.ResponseType { return a.req.ResponseType }
func (a *opAuthRequest) GetResponseMode() oidc.ResponseMode { return a.req.ResponseMode }
func (a *opAuthRequest) GetScopes() []string                { return a.req.Scopes }
func (a *opAuthRequest) GetState() string                   { return a.req.State }
func (a *opAuthRequest) GetSubject() string                 { return a.subject }
func (a *opAuthRequest) Done() bool                         { return a.done }
func (a *opAuthRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

// opRefreshRequest is a refresh grant's view of its refresh token.
type opRefreshRequest struct{ g *opGrant }

func (r *opRefreshRequest) GetAMR() []string            { return r.g.amr }
func (r *opRefreshRequest) GetAudience() []string       { return r.g.audience }
func (r *opRefreshRequest) GetAuthTime() time.Time      { return r.g.authTime }
func (r *opRefreshRequest) GetClientID() string         { return r.g.clientID }
func (r *opRefreshRequest) GetScopes() []string         { return r.g.scopes }
func (r *opRefreshRequest) GetSubject() string          { return r.g.subject }
func (r *opRefreshRequest) SetCurrentScopes(s []string) { r.g.scopes = s }

// opClient is idcsctl as registered at the provider: a native application
// with no secret, the code flow and refresh tokens, and the loopback
// redirect http://127.0.0.1/callback, whose port the provider ignores as
// RFC 8252 7.3 asks.
type opClient struct{}

func (*opClient) GetID() string                       { return opClientID }
func (*opClient) RedirectURIs() []string              { return []string{"http://127.0.0.1/callback"} }
func (*opClient) PostLogoutRedirectURIs() []string    { return nil }
func (*opClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }
func (*opClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodNone }
func (*opClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (*opClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (*opClient) LoginURL(id string) string            { return "/login?authRequestID=" + id }
func (*opClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (*opClient) IDTokenLifetime() time.Duration       { return time.Hour }
func (*opClient) DevMode() bool                        { return false }
func (*opClient) IsScopeAllowed(string) bool           { return false }
func (*opClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (*opClient) ClockSkew() time.Duration             { return 0 }
func (*opClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (*opClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

var _ op.Storage = (*opStore)(nil)
var _ op.CanSetUserinfoFromRequest = (*opStore)(nil)
