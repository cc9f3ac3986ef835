package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/idcsctl/idcsctl/internal/testenv"
)

const testState = "state-0123456789"

func newTestHandler(t *testing.T) (*callbackHandler, chan callbackResult) {
	t.Helper()
	results := make(chan callbackResult, 1)
	h, err := newCallbackHandler([]string{"127.0.0.1:8000"}, "/callback", testState, idcsIssuer, results)
	if err != nil {
		t.Fatal(err)
	}
	return h, results
}

func serve(h http.Handler, method, host, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCallbackHandler(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		host       string
		target     string
		wantStatus int
		wantBody   string
		wantResult string // "" = keep waiting, "code", or "error"
		wantCode   string // the ProviderError code, for "error"
	}{
		{"good code ends the flow", "GET", "127.0.0.1:8000", "/callback?code=abc&state=" + testState, 200, "Signed in", "code", ""},
		{"wrong state keeps waiting", "GET", "127.0.0.1:8000", "/callback?code=abc&state=other", 400, "Not this sign-in", "", ""},
		{"missing state keeps waiting", "GET", "127.0.0.1:8000", "/callback?code=abc", 400, "Not this sign-in", "", ""},
		{"two states keep waiting", "GET", "127.0.0.1:8000", "/callback?code=abc&state=" + testState + "&state=x", 400, "Not this sign-in", "", ""},
		{"wrong state with error keeps waiting", "GET", "127.0.0.1:8000", "/callback?error=access_denied&state=x", 400, "Not this sign-in", "", ""},
		{"error= ends with the provider's error", "GET", "127.0.0.1:8000", "/callback?error=access_denied&error_description=No+way&state=" + testState, 200, "No way", "error", "access_denied"},
		{"missing code ends with an error", "GET", "127.0.0.1:8000", "/callback?state=" + testState, 400, "without an authorization code", "error", ""},
		{"foreign iss ends with an error", "GET", "127.0.0.1:8000", "/callback?code=abc&iss=https://evil.example/&state=" + testState, 400, "another identity provider", "error", ""},
		{"matching iss passes", "GET", "127.0.0.1:8000", "/callback?code=abc&iss=" + idcsIssuer + "&state=" + testState, 200, "Signed in", "code", ""},
		{"foreign Host is refused", "GET", "evil.example:8000", "/callback?code=abc&state=" + testState, 400, "unexpected Host", "", ""},
		{"loopback under another name is refused", "GET", "localhost:8000", "/callback?code=abc&state=" + testState, 400, "unexpected Host", "", ""},
		{"other paths are not served", "GET", "127.0.0.1:8000", "/favicon.ico", 404, "not found", "", ""},
		{"POST is refused", "POST", "127.0.0.1:8000", "/callback?code=abc&state=" + testState, 405, "method not allowed", "", ""},
		{"HEAD does not consume the answer", "HEAD", "127.0.0.1:8000", "/callback?code=abc&state=" + testState, 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, results := newTestHandler(t)
			rec := serve(h, tt.method, tt.host, tt.target)
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", rec.Code, rec.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := rec.Header().Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy = %q", got)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			select {
			case res := <-results:
				switch tt.wantResult {
				case "code":
					if res.err != nil || res.code != "abc" {
						t.Errorf("result = %+v, want code abc", res)
					}
				case "error":
					var pe *ProviderError
					if res.err == nil || (tt.wantCode != "" && (!errors.As(res.err, &pe) || pe.Code != tt.wantCode)) {
						t.Errorf("result error = %v, want provider code %q", res.err, tt.wantCode)
					}
				default:
					t.Errorf("the flow ended (%+v); it should keep waiting", res)
				}
			default:
				if tt.wantResult != "" {
					t.Error("the flow did not end")
				}
			}
		})
	}
}

func TestCallbackAfterWrongStateStillAcceptsTheRightOne(t *testing.T) {
	h, results := newTestHandler(t)
	serve(h, "GET", "127.0.0.1:8000", "/callback?code=forged&state=guess")
	rec := serve(h, "GET", "127.0.0.1:8000", "/callback?code=abc&state="+testState)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if res := <-results; res.code != "abc" {
		t.Errorf("code = %q, want the one with the right state", res.code)
	}
}

