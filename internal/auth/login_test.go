package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/idcsctl/idcsctl/internal/testnet"
)

// testCtx bounds a test that talks to servers, so a bug fails it instead of
// hanging the run.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// redirectPort reads the port of the redirect_uri in a sign-in URL.
func redirectPort(t *testing.T, authURL string) int {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	back, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(back.Port())
	if err != nil {
		t.Fatalf("redirect_uri %q has no port", back)
	}
	return port
}

// assertPortFree fails unless 127.0.0.1:port can be bound again.
func assertPortFree(t *testing.T, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d is still held after Login returned: %v", port, err)
	}
	ln.Close()
}

func TestLoginSignsInWithPKCEStateAndNonce(t *testing.T) {
	p := newTestProvider(t)
	for _, secret := range []string{"", "s3cr3t-value"} {
		name := "public client"
		if secret != "" {
			name = "confidential client"
		}
		t.Run(name, func(t *testing.T) {
			p.set(func(p *testProvider) {
				p.Secret = secret
				p.authRequests = nil
				p.tokenRequests = nil
				p.tokenAuth = nil
			})
			c := p.client()
			b := newFakeBrowser()
			var stderr bytes.Buffer
			var opened string
			res, err := c.Login(testCtx(t), LoginOptions{
				OpenBrowser: func(u string) error { opened = u; return b.open(u) },
				Stderr:      &stderr,
			})
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			visit := <-b.visits
			if visit.err != nil || visit.status != http.StatusOK || !strings.Contains(visit.body, "Signed in") {
				t.Errorf("browser ended on %s with %d %v, want the success page", visit.url, visit.status, visit.err)
			}
			if res.AccessToken == "" || res.RefreshToken == "" || res.IDToken == "" || res.Claims == nil {
				t.Fatalf("result lacks tokens or claims: %+v", res)
			}
			if res.Claims.Subject != "user@example.com" || res.Claims.UserDisplayName != "Demo User" || res.Claims.UserID != "8f1c2d" {
				t.Errorf("claims = %+v", res.Claims)
			}
			if want := p.clock.Now().Add(time.Hour); !res.Expiry.Equal(want) {
				t.Errorf("expiry = %v, want %v (expires_in on the client's clock)", res.Expiry, want)
			}

			authReq, tokReq := p.authRequest(0), p.tokenRequest(0)
			if got, want := authReq.Get("code_challenge"), oauth2.S256ChallengeFromVerifier(tokReq.Get("code_verifier")); got != want {
				t.Errorf("code_challenge %q is not S256 of the verifier sent to the token endpoint", got)
			}
			if authReq.Get("code_challenge_method") != "S256" {
				t.Errorf("code_challenge_method = %q", authReq.Get("code_challenge_method"))
			}
			if len(authReq.Get("state")) != 43 || len(authReq.Get("nonce")) != 43 || authReq.Get("state") == authReq.Get("nonce") {
				t.Errorf("state %q / nonce %q: want two different 43-character random values", authReq.Get("state"), authReq.Get("nonce"))
			}
			if res.Claims.Nonce != authReq.Get("nonce") {
				t.Errorf("the verified nonce is not the one sent")
			}
			if !strings.Contains(authReq.Get("scope"), "openid") {
				t.Errorf("scope %q lacks openid", authReq.Get("scope"))
			}
			if tokReq.Get("redirect_uri") != authReq.Get("redirect_uri") {
				t.Errorf("token request redirect_uri %q, authorize %q", tokReq.Get("redirect_uri"), authReq.Get("redirect_uri"))
			}
			if basic := strings.HasPrefix(p.tokenAuth[0], "Basic "); basic != (secret != "") {
				t.Errorf("token request Authorization = %q; HTTP Basic is for confidential clients only", p.tokenAuth[0])
			}
			if tokReq.Get("client_secret") != "" {
				t.Error("the client secret was sent in the form")
			}
			if !strings.HasPrefix(stderr.String(), "Opening the sign-in page in your browser. If it does not open, visit:\n  "+opened+"\n") {
				t.Errorf("stderr = %q", stderr.String())
			}
			if strings.Contains(stderr.String(), tokReq.Get("code_verifier")) {
				t.Error("stderr shows the PKCE verifier")
			}
			assertPortFree(t, redirectPort(t, opened))
		})
	}
}

