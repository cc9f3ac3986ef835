package auth

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCheckDomainURL(t *testing.T) {
	tests := []struct {
		in       string
		want     string // normalised; "" = refused
		insecure bool   // refused as ErrInsecureURL
	}{
		{"https://idcs-abc.identity.oraclecloud.com", "https://idcs-abc.identity.oraclecloud.com", false},
		{"https://IDCS-abc.identity.oraclecloud.com/", "https://idcs-abc.identity.oraclecloud.com", false},
		// One origin however written: the default port, case, a trailing
		// dot or slash name the same domain (as IDCS writes its endpoints).
		{"  HTTPS://idcs-abc.identity.oraclecloud.com:443//  ", "https://idcs-abc.identity.oraclecloud.com", false},
		{"https://idcs-abc.identity.oraclecloud.com.:443/", "https://idcs-abc.identity.oraclecloud.com", false},
		{"https://idcs-abc.identity.oraclecloud.com:8443", "https://idcs-abc.identity.oraclecloud.com:8443", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", false},
		{"http://127.1.2.3:8080/", "http://127.1.2.3:8080", false},
		{"http://[::1]:8080", "http://[::1]:8080", false},
		{"http://localhost:8080", "http://localhost:8080", false},
		{"http://idcs-abc.identity.oraclecloud.com", "", true},
		{"http://192.168.1.10", "", true},
		{"http://localhost.example.com", "", true},
		{"http://0.0.0.0:8080", "", true},
		{"idcs-abc.identity.oraclecloud.com", "", false},
		{"ftp://idcs-abc.identity.oraclecloud.com", "", false},
		{"https://user:hunter2@idcs-abc.identity.oraclecloud.com", "", false},
		{"https://idcs-abc.identity.oraclecloud.com/?x=1", "", false},
		{"https://idcs-abc.identity.oraclecloud.com/#frag", "", false},
		{"https://%zz", "", false},
		{"https://user:hunter2@%zz", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := CheckDomainURL(tt.in)
			if tt.want != "" {
				if err != nil || u.String() != tt.want {
					t.Fatalf("got %v, %v; want %s", u, err, tt.want)
				}
				return
			}
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a *URLError", err)
			}
			if errors.Is(err, ErrInsecureURL) != tt.insecure {
				t.Errorf("errors.Is(err, ErrInsecureURL) = %v, want %v", !tt.insecure, tt.insecure)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func newDiscoverer(p *testProvider, dir string) *Discoverer {
	return &Discoverer{HTTP: p.srv.Client(), CacheDir: dir, Now: p.clock.Now}
}

func (p *testProvider) hits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.discoveryHits
}

func TestDiscoverCaches(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		ttl          time.Duration
		advance      time.Duration
		wantHits     int
	}{
		{"fresh entry does no request", "", 0, 23 * time.Hour, 1},
		{"expired entry is fetched again", "", 0, 25 * time.Hour, 2},
		{"configured TTL", "", time.Hour, 61 * time.Minute, 2},
		{"shorter max-age wins", "public, max-age=60", 0, 61 * time.Second, 2},
		{"max-age within its time is fresh", "max-age=60", 0, 59 * time.Second, 1},
		{"longer max-age does not extend the TTL", "max-age=999999", time.Hour, 61 * time.Minute, 2},
		{"no-store is not cached", "no-store", 0, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			p.set(func(p *testProvider) { p.discoveryHeader = tt.cacheControl })
			d := newDiscoverer(p, t.TempDir())
			d.TTL = tt.ttl
			md, err := d.Discover(testCtx(t), p.URL+"/")
			if err != nil {
				t.Fatal(err)
			}
			if md.Issuer != idcsIssuer || md.TokenEndpoint != p.URL+"/oauth2/v1/token" {
				t.Errorf("metadata = %+v", md)
			}
			p.clock.Advance(tt.advance)
			if _, err := d.Discover(testCtx(t), p.URL); err != nil {
				t.Fatal(err)
			}
			if got := p.hits(); got != tt.wantHits {
				t.Errorf("%d requests, want %d", got, tt.wantHits)
			}
		})
	}
}

func TestDiscoverDiskCacheIsSharedAndPrivate(t *testing.T) {
	p := newTestProvider(t)
	dir := filepath.Join(t.TempDir(), "cache")
	if _, err := newDiscoverer(p, dir).Discover(testCtx(t), p.URL); err != nil {
		t.Fatal(err)
	}
	// A new process: nothing in memory, the file answers.
	d2 := newDiscoverer(p, dir)
	if _, err := d2.Discover(testCtx(t), p.URL); err != nil {
		t.Fatal(err)
	}
	if got := p.hits(); got != 1 {
		t.Errorf("%d requests, want 1: the disk cache was not used", got)
	}
	if _, ok := d2.Cached(p.URL); !ok {
		t.Error("Cached found nothing")
	}
	if runtime.GOOS == "windows" {
		return
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v, %v; want mode 0700", st, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("cache holds %v, want one file and no temporary leftovers", files)
	}
	if st, err := os.Stat(files[0]); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file: %v, %v; want mode 0600", st, err)
	}
}