func TestCallbackRepeatedAfterTheFlowEndedIsRefused(t *testing.T) {
	h, results := newTestHandler(t)
	serve(h, "GET", "127.0.0.1:8000", "/callback?code=abc&state="+testState)
	<-results
	rec := serve(h, "GET", "127.0.0.1:8000", "/callback?code=again&state="+testState)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "already finished") {
		t.Errorf("repeated callback got %d %q", rec.Code, rec.Body.String())
	}
	select {
	case res := <-results:
		t.Errorf("a second result was sent: %+v", res)
	default:
	}
}

func TestCallbackPageEscapesProviderText(t *testing.T) {
	h, _ := newTestHandler(t)
	rec := serve(h, "GET", "127.0.0.1:8000", "/callback?error=x&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state="+testState)
	if strings.Contains(rec.Body.String(), "<script>alert(1)") {
		t.Errorf("the provider's description reached the page unescaped: %s", rec.Body.String())
	}
}

func TestCallbackPageScriptAndStyleMatchTheCSP(t *testing.T) {
	h, _ := newTestHandler(t)
	rec := serve(h, "GET", "127.0.0.1:8000", "/callback?code=abc&state="+testState)
	body, csp := rec.Body.String(), rec.Header().Get("Content-Security-Policy")
	for _, tag := range []string{"script", "style"} {
		m := regexp.MustCompile(`(?s)<` + tag + `>(.*?)</` + tag + `>`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("the success page has no <%s>", tag)
		}
		if want := tag + "-src " + cspHash(m[1]); !strings.Contains(csp, want) {
			t.Errorf("CSP %q does not allow the page's %s (%s)", csp, tag, want)
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page refers to an external resource")
	}
}

func TestCallbackServerAfterStopRefusesConnections(t *testing.T) {
	lb := loopback{host: "127.0.0.1", path: "/callback", ports: []int{0}}
	s, err := startCallback(lb, testState, idcsIssuer)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{}
	resp, err := client.Get(s.redirectURL + "?code=abc&state=" + testState)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-s.results
	s.stop()
	if _, err := client.Get(s.redirectURL + "?code=abc&state=" + testState); err == nil {
		t.Error("a repeated callback reached a stopped server")
	}
}

func TestListenLoopback(t *testing.T) {
	hold := func(t *testing.T, network, addr string) int {
		t.Helper()
		if network == "tcp6" {
			testenv.IPv6Loopback(t)
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln.Addr().(*net.TCPAddr).Port
	}

	t.Run("first port taken moves to the next", func(t *testing.T) {
		taken := hold(t, "tcp", "127.0.0.1:0")
		lns, port, err := listenLoopback("127.0.0.1", []int{taken, 0})
		if err != nil {
			t.Fatal(err)
		}
		defer closeAll(lns)
		if port == taken || port == 0 {
			t.Errorf("port = %d", port)
		}
	})
	t.Run("all taken gives PortsInUseError", func(t *testing.T) {
		a, b := hold(t, "tcp", "127.0.0.1:0"), hold(t, "tcp", "127.0.0.1:0")
		_, _, err := listenLoopback("127.0.0.1", []int{a, b})
		var pe *PortsInUseError
		if !errors.As(err, &pe) || len(pe.Ports) != 2 || pe.Err != nil {
			t.Fatalf("err = %#v", err)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(a)+", "+strconv.Itoa(b)) {
			t.Errorf("%q does not list the ports", err)
		}
	})
	t.Run("never the wildcard address", func(t *testing.T) {
		lns, _, err := listenLoopback("127.0.0.1", []int{0})
		if err != nil {
			t.Fatal(err)
		}
		defer closeAll(lns)
		for _, ln := range lns {
			if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
				t.Errorf("listening on %v", ip)
			}
		}
	})
	t.Run("localhost binds both stacks", func(t *testing.T) {
		hold(t, "tcp6", "[::1]:0") // skips without IPv6 loopback
		lns, port, err := listenLoopback("localhost", []int{0})
		if err != nil {
			t.Fatal(err)
		}
		defer closeAll(lns)
		var got []string
		for _, ln := range lns {
			a := ln.Addr().(*net.TCPAddr)
			got = append(got, a.IP.String())
			if a.Port != port {
				t.Errorf("%v is not on port %d", a, port)
			}
		}
		if strings.Join(got, " ") != "127.0.0.1 ::1" {
			t.Errorf("listening on %v, want 127.0.0.1 and ::1", got)
		}
	})
	t.Run("localhost port taken on IPv6 only moves to the next", func(t *testing.T) {
		taken := hold(t, "tcp6", "[::1]:0")
		lns, port, err := listenLoopback("localhost", []int{taken, 0})
		if err != nil {
			t.Fatal(err)
		}
		defer closeAll(lns)
		if port == taken {
			t.Errorf("port %d is used although another program holds it on ::1", port)
		}
	})
}

func TestLoginOnLocalhostServesBothStacks(t *testing.T) {
	testenv.IPv6Loopback(t)
	p := newTestProvider(t)
	for _, addr := range []string{"127.0.0.1", "::1"} {
		t.Run(addr, func(t *testing.T) {
			// The browser resolves localhost to addr; its Host header still
			// says localhost.
			dialer := &net.Dialer{}
			b := newFakeBrowser()
			b.client.Transport = &http.Transport{DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
				host, port, _ := net.SplitHostPort(hostport)
				if host == "localhost" {
					hostport = net.JoinHostPort(addr, port)
				}
				return dialer.DialContext(ctx, network, hostport)
			}}
			if _, err := p.client().Login(testCtx(t), LoginOptions{RedirectURL: "http://localhost:0/callback", OpenBrowser: b.open}); err != nil {
				t.Fatalf("Login: %v", err)
			}
			if v := <-b.visits; v.status != 200 {
				t.Errorf("browser got %d at %s", v.status, v.url)
			}
		})
	}
}

