package fetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClient is a Client whose waits are recorded instead of slept, with a
// fixed backoff of n seconds before retry n.
type testClient struct {
	Client
	mu     sync.Mutex
	sleeps []time.Duration
}

func newTestClient(t *testing.T, token string) *testClient {
	t.Helper()
	c := &testClient{}
	c.Client = Client{
		HTTP:    &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second},
		Token:   func(context.Context) (string, error) { return token, nil },
		Retries: 2,
		Backoff: func(n int) time.Duration { return time.Duration(n) * time.Second },
		Sleep: func(ctx context.Context, d time.Duration) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.sleeps = append(c.sleeps, d)
			return ctx.Err()
		},
	}
	return c
}

func (c *testClient) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

func get(t *testing.T, raw string) *Request {
	t.Helper()
	return &Request{Method: http.MethodGet, URL: mustURL(t, raw)}
}

func do(t *testing.T, c *testClient, r *Request) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Do(ctx, r)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestDoSendsTheTokenHeadersAndBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s|%s|%s|%s|%s|%s|%d", r.Method, r.Header.Get("Authorization"), r.Header.Get("X-Trace"),
			r.Header.Get("Accept-Encoding"), r.Host, body, r.ContentLength)
	}))
	defer srv.Close()
	c := newTestClient(t, "tok-1")
	r := &Request{Method: http.MethodPost, URL: mustURL(t, srv.URL+"/x"), Header: http.Header{"X-Trace": {"abc"}},
		Host: "virtual.example", Body: &Body{data: []byte("a=1")}}
	_, got := do(t, c, r)
	if want := "POST|Bearer tok-1|abc|identity|virtual.example|a=1|3"; got != want {
		t.Errorf("server saw %q, want %q", got, want)
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("Do wrote the token into the caller's headers")
	}
}

func TestDoStreamsTheServersBytesWithoutUnzipping(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") == "gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("\x1f\x8b raw gzip bytes"))
			return
		}
		w.Write([]byte("plain"))
	}))
	defer srv.Close()
	c := newTestClient(t, "t")
	r := get(t, srv.URL)
	r.Header = http.Header{"Accept-Encoding": {"gzip"}}
	if _, got := do(t, c, r); got != "\x1f\x8b raw gzip bytes" {
		t.Errorf("body = %q, want the compressed bytes as sent", got)
	}
	if _, got := do(t, c, get(t, srv.URL)); got != "plain" {
		t.Errorf("body = %q", got)
	}
}

// flaky answers each request with the next status of its script, then 200.
func flaky(statuses []int, header http.Header, calls *atomic.Int32, bodies *[]string) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		*bodies = append(*bodies, string(b))
		mu.Unlock()
		if n <= len(statuses) {
			for k, v := range header {
				w.Header()[k] = v
			}
			w.WriteHeader(statuses[n-1])
			fmt.Fprintf(w, "failure %d", n)
			return
		}
		fmt.Fprintf(w, "ok after %d", n)
	})
}