func TestLoginAlwaysSendsS256(t *testing.T) {
	tests := []struct {
		name    string
		methods []string
	}{
		{"discovery silent", nil},
		{"discovery lists only plain", []string{"plain"}},
		{"discovery lists both", []string{"plain", "S256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			c := p.client()
			c.Metadata.CodeChallengeMethodsSupported = tt.methods
			b := newFakeBrowser()
			if _, err := c.Login(testCtx(t), LoginOptions{OpenBrowser: b.open}); err != nil {
				t.Fatalf("Login: %v", err)
			}
			<-b.visits
			q := p.authRequest(0)
			if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
				t.Errorf("challenge method %q, challenge %q: want S256", q.Get("code_challenge_method"), q.Get("code_challenge"))
			}
		})
	}
}

func TestRandomTokensAreLongAndUnique(t *testing.T) {
	seen := map[string]bool{}
	charset := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	for range 2000 {
		f := newFlow()
		for _, v := range []string{f.state, f.nonce, f.verifier} {
			if !charset.MatchString(v) {
				t.Fatalf("%q is not 43 base64url characters (256 bits)", v)
			}
			if seen[v] {
				t.Fatalf("%q came up twice", v)
			}
			seen[v] = true
		}
	}
}

func TestLoginEndsWithProviderErrorFromCallback(t *testing.T) {
	p := newTestProvider(t)
	p.set(func(p *testProvider) { p.authorizeError = "access_denied" })
	b := newFakeBrowser()
	_, err := p.client().Login(testCtx(t), LoginOptions{OpenBrowser: b.open})
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Code != "access_denied" || pe.Description != "The user said no" || pe.Endpoint != "authorization" {
		t.Fatalf("err = %v, want the provider's access_denied", err)
	}
	visit := <-b.visits
	if !strings.Contains(visit.body, "The user said no") {
		t.Errorf("the error page does not show the provider's description: %q", visit.body)
	}
}

func TestLoginTimeoutAndCancelFreeThePort(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		cancel  bool
		want    error
	}{
		{"timeout", 50 * time.Millisecond, false, ErrTimeout},
		{"ctrl-c", time.Minute, true, ErrCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			var port int
			_, err := p.client().Login(ctx, LoginOptions{
				Timeout: tt.timeout,
				OpenBrowser: func(u string) error {
					port = redirectPort(t, u)
					if tt.cancel {
						cancel()
					}
					return nil
				},
			})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			assertPortFree(t, port)
		})
	}
}

