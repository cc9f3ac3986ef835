package browser

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// signInSite is a provider and an application in one test server: /authorize
// shows a sign-in form (behind a cookie, as real providers do), /login checks
// it and redirects to the application's /callback.
type signInSite struct {
	srv          *httptest.Server
	page         string // the sign-in page; %s is the request id, %s the error paragraph
	callbackCode int

	mu     sync.Mutex
	posted url.Values
	hits   map[string]int
}

const genericSignIn = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign In</title>
<style>label > input { display: block }</style>
<script>if (a < b && c > d) { document.write("<form action=/evil>"); }</script>
</head><body>
<form action="/search" method="get"><input name="q"></form>
%[2]s
<form method="post" action="login?via=form" id="signin">
<input type="hidden" name="request_id" value="%[1]s">
<input type="text" name="username" required autofocus>
<input type="password" name="password" required>
<input type="checkbox" name="remember" checked>
<input type="checkbox" name="spam">
<input type="text" name="note" value="a &amp; b">
<input type="text" name="off" value="x" disabled>
<button type="submit" name="action" value="signin">Sign In</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>
</body></html>`

func newSignInSite(t *testing.T) *signInSite {
	t.Helper()
	s := &signInSite{page: genericSignIn, callbackCode: http.StatusOK, hits: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		s.hit("authorize")
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s1", Path: "/"})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, s.page, "req-42", "")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s.hit("login")
		r.ParseForm()
		s.mu.Lock()
		s.posted = r.PostForm
		s.mu.Unlock()
		if c, err := r.Cookie("session"); err != nil || c.Value != "s1" {
			http.Error(w, "no session cookie", http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("username") != "ada" || r.PostForm.Get("password") != "correct horse" {
			// Refused with 401 and the form again, as IDCS does.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, s.page, "req-42", `<p class="error" role="alert">Invalid user name
			or password.</p>`)
			return
		}
		http.Redirect(w, r, "/callback?code=the-code&state=st", http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		s.hit("callback")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(s.callbackCode)
		fmt.Fprint(w, "<html><head><title>Signed in</title></head><body><p id=error>state mismatch</p></body></html>")
	})
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><head><title>Welcome</title></head><body>Nothing to sign.</body></html>")
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *signInSite) hit(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits[path]++
}

func (s *signInSite) authorizeURL() string {
	return s.srv.URL + "/authorize?client_id=app&state=st&redirect_uri=" + url.QueryEscape(s.srv.URL+"/callback")
}

func testBrowser(user, password string) *FormBrowser {
	return &FormBrowser{HTTP: &http.Client{Timeout: 10 * time.Second}, Username: user, Password: password}
}

func visitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFormBrowserSignsInAndReachesTheCallback(t *testing.T) {
	s := newSignInSite(t)
	if err := testBrowser("ada", "correct horse").Visit(visitCtx(t), s.authorizeURL()); err != nil {
		t.Fatalf("Visit: %v", err)
	}
	want := url.Values{
		"request_id": {"req-42"},
		"username":   {"ada"},
		"password":   {"correct horse"},
		"remember":   {"on"},
		"note":       {"a & b"},
		"action":     {"signin"},
	}
	if got := s.posted.Encode(); got != want.Encode() {
		t.Errorf("posted %s\nwant   %s", got, want.Encode())
	}
	if s.hits["callback"] != 1 {
		t.Errorf("callback hits = %d", s.hits["callback"])
	}
}

func TestFormBrowserFailures(t *testing.T) {
	tests := []struct {
		name     string
		password string
		url      func(s *signInSite) string
		callback int
		want     string
	}{
		{"wrong password", "wrong", (*signInSite).authorizeURL, 200, `refused (wrong user name or password?): page "Sign In", message "Invalid user name or password."`},
		{"callback refuses", "correct horse", (*signInSite).authorizeURL, 400, "callback " + "%s/callback answered 400"},
		{"page without form", "correct horse", func(s *signInSite) string {
			return s.srv.URL + "/plain?redirect_uri=" + url.QueryEscape(s.srv.URL+"/callback")
		}, 200, `has no sign-in form and is not the redirect URI: page "Welcome"`},
		{"not found", "correct horse", func(s *signInSite) string { return s.srv.URL + "/nowhere" }, 200, "/nowhere answered 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSignInSite(t)
			s.callbackCode = tt.callback
			err := testBrowser("ada", tt.password).Visit(visitCtx(t), tt.url(s))
			want := strings.ReplaceAll(tt.want, "%s", s.srv.URL)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want it to say %q", err, want)
			}
			for _, secret := range []string{"correct horse", "the-code"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows %q", secret)
				}
			}
		})
	}
}

func TestFormBrowserWithoutRedirectURISucceedsAfterSigningIn(t *testing.T) {
	s := newSignInSite(t)
	// A device verification page: no redirect_uri, done once a page stops
	// asking for the password.
	if err := testBrowser("ada", "correct horse").Visit(visitCtx(t), s.srv.URL+"/authorize"); err != nil {
		t.Fatalf("Visit: %v", err)
	}
}

func TestFormBrowserOpenRunsInTheBackground(t *testing.T) {
	s := newSignInSite(t)
	b := testBrowser("ada", "wrong")
	done := make(chan error, 2)
	b.Done = func(err error) { done <- err }

	if err := b.Open(s.authorizeURL()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("Done got nil for a refused sign-in")
	}
	b.Password = "correct horse"
	if err := b.Open(s.authorizeURL()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Done got %v for a good sign-in", err)
	}
	if err := b.Wait(); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Wait = %v, want the first visit's failure", err)
	}
}

func TestFormBrowserOpenRefusesNonWebURLs(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "::", "http://"} {
		t.Run(u, func(t *testing.T) {
			b := testBrowser("ada", "pw")
			if err := b.Open(u); err == nil {
				t.Errorf("Open(%q) succeeded", u)
			}
			if err := b.Wait(); err != nil {
				t.Errorf("a refused URL started a visit: %v", err)
			}
		})
	}
}

func TestFormBrowserSubmitsGetForms(t *testing.T) {
	var got url.Values
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<form action="/next"><input type=email name=mail><input type=password name=pw><input type=submit></form>`)
	})
	mux.HandleFunc("GET /next", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Query()
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<p>ok</p>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if err := testBrowser("ada@example.com", "pw1").Visit(visitCtx(t), srv.URL+"/start"); err != nil {
		t.Fatal(err)
	}
	if got.Get("mail") != "ada@example.com" || got.Get("pw") != "pw1" || len(got) != 2 {
		t.Errorf("query = %v", got)
	}
}

