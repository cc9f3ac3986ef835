package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// sharedKey is one RSA key for every test: generating one per emulator
// would make the suite slow.
var sharedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

func testSigner(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := sharedKey()
	if err != nil {
		t.Fatalf("generate test key: %v", err)
	}
	return k
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
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

// testRedirect is the redirect URI the tests register for both demo clients.
const testRedirect = "http://127.0.0.1:8765/callback"

// env is an emulator behind httptest with a fake clock and a client that
// does not follow redirects.
type env struct {
	t      *testing.T
	e      *Emulator
	srv    *httptest.Server
	clock  *fakeClock
	client *http.Client
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clock := newFakeClock()
	if opts.Signer == nil {
		opts.Signer = testSigner(t)
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, id := range []string{DemoPublicClientID, DemoConfidentialClientID} {
		if _, ok := e.client(id); ok {
			if err := e.AddRedirectURI(id, testRedirect); err != nil {
				t.Fatalf("AddRedirectURI: %v", err)
			}
		}
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{
		t:     t,
		e:     e,
		srv:   srv,
		clock: clock,
		client: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// location parses the Location of a redirect.
func (r response) location(t *testing.T) *url.URL {
	t.Helper()
	loc := r.header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location header (status %d): %s", r.status, r.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u
}

func (v *env) do(req *http.Request) response {
	v.t.Helper()
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatalf("read %s: %v", req.URL.Path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (v *env) get(path string, q url.Values) response {
	v.t.Helper()
	u := v.srv.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	return v.do(req)
}

func (v *env) getBearer(path, token string) response {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.srv.URL+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return v.do(req)
}

// postForm posts a form; user and pass, when user is not "", go in HTTP
// Basic as an OAuth client sends them.
func (v *env) postForm(path string, form url.Values, user, pass string) response {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	return v.do(req)
}

func (v *env) postJSON(path, body string) response {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.srv.URL+path, strings.NewReader(body))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return v.do(req)
}

func pkcePair() (verifier, challenge string) {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams is a good authorization request of the public demo client.
func authParams(challenge string) url.Values {
	return url.Values{
		"client_id":             {DemoPublicClientID},
		"redirect_uri":          {testRedirect},
		"response_type":         {"code"},
		"scope":                 {"openid profile email " + ScopeUserMe},
		"state":                 {"state-123"},
		"nonce":                 {"nonce-456"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
}

var (
	requestIDRe  = regexp.MustCompile(`name="request_id" value="([^"]+)"`)
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// signInForm reads the sign-in page's form action and request id.
func signInForm(t *testing.T, r response) (action, requestID string) {
	t.Helper()
	a := formActionRe.FindStringSubmatch(r.body)
	id := requestIDRe.FindStringSubmatch(r.body)
	if a == nil || id == nil {
		t.Fatalf("no sign-in form in the page (status %d):\n%s", r.status, r.body)
	}
	return html.UnescapeString(a[1]), html.UnescapeString(id[1])
}

// signIn runs the browser part of the code flow and returns the redirect
// the emulator answered with.
func (v *env) signIn(params url.Values, username, password string) response {
	v.t.Helper()
	page := v.get("/oauth2/v1/authorize", params)
	if page.status != http.StatusOK {
		v.t.Fatalf("authorize: status %d: %s", page.status, page.body)
	}
	action, id := signInForm(v.t, page)
	return v.postForm(action, url.Values{"request_id": {id}, "username": {username}, "password": {password}, "action": {"signin"}}, "", "")
}

// code runs the browser part and returns the authorization code.
func (v *env) code(params url.Values) string {
	v.t.Helper()
	r := v.signIn(params, DemoUserName, DemoUserPassword)
	if r.status != http.StatusFound {
		v.t.Fatalf("sign-in: status %d, want 302: %s", r.status, r.body)
	}
	q := r.location(v.t).Query()
	if q.Get("code") == "" {
		v.t.Fatalf("sign-in redirect has no code: %s", r.header.Get("Location"))
	}
	return q.Get("code")
}

// login runs the whole public client code flow and returns the token
// response.
func (v *env) login() map[string]any {
	v.t.Helper()
	verifier, challenge := pkcePair()
	code := v.code(authParams(challenge))
	r := v.postForm("/oauth2/v1/token", url.Values{
		"grant_type":    {GrantAuthorizationCode},
		"code":          {code},
		"redirect_uri":  {testRedirect},
		"client_id":     {DemoPublicClientID},
		"code_verifier": {verifier},
	}, "", "")
	if r.status != http.StatusOK {
		v.t.Fatalf("token: status %d: %s", r.status, r.body)
	}
	return r.json(v.t)
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// wantOAuthError checks an OAuth error answer.
func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	m := r.json(t)
	if str(m, "error") != code {
		t.Fatalf("error %q, want %q (%s)", str(m, "error"), code, str(m, "error_description"))
	}
	if str(m, "error_description") == "" {
		t.Errorf("error %q has no error_description", code)
	}
}