func TestLoginBrowserFailureIsReportedAndWaitingGoesOn(t *testing.T) {
	p := newTestProvider(t)
	var stderr bytes.Buffer
	_, err := p.client().Login(testCtx(t), LoginOptions{
		Timeout:     50 * time.Millisecond,
		Stderr:      &stderr,
		OpenBrowser: func(string) error { return errors.New("no display") },
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want a timeout after waiting", err)
	}
	if !strings.Contains(stderr.String(), "Could not open a browser (no display)") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestLoginFallsBackToTheNextPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	p := newTestProvider(t)
	b := newFakeBrowser()
	var port int
	_, err = p.client().Login(testCtx(t), LoginOptions{
		Ports:       []int{takenPort, 0},
		OpenBrowser: func(u string) error { port = redirectPort(t, u); return b.open(u) },
	})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	<-b.visits
	if port == takenPort {
		t.Errorf("the redirect uses port %d, which another program holds", port)
	}
}

func TestLoginWithAllPortsTakenNamesThem(t *testing.T) {
	var ports []int
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	p := newTestProvider(t)
	opened := false
	_, err := p.client().Login(testCtx(t), LoginOptions{Ports: ports, OpenBrowser: func(string) error { opened = true; return nil }})
	var pe *PortsInUseError
	if !errors.As(err, &pe) || len(pe.Ports) != 2 {
		t.Fatalf("err = %v, want a PortsInUseError", err)
	}
	for _, port := range ports {
		if !strings.Contains(err.Error(), strconv.Itoa(port)) {
			t.Errorf("%q does not name port %d", err, port)
		}
	}
	if opened {
		t.Error("the browser was opened although no callback server runs")
	}
}

func TestLoginOnFixedRedirectURLSendsItVerbatim(t *testing.T) {
	port := testnet.Port(t) // for Login to bind; a test of what a fixed port sends

	p := newTestProvider(t)
	b := newFakeBrowser()
	redirect := "http://127.0.0.1:" + strconv.Itoa(port) + "/oauth/done"
	if _, err := p.client().Login(testCtx(t), LoginOptions{RedirectURL: redirect, Ports: []int{1}, OpenBrowser: b.open}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	<-b.visits
	if got := p.authRequest(0).Get("redirect_uri"); got != redirect {
		t.Errorf("redirect_uri = %q, want %q", got, redirect)
	}
}

func TestLoginRefusesBadRedirectsAndReservedParams(t *testing.T) {
	tests := []struct {
		name string
		opts LoginOptions
	}{
		{"remote host", LoginOptions{RedirectURL: "http://example.com:8000/callback"}},
		{"all interfaces", LoginOptions{RedirectURL: "http://0.0.0.0:8000/callback"}},
		{"https scheme", LoginOptions{RedirectURL: "https://127.0.0.1:8000/callback"}},
		{"query", LoginOptions{RedirectURL: "http://127.0.0.1:8000/callback?x=1"}},
		{"bad port", LoginOptions{Ports: []int{70000}}},
		{"state override", LoginOptions{ExtraParams: map[string]string{"state": "1234"}}},
		{"challenge method override", LoginOptions{ExtraParams: map[string]string{"code_challenge_method": "plain"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			opened := false
			tt.opts.OpenBrowser = func(string) error { opened = true; return nil }
			tt.opts.Timeout = time.Second
			if _, err := p.client().Login(testCtx(t), tt.opts); err == nil || errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if opened {
				t.Error("the browser was opened")
			}
		})
	}
}

func TestLoginPassesExtraParams(t *testing.T) {
	p := newTestProvider(t)
	b := newFakeBrowser()
	if _, err := p.client().Login(testCtx(t), LoginOptions{OpenBrowser: b.open, ExtraParams: map[string]string{"prompt": "login"}}); err != nil {
		t.Fatal(err)
	}
	<-b.visits
	if got := p.authRequest(0).Get("prompt"); got != "login" {
		t.Errorf("prompt = %q", got)
	}
}

// pasteBrowser signs in without following the last redirect, and pastes
// the address the browser would have gone to.
func pasteBrowser(w io.Writer, bare bool, before ...string) func(string) error {
	return func(u string) error {
		go func() {
			for _, line := range before {
				io.WriteString(w, line+"\n")
			}
			c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Get(u)
			if err != nil {
				io.WriteString(w, "error: "+err.Error()+"\n")
				return
			}
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if bare {
				_, loc, _ = strings.Cut(loc, "?")
			}
			io.WriteString(w, loc+"\n")
		}()
		return nil
	}
}

func TestLoginPasteMode(t *testing.T) {
	tests := []struct {
		name        string
		before      []string
		bare        bool
		wantRefusal bool
	}{
		{name: "good address"},
		{name: "wrong state first, then the good address", before: []string{"http://127.0.0.1:8000/callback?code=stolen&state=old"}, wantRefusal: true},
		{name: "blank lines, then a bare query string", before: []string{"", "  "}, bare: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			pr, pw := io.Pipe()
			defer pw.Close()
			var stderr bytes.Buffer
			res, err := p.client().Login(testCtx(t), LoginOptions{
				Ports:       []int{8000},
				Paste:       pr,
				Stderr:      &stderr,
				OpenBrowser: pasteBrowser(pw, tt.bare, tt.before...),
			})
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if res.Claims == nil {
				t.Fatal("no verified ID token")
			}
			if refused := strings.Contains(stderr.String(), "not from this sign-in"); refused != tt.wantRefusal {
				t.Errorf("refusal notice shown = %v, want %v: %q", refused, tt.wantRefusal, stderr.String())
			}
			if strings.Contains(stderr.String(), "stolen") {
				t.Error("stderr echoes a pasted code")
			}
		})
	}
}

func TestLoginPasteWrongStateOnlyEndsCancelled(t *testing.T) {
	p := newTestProvider(t)
	var stderr bytes.Buffer
	_, err := p.client().Login(testCtx(t), LoginOptions{
		Ports:  []int{8000},
		Paste:  strings.NewReader("http://127.0.0.1:8000/callback?code=abc&state=wrong\n"),
		Stderr: &stderr,
	})
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled once the input ends", err)
	}
	if !strings.Contains(stderr.String(), "not from this sign-in") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// TestLoginPasteSaysWhenTheTextIsNoAddress: text that holds no answer of
// any sign-in (a typo, the wrong clipboard) is named as such, not as an
// address of another sign-in, and nothing of it is echoed.
func TestLoginPasteSaysWhenTheTextIsNoAddress(t *testing.T) {
	p := newTestProvider(t)
	var stderr bytes.Buffer
	_, err := p.client().Login(testCtx(t), LoginOptions{
		Ports:  []int{8000},
		Paste:  strings.NewReader("hunter2 is my password\nhttp://127.0.0.1:8000/callback\n"),
		Stderr: &stderr,
	})
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled once the input ends", err)
	}
	msg := stderr.String()
	if strings.Count(msg, "That is not the address the browser was sent to: it holds no code, state or error") != 2 ||
		!strings.Contains(msg, "(it starts with http://127.0.0.1:8000/callback?)") {
		t.Errorf("stderr = %q", msg)
	}
	if strings.Contains(msg, "not from this sign-in") || strings.Contains(msg, "hunter2") {
		t.Errorf("stderr speaks of another sign-in, or echoes the text: %q", msg)
	}
}

func TestLoginPasteNeedsAFixedRedirect(t *testing.T) {
	p := newTestProvider(t)
	if _, err := p.client().Login(testCtx(t), LoginOptions{Paste: strings.NewReader("")}); err == nil {
		t.Fatal("paste mode with a random port: want an error")
	}
}

func TestLoginWithoutIDTokenFails(t *testing.T) {
	p := newTestProvider(t)
	p.set(func(p *testProvider) { p.noIDToken = true })
	b := newFakeBrowser()
	_, err := p.client().Login(testCtx(t), LoginOptions{OpenBrowser: b.open})
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Reason != ReasonMissing {
		t.Fatalf("err = %v, want a missing ID token error: dropping it must not skip the nonce check", err)
	}
}

func TestLoginShortURLLeadsToTheSignInPage(t *testing.T) {
	p := newTestProvider(t)
	b := newFakeBrowser()
	var stderr bytes.Buffer
	short := regexp.MustCompile(`short form: (http://127\.0\.0\.1:\d+/)\n`)
	res, err := p.client().Login(testCtx(t), LoginOptions{
		Stderr: &stderr,
		// The person types the short form instead of following the long URL.
		OpenBrowser: func(string) error {
			m := short.FindStringSubmatch(stderr.String())
			if m == nil {
				return errors.New("no short form printed before the browser opened")
			}
			return b.open(m[1])
		},
	})
	if err != nil {
		t.Fatalf("Login through the short URL: %v (stderr %q)", err, stderr.String())
	}
	if visit := <-b.visits; visit.status != http.StatusOK || !strings.Contains(visit.body, "Signed in") {
		t.Errorf("the browser ended on %s with %d", visit.url, visit.status)
	}
	if res.AccessToken == "" {
		t.Error("no access token")
	}
}

func TestLoginOverSSHPrintsThePortForward(t *testing.T) {
	p := newTestProvider(t)
	var stderr bytes.Buffer
	var port int
	_, err := p.client().Login(testCtx(t), LoginOptions{
		Stderr:         &stderr,
		Timeout:        50 * time.Millisecond,
		SSHDestination: "-p 2222 alice@10.0.0.5",
		OpenBrowser:    func(u string) error { port = redirectPort(t, u); return nil },
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want the timeout", err)
	}
	want := fmt.Sprintf("  ssh -L %d:127.0.0.1:%d -p 2222 alice@10.0.0.5\nthen open http://127.0.0.1:%d/ ", port, port, port)
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want the line %q", stderr.String(), want)
	}
}

func TestLoginWithARefusedRequestEndsBeforeTheBrowser(t *testing.T) {
	p := newTestProvider(t)
	p.set(func(p *testProvider) {
		p.authorizeRefuse = `<!DOCTYPE html><html><head><title>Invalid redirect URI</title></head>` +
			`<body><h1>Error</h1><p>The redirect_uri is <b>not registered</b> for the application &amp; its port.</p></body></html>`
	})
	opened := false
	port := testnet.Port(t)
	_, err := p.client().Login(testCtx(t), LoginOptions{
		Ports:        []int{port},
		CheckRequest: true,
		OpenBrowser:  func(string) error { opened = true; return nil },
	})
	var ae *AuthorizeRequestError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an AuthorizeRequestError", err)
	}
	if ae.Status != http.StatusBadRequest || ae.Title != "Invalid redirect URI" ||
		ae.Message != "The redirect_uri is not registered for the application & its port." {
		t.Errorf("the refusal was read as %+v", ae)
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d/callback", port); !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not name the redirect URI %s", err, want)
	}
	if opened {
		t.Error("the browser was opened on a request the provider refuses")
	}
	assertPortFree(t, port)
}