func TestFormBrowserVisitHonoursContext(t *testing.T) {
	s := newSignInSite(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := testBrowser("ada", "correct horse").Visit(ctx, s.authorizeURL())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// sessionSite signs a browser in once: the form sets a session cookie, and
// a browser that has it goes straight to the callback.
func sessionSite(t *testing.T) (*httptest.Server, *int) {
	t.Helper()
	posts := 0
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err == nil && c.Value == "ada" {
			http.Redirect(w, r, "/callback", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<form method="post" action="/login"><input name="username"><input type="password" name="password"><button>Sign in</button></form>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		posts++
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "ada", Path: "/"})
		http.Redirect(w, r, "/callback", http.StatusFound)
	})
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<title>Signed in</title>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &posts
}

func TestFormBrowserJarKeepsTheSessionAcrossVisits(t *testing.T) {
	srv, posts := sessionSite(t)
	start := srv.URL + "/authorize?redirect_uri=" + url.QueryEscape(srv.URL+"/callback")

	private := testBrowser("ada", "pw")
	for range 2 {
		if err := private.Visit(visitCtx(t), start); err != nil {
			t.Fatal(err)
		}
	}
	if *posts != 2 {
		t.Fatalf("private windows signed in %d times, want 2", *posts)
	}

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	profile := testBrowser("ada", "pw")
	profile.Jar = jar
	for range 2 {
		if err := profile.Visit(visitCtx(t), start); err != nil {
			t.Fatal(err)
		}
	}
	if *posts != 3 {
		t.Errorf("one browser profile signed in %d more times, want 1: the second visit should reuse the session", *posts-2)
	}
}

func TestFormBrowserVisitEndsOnAPageWithoutAForm(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /signout", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/signed-out", http.StatusFound)
	})
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<title>Signed out</title><p>Done.</p>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if err := testBrowser("ada", "pw").Visit(visitCtx(t), srv.URL+"/signout"); err != nil {
		t.Errorf("a sign-out page: %v", err)
	}
	if err := testBrowser("ada", "pw").Visit(visitCtx(t), srv.URL+"/gone"); err == nil {
		t.Error("a 404 ended the visit well")
	}
}