func TestCallbackRootIsTheShortSignInAddress(t *testing.T) {
	const authURL = "https://idcs.example.com/oauth2/v1/authorize?state=" + testState
	tests := []struct {
		name         string
		method       string
		start        string
		finish       bool
		wantStatus   int
		wantLocation string
	}{
		{name: "redirects to the sign-in page", method: "GET", start: authURL, wantStatus: http.StatusFound, wantLocation: authURL},
		{name: "nothing before the flow starts", method: "GET", wantStatus: http.StatusNotFound},
		{name: "only GET", method: "POST", start: authURL, wantStatus: http.StatusMethodNotAllowed},
		{name: "nobody is sent to sign in after the answer came", method: "GET", start: authURL, finish: true, wantStatus: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t)
			h.start = tt.start
			if tt.finish {
				serve(h, "GET", "127.0.0.1:8000", "/callback?code=abc&state="+testState)
			}
			rec := serve(h, tt.method, "127.0.0.1:8000", "/")
			if rec.Code != tt.wantStatus || rec.Header().Get("Location") != tt.wantLocation {
				t.Errorf("GET / = %d to %q, want %d to %q", rec.Code, rec.Header().Get("Location"), tt.wantStatus, tt.wantLocation)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("the redirect may be cached, and with it this sign-in's state")
			}
		})
	}
	h, _ := newTestHandler(t)
	h.start = authURL
	if rec := serve(h, "GET", "evil.example:8000", "/"); rec.Code != http.StatusBadRequest {
		t.Errorf("a foreign Host got %d, want 400: a rebinding page must not learn the sign-in URL", rec.Code)
	}
}

// TestCallbackPagesAreSelfContainedAndSendThePersonBack checks every page
// the browser can be shown: no external asset, a pointer to the terminal,
// and a script (closing the tab) only on success.
func TestCallbackPagesAreSelfContainedAndSendThePersonBack(t *testing.T) {
	tests := []struct {
		name, target string
		wantClose    bool
	}{
		{"success", "/callback?code=abc&state=" + testState, true},
		{"provider error", "/callback?error=access_denied&state=" + testState, false},
		{"wrong state", "/callback?code=abc&state=other", false},
		{"no code", "/callback?state=" + testState, false},
		{"foreign issuer", "/callback?code=abc&iss=https://evil.example/&state=" + testState, false},
	}
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=|url\(|@import`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t)
			rec := serve(h, "GET", "127.0.0.1:8000", tt.target)
			body := rec.Body.String()
			if external.MatchString(body) {
				t.Errorf("the page loads or links something: %s", body)
			}
			if !strings.Contains(body, "terminal") {
				t.Errorf("the page does not send the person back to the terminal: %s", body)
			}
			if got := strings.Contains(body, "window.close()"); got != tt.wantClose {
				t.Errorf("page closes the tab = %v, want %v", got, tt.wantClose)
			}
			if len(body) > 4096 {
				t.Errorf("the page is %d bytes; it should stay small", len(body))
			}
		})
	}
}
