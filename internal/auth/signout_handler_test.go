package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestSignOutHandler(t *testing.T) {
	const host = "127.0.0.1:8000"
	page, err := newCallbackHandler([]string{host}, PostLogoutPath, "the-state", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	const start = "/sign-out/random"
	// The socket table, as the fake sees it: connections from these
	// ports belong to this user, root, another user, or nobody known.
	const self, root, other, unknown = 5000, 5001, 5002, 5003
	listener := netip.MustParseAddrPort(host)
	owner := func(local, remote netip.AddrPort) (uint32, error) {
		if local != listener {
			return 0, errPeerUnknown
		}
		switch remote.Port() {
		case self:
			return 1000, nil
		case root:
			return 0, nil
		case other:
			return 1001, nil
		}
		return 0, errPeerUnknown
	}
	h := &signOutHandler{page: page, state: "the-state", startPath: start, done: make(chan struct{}), owner: owner, uid: 1000}
	serveFrom := func(port int, method, target, hostHeader string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.Host = hostHeader
		r.RemoteAddr = fmt.Sprintf("127.0.0.1:%d", port)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.TCPAddrFromAddrPort(listener)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	serve := func(method, target, hostHeader string) *httptest.ResponseRecorder {
		return serveFrom(self, method, target, hostHeader)
	}
	finished := func() bool {
		select {
		case <-h.done:
			return true
		default:
			return false
		}
	}

	if w := serve("GET", start, host); w.Code != http.StatusNotFound {
		t.Errorf("the start address before the request is checked: %d, want 404", w.Code)
	}
	h.start = "https://idcs.example.com/oauth2/v1/userlogout?id_token_hint=x"
	// Other users race the browser: they get a 403 with nothing of the
	// sign-out, and the link stays for the person's browser.
	for _, port := range []int{other, unknown} {
		w := serveFrom(port, "GET", start, host)
		if w.Code != http.StatusForbidden || w.Header().Get("Location") != "" || strings.Contains(w.Body.String(), "id_token") || strings.Contains(w.Body.String(), "idcs.example.com") {
			t.Fatalf("a fetch from port %d: %d %v %q, want a 403 with nothing of the sign-out", port, w.Code, w.Header(), w.Body.String())
		}
	}
	if w := serveFrom(self, "GET", start, "evil.example:8000"); w.Code != http.StatusBadRequest {
		t.Errorf("this user's fetch with a foreign Host: %d, want 400", w.Code)
	}
	steps := []struct {
		name, method, target, host string
		want                       int
		wantText                   string
	}{
		{"foreign Host (DNS rebinding)", "GET", start, "evil.example:8000", http.StatusBadRequest, "unexpected Host"},
		{"a guessed address", "GET", "/", host, http.StatusNotFound, ""},
		{"the short address sends the browser on", "GET", start, host, http.StatusFound, ""},
		{"once", "GET", start, host, http.StatusBadRequest, "Sign-out link already used"},
		{"a link checker", "HEAD", PostLogoutPath + "?state=the-state", host, http.StatusMethodNotAllowed, ""},
		{"another path", "GET", "/callback?state=the-state", host, http.StatusNotFound, ""},
		{"wrong state", "GET", PostLogoutPath + "?state=forged", host, http.StatusBadRequest, "Not this sign-out"},
		{"repeated state", "GET", PostLogoutPath + "?state=the-state&state=the-state", host, http.StatusBadRequest, "Not this sign-out"},
		{"the domain sends the browser back", "GET", PostLogoutPath + "?state=the-state", host, http.StatusOK, "Signed out"},
		{"again", "GET", PostLogoutPath + "?state=the-state", host, http.StatusBadRequest, "Sign-out already finished"},
		{"the short address after the end", "GET", start, host, http.StatusBadRequest, "Sign-out already finished"},
	}
	for _, s := range steps {
		w := serve(s.method, s.target, s.host)
		if w.Code != s.want || !strings.Contains(w.Body.String(), s.wantText) {
			t.Errorf("%s: %d %q, want %d with %q", s.name, w.Code, w.Body.String(), s.want, s.wantText)
		}
		if s.name == "the short address sends the browser on" && w.Header().Get("Location") != h.start {
			t.Errorf("%s: Location %q", s.name, w.Header().Get("Location"))
		}
		if got := w.Header().Get("Cache-Control"); s.host == host && got != "no-store" {
			t.Errorf("%s: Cache-Control %q", s.name, got)
		}
		if done := finished(); done != (s.want == http.StatusOK || s.name == "again" || s.name == "the short address after the end") {
			t.Errorf("%s: finished = %v", s.name, done)
		}
	}
}

func TestSignOutPreCheckEndsOnlyOnARecognisedRefusal(t *testing.T) {
	tests := []struct {
		name        string
		answer      func(w http.ResponseWriter, r *http.Request)
		wantRefused bool
		wantWarning bool
	}{
		{"the domain's page for an unregistered post-logout URI", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<title>Invalid redirect URI</title><p>The post_logout_redirect_uri is not registered for the application.</p>`)
		}, true, false},
		{"a redirect to the domain's error page", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/ui/v1/error?code=x", http.StatusFound)
		}, true, false},
		{"a firewall's 403", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<title>Access denied</title><p>Request blocked.</p>`)
		}, false, true},
		{"a rate limiter's 429", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
		}, false, true},
		{"the redirect back", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Query().Get("post_logout_redirect_uri"), http.StatusFound)
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tt.answer))
			defer srv.Close()
			c := &Client{Metadata: &Metadata{EndSessionEndpoint: srv.URL + "/oauth2/v1/userlogout"}, ClientID: "app", HTTP: srv.Client()}
			var stderr strings.Builder
			opened := false
			// Ctrl-C once the browser opens ends the wait; the pre-check
			// is not cut short by it, as a short timeout would on a loaded
			// machine.
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			err := c.SignOut(ctx, SignOutOptions{IDToken: "header.claims.signature", OpenBrowser: func(string) error { opened = true; cancel(); return nil },
				Stderr: &stderr, Timeout: time.Minute})
			var refused *SignOutRefusedError
			if got := errors.As(err, &refused); got != tt.wantRefused || opened == tt.wantRefused {
				t.Fatalf("err = %v, browser opened %v; want refused %v", err, opened, tt.wantRefused)
			}
			if !tt.wantRefused && !errors.Is(err, ErrCancelled) {
				t.Errorf("err = %v, want the wait for the browser to go on until Ctrl-C", err)
			}
			if got := strings.Contains(stderr.String(), "warning: the domain answered the sign-out request"); got != tt.wantWarning {
				t.Errorf("warning %v, want %v:\n%s", got, tt.wantWarning, stderr.String())
			}
			if strings.Contains(stderr.String(), "header.claims.signature") || (err != nil && strings.Contains(err.Error(), "header.claims.signature")) {
				t.Error("the ID token was shown")
			}
		})
	}
}