func TestDiscoverIgnoresACorruptCacheFile(t *testing.T) {
	p := newTestProvider(t)
	dir := t.TempDir()
	d := newDiscoverer(p, dir)
	if err := os.WriteFile(d.cachePath(p.URL), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Cached(p.URL); ok {
		t.Error("Cached returned a corrupt entry")
	}
	if _, err := d.Discover(testCtx(t), p.URL); err != nil {
		t.Fatalf("Discover with a corrupt cache: %v", err)
	}
}

func TestCachedReturnsExpiredEntriesWithoutNetwork(t *testing.T) {
	p := newTestProvider(t)
	d := newDiscoverer(p, "")
	if _, ok := d.Cached(p.URL); ok {
		t.Fatal("Cached found an entry before any discovery")
	}
	if _, err := d.Discover(testCtx(t), p.URL); err != nil {
		t.Fatal(err)
	}
	p.clock.Advance(48 * time.Hour)
	if md, ok := d.Cached(p.URL); !ok || md.Issuer != idcsIssuer {
		t.Errorf("Cached = %v, %v", md, ok)
	}
	if got := p.hits(); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestDiscoverFallsBackToStaleOnlyForPassingFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		wantStale bool
	}{
		{"503 uses the expired entry", http.StatusServiceUnavailable, true},
		{"429 uses the expired entry", http.StatusTooManyRequests, true},
		{"404 does not", http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			d := newDiscoverer(p, "")
			if _, err := d.Discover(testCtx(t), p.URL); err != nil {
				t.Fatal(err)
			}
			p.clock.Advance(25 * time.Hour)
			p.set(func(p *testProvider) { p.discoveryStatus = tt.status })
			md, err := d.Discover(testCtx(t), p.URL)
			if tt.wantStale {
				if err != nil || md == nil {
					t.Fatalf("got %v, %v; want the expired entry", md, err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestDiscoverErrorsAreClear(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"HTML instead of JSON", "<html><body>Sign in to your corporate portal</body></html>", 200, "is text/html, not JSON"},
		{"not found", "", 404, "404"},
		{"endpoint over plain http", `{"issuer":"x","authorization_endpoint":"http://evil.example/a","token_endpoint":"https://a/t","jwks_uri":"https://a/k"}`, 200, "authorization_endpoint is refused"},
		{"no token endpoint", `{"issuer":"x","authorization_endpoint":"https://a/a","jwks_uri":"https://a/k"}`, 200, "no token_endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			p.set(func(p *testProvider) { p.discoveryBody, p.discoveryStatus = tt.body, tt.status })
			_, err := newDiscoverer(p, "").Discover(testCtx(t), p.URL)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "corporate portal") {
				t.Error("the error quotes the body")
			}
		})
	}
}

func TestDiscoverRefusesPlainHTTPToARemoteHost(t *testing.T) {
	d := &Discoverer{HTTP: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Fatal("a request was made")
		return nil, nil
	})}}
	_, err := d.Discover(testCtx(t), "http://idcs-abc.identity.oraclecloud.com")
	if !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("err = %v, want ErrInsecureURL", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSameDomain(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://idcs-1.identity.oraclecloud.com", "https://idcs-1.identity.oraclecloud.com:443", true},
		{"https://IDCS-1.identity.oraclecloud.com/", "https://idcs-1.identity.oraclecloud.com", true},
		{"http://127.0.0.1:8080/", "HTTP://127.0.0.1:8080", true},
		{"https://idcs-1.identity.oraclecloud.com", "https://idcs-1.identity.oraclecloud.com:8443", false},
		{"https://idcs-1.identity.oraclecloud.com", "https://idcs-2.identity.oraclecloud.com", false},
		{"https://host.example.com/tenant-a", "https://host.example.com/tenant-b", false},
		{"http://idcs-1.identity.oraclecloud.com", "http://idcs-1.identity.oraclecloud.com", false},
		{"", "", false},
	} {
		if got := SameDomain(tc.a, tc.b); got != tc.same {
			t.Errorf("SameDomain(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