func TestCheckRequestReadsAnOAuthErrorDocument(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"Client idcsctl requested an invalid redirect URL: http://127.0.0.1:9/cb"}`)
	}))
	defer srv.Close()
	p := newTestProvider(t)
	err := p.client().checkAuthorizeRequest(testCtx(t), io.Discard, srv.URL+"/oauth2/v1/authorize?state=x", "http://127.0.0.1:9/cb")
	var ae *AuthorizeRequestError
	if !errors.As(err, &ae) || ae.Title != "invalid_request" || !strings.Contains(ae.Message, "invalid redirect URL") {
		t.Fatalf("err = %v, want the provider's error and description", err)
	}
}

func TestLoginCheckRequestLetsAnAcceptedRequestThrough(t *testing.T) {
	p := newTestProvider(t)
	b := newFakeBrowser()
	if _, err := p.client().Login(testCtx(t), LoginOptions{CheckRequest: true, OpenBrowser: b.open}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	<-b.visits
	p.mu.Lock()
	n := len(p.authRequests)
	p.mu.Unlock()
	if n != 2 {
		t.Errorf("the provider saw %d authorization requests, want the check and the browser's", n)
	}
}

func TestPageTextIsShortPrintableAndTagFree(t *testing.T) {
	tests := []struct {
		name, page, want string
	}{
		{"plain title", "<title>Bad request</title>", "Bad request"},
		{"entities and tags", "<title>A &lt;b&gt; <i>c</i></title>", "A <b> c"},
		{"control characters dropped", "<title>x\x1b[2Jy</title>", "xy"},
		{"no title", "<h1>none</h1>", ""},
		{"long text is cut", "<title>" + strings.Repeat("a", 500) + "</title>", strings.Repeat("a", 200) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pageText(pageTitle, []byte(tt.page)); got != tt.want {
				t.Errorf("pageText = %q, want %q", got, tt.want)
			}
		})
	}
}