func TestDoRetriesOnlyIdempotentRequestsOnGatewayErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "put.json")
	if err := os.WriteFile(file, []byte(`{"x":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		method     string
		body       *Body
		statuses   []int
		retryAfter string
		wantStatus int
		wantCalls  int32
		wantSleeps []time.Duration
		wantBody   string
	}{
		{name: "GET 503 twice then 200", method: "GET", statuses: []int{503, 503}, wantStatus: 200, wantCalls: 3,
			wantSleeps: []time.Duration{time.Second, 2 * time.Second}, wantBody: "ok after 3"},
		{name: "502 and 504 count too", method: "GET", statuses: []int{502, 504}, wantStatus: 200, wantCalls: 3,
			wantSleeps: []time.Duration{time.Second, 2 * time.Second}},
		{name: "retries are bounded", method: "GET", statuses: []int{503, 503, 503, 503}, wantStatus: 503, wantCalls: 3,
			wantSleeps: []time.Duration{time.Second, 2 * time.Second}, wantBody: "failure 3"},
		{name: "PUT from a file is sent whole each time", method: "PUT", body: &Body{path: file}, statuses: []int{503}, wantStatus: 200,
			wantCalls: 2, wantSleeps: []time.Duration{time.Second}},
		{name: "DELETE is idempotent", method: "DELETE", statuses: []int{504}, wantStatus: 200, wantCalls: 2, wantSleeps: []time.Duration{time.Second}},
		{name: "POST is never retried", method: "POST", body: &Body{data: []byte("a=1")}, statuses: []int{503}, wantStatus: 503, wantCalls: 1},
		{name: "PATCH is never retried", method: "PATCH", statuses: []int{502}, wantStatus: 502, wantCalls: 1},
		{name: "500 is not retried", method: "GET", statuses: []int{500}, wantStatus: 500, wantCalls: 1},
		{name: "429 is not retried", method: "GET", statuses: []int{429}, wantStatus: 429, wantCalls: 1},
		{name: "Retry-After seconds win over the backoff", method: "GET", statuses: []int{503}, retryAfter: "7", wantStatus: 200,
			wantCalls: 2, wantSleeps: []time.Duration{7 * time.Second}},
		{name: "Retry-After 0 retries at once", method: "GET", statuses: []int{503}, retryAfter: "0", wantStatus: 200,
			wantCalls: 2, wantSleeps: []time.Duration{0}},
		{name: "Retry-After date", method: "GET", statuses: []int{503}, retryAfter: "Wed, 25 Nov 2026 12:00:05 GMT", wantStatus: 200,
			wantCalls: 2, wantSleeps: []time.Duration{5 * time.Second}},
		{name: "Retry-After beyond the bound is answered as it is", method: "GET", statuses: []int{503}, retryAfter: "3600",
			wantStatus: 503, wantCalls: 1},
		{name: "unreadable Retry-After falls back to the backoff", method: "GET", statuses: []int{503}, retryAfter: "soon",
			wantStatus: 200, wantCalls: 2, wantSleeps: []time.Duration{time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var bodies []string
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			srv := httptest.NewServer(flaky(tt.statuses, h, &calls, &bodies))
			defer srv.Close()
			c := newTestClient(t, "t")
			c.Now = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
			status, body := do(t, c, &Request{Method: tt.method, URL: mustURL(t, srv.URL), Body: tt.body})
			if status != tt.wantStatus || calls.Load() != tt.wantCalls {
				t.Errorf("got %d after %d calls, want %d after %d", status, calls.Load(), tt.wantStatus, tt.wantCalls)
			}
			if !slices.Equal(c.waits(), tt.wantSleeps) {
				t.Errorf("waited %v, want %v", c.waits(), tt.wantSleeps)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if tt.body != nil {
				for i, b := range bodies {
					if want, _ := readBody(t, tt.body); b != want {
						t.Errorf("attempt %d sent body %q, want %q", i+1, b, want)
					}
				}
			}
		})
	}
}

// dropFirst is a listener that closes its first n connections at once, as
// a server that is restarting does.
type dropFirst struct {
	net.Listener
	n atomic.Int32
}

func (l *dropFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.n.Add(-1) < 0 {
			return c, err
		}
		c.Close()
	}
}

func TestDoRetriesConnectionFailuresOfIdempotentRequests(t *testing.T) {
	tests := []struct {
		method     string
		drop       int32
		wantErr    bool
		wantSleeps int
	}{
		{method: "GET", drop: 2, wantSleeps: 2},
		{method: "GET", drop: 5, wantErr: true, wantSleeps: 2},
		{method: "POST", drop: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s after %d dropped connections", tt.method, tt.drop), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			dl := &dropFirst{Listener: l}
			dl.n.Store(tt.drop)
			srv := &httptest.Server{Listener: dl, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "up")
			})}}
			srv.Start()
			defer srv.Close()
			c := newTestClient(t, "t")
			c.HTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
			resp, err := c.Do(context.Background(), &Request{Method: tt.method, URL: mustURL(t, srv.URL)})
			if tt.wantErr != (err != nil) {
				t.Fatalf("Do error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				resp.Body.Close()
			}
			if got := len(c.waits()); got != tt.wantSleeps {
				t.Errorf("waited %d times, want %d", got, tt.wantSleeps)
			}
		})
	}
}

func TestDoDoesNotRetryWhatWaitingCannotCure(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	gone := filepath.Join(t.TempDir(), "gone")
	tests := []struct {
		name string
		req  *Request
	}{
		{"a certificate the client does not trust", get(t, tlsSrv.URL)},
		{"a server that does not speak TLS", get(t, strings.Replace(plain.URL, "http:", "https:", 1))},
		{"a body file that is gone", &Request{Method: http.MethodPut, URL: mustURL(t, plain.URL), Body: &Body{path: gone}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, "t")
			if _, err := c.Do(context.Background(), tt.req); err == nil {
				t.Fatal("Do succeeded")
			}
			if len(c.waits()) != 0 {
				t.Errorf("retried %d times", len(c.waits()))
			}
		})
	}
}

func TestDoStopsWaitingWhenTheContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c := newTestClient(t, "t")
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(context.Context, time.Duration) error {
		cancel()
		return ctx.Err()
	}
	_, err := c.Do(ctx, get(t, srv.URL))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
}

// rejecting answers 401 invalid_token to the tokens in bad, and echoes the
// token and the body otherwise.
func rejecting(bad ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		b, _ := io.ReadAll(r.Body)
		if slices.Contains(bad, tok) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="test", error="invalid_token", error_description="expired"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s %s", tok, b)
	})
}

func TestDoRefreshesOnceWhenTheServerRejectsTheToken(t *testing.T) {
	refreshErr := errors.New("refresh failed")
	tests := []struct {
		name        string
		handler     http.Handler
		refresh     func(ctx context.Context, rejected string) (string, error)
		wantStatus  int
		wantBody    string
		wantErr     error
		wantRefresh int
	}{
		{name: "rejected, refreshed, accepted", handler: rejecting("old"),
			refresh:    func(_ context.Context, rejected string) (string, error) { return "new", nil },
			wantStatus: 200, wantBody: "new a=1", wantRefresh: 1},
		{name: "rejected twice is answered as it is", handler: rejecting("old", "new"),
			refresh:    func(_ context.Context, rejected string) (string, error) { return "new", nil },
			wantStatus: 401, wantRefresh: 1},
		{name: "a failed refresh is the error", handler: rejecting("old"),
			refresh: func(context.Context, string) (string, error) { return "", refreshErr },
			wantErr: refreshErr, wantRefresh: 1},
		{name: "401 without invalid_token is no reason to refresh",
			handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
			}),
			refresh:    func(context.Context, string) (string, error) { return "new", nil },
			wantStatus: 401},
		{name: "403 is no reason to refresh",
			handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
				w.WriteHeader(http.StatusForbidden)
			}),
			refresh:    func(context.Context, string) (string, error) { return "new", nil },
			wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c := newTestClient(t, "old")
			var rejected []string
			c.Refresh = func(ctx context.Context, tok string) (string, error) {
				rejected = append(rejected, tok)
				return tt.refresh(ctx, tok)
			}
			resp, err := c.Do(context.Background(), &Request{Method: http.MethodPost, URL: mustURL(t, srv.URL), Body: &Body{data: []byte("a=1")}})
			if len(rejected) != tt.wantRefresh || (tt.wantRefresh > 0 && rejected[0] != "old") {
				t.Errorf("Refresh was called with %q, want %d call(s) with the rejected token", rejected, tt.wantRefresh)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Do = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || (tt.wantBody != "" && string(b) != tt.wantBody) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

// echo tells whether the request carried a token, and which.
func echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(map[string]string{"authorization": r.Header.Get("Authorization"), "method": r.Method, "body": string(b)})
	})
}

// redirector serves /to?url=U&code=C as a redirect to U and anything else
// as echo.
func redirector() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to" {
			code := http.StatusFound
			fmt.Sscan(r.URL.Query().Get("code"), &code)
			http.Redirect(w, r, r.URL.Query().Get("url"), code)
			return
		}
		echo().ServeHTTP(w, r)
	})
}

func TestDoKeepsTheTokenOnTheFirstOriginAcrossRedirects(t *testing.T) {
	a := httptest.NewServer(redirector())
	defer a.Close()
	b := httptest.NewServer(redirector())
	defer b.Close()
	aLocalhost := strings.Replace(a.URL, "127.0.0.1", "localhost", 1)
	to := func(base, target string, code int) string {
		return fmt.Sprintf("%s/to?code=%d&url=%s", base, code, urlQueryEscape(target))
	}
	tests := []struct {
		name, url, method, wantAuth, wantMethod, wantBody string
	}{
		{name: "no redirect", url: a.URL + "/echo", wantAuth: "Bearer tok"},
		{name: "same origin keeps the token", url: to(a.URL, a.URL+"/echo", 302), wantAuth: "Bearer tok"},
		{name: "another port of the same host loses it", url: to(a.URL, b.URL+"/echo", 302), wantAuth: ""},
		{name: "another name of the same address loses it", url: to(a.URL, aLocalhost+"/echo", 302), wantAuth: ""},
		{name: "coming back after a hop elsewhere does not bring it back",
			url: to(a.URL, to(b.URL, a.URL+"/echo", 302), 302), wantAuth: ""},
		{name: "307 keeps method and body but not the token on another origin", method: "POST",
			url: to(a.URL, b.URL+"/echo", 307), wantAuth: "", wantMethod: "POST", wantBody: "payload"},
		{name: "308 to the same origin keeps all", method: "PUT",
			url: to(a.URL, a.URL+"/echo", 308), wantAuth: "Bearer tok", wantMethod: "PUT", wantBody: "payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, "tok")
			r := get(t, tt.url)
			if tt.method != "" {
				r.Method, r.Body = tt.method, &Body{data: []byte("payload")}
			}
			status, body := do(t, c, r)
			var got map[string]string
			if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 {
				t.Fatalf("answer %d %q", status, body)
			}
			if got["authorization"] != tt.wantAuth {
				t.Errorf("final server saw Authorization %q, want %q", got["authorization"], tt.wantAuth)
			}
			if tt.wantMethod != "" && (got["method"] != tt.wantMethod || got["body"] != tt.wantBody) {
				t.Errorf("final server saw %s %q, want %s %q", got["method"], got["body"], tt.wantMethod, tt.wantBody)
			}
		})
	}
}

func urlQueryEscape(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "?", "%3F", "=", "%3D").Replace(s)
}

func TestDoDoesNotRefreshForARejectionFromAHostWithoutTheToken(t *testing.T) {
	other := httptest.NewServer(rejecting(""))
	defer other.Close()
	a := httptest.NewServer(redirector())
	defer a.Close()
	c := newTestClient(t, "tok")
	c.Refresh = func(context.Context, string) (string, error) {
		t.Error("Refresh was called for a 401 from a host that never saw the token")
		return "x", nil
	}
	status, _ := do(t, c, get(t, a.URL+"/to?url="+urlQueryEscape(other.URL+"/x")))
	if status != http.StatusUnauthorized {
		t.Errorf("status %d, want the 401 as it is", status)
	}
}

func TestDoRefusesRedirectLoopsAndLongChains(t *testing.T) {
	var hops atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop?secret=s3cr3t", http.StatusFound)
		case "/pingpong":
			http.Redirect(w, r, "/pong", http.StatusFound)
		case "/pong":
			http.Redirect(w, r, "/pingpong", http.StatusFound)
		default:
			var n int
			fmt.Sscan(r.URL.Query().Get("n"), &n)
			http.Redirect(w, r, fmt.Sprintf("/chain?n=%d", n+1), http.StatusFound)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path, wantMsg string
		wantHops      int32
	}{
		{"/loop", "redirects in a loop", 2},
		{"/pingpong", "redirects in a loop", 2},
		{"/chain", "stopped after 10 redirects", 11},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			hops.Store(0)
			c := newTestClient(t, "t")
			_, err := c.Do(context.Background(), get(t, srv.URL+tt.path))
			if !errors.Is(err, ErrRedirect) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Do = %v, want ErrRedirect saying %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows a query value", err)
			}
			if hops.Load() != tt.wantHops || len(c.waits()) != 0 {
				t.Errorf("server saw %d requests and the client waited %d times; want %d and no retry", hops.Load(), len(c.waits()), tt.wantHops)
			}
		})
	}
}
