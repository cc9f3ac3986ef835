package registry

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idcsctl/idcsctl/internal/emulator"
)

func start(t *testing.T) *Server {
	t.Helper()
	emu, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(emu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The registry API refuses every credential but a live token of its own,
// with the challenge and error body a registry sends; the token endpoint
// refuses a request without an OCI signature.
func TestRegistryRefusesWithoutItsToken(t *testing.T) {
	s := start(t)
	tests := []struct {
		name, path, user, pass string
		status                 int
		body                   string
	}{
		{"no credentials", "/v2/", "", "", http.StatusUnauthorized, `"code":"UNAUTHORIZED"`},
		{"a password", "/v2/", "someone", "auth-token", http.StatusUnauthorized, `"code":"UNAUTHORIZED"`},
		{"a forged token", "/v2/x/manifests/latest", Username, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", http.StatusUnauthorized, `"code":"UNAUTHORIZED"`},
		{"an unsigned token request", TokenPath, "", "", http.StatusUnauthorized, `"code":"NotAuthenticated"`},
		{"elsewhere", "/other", "", "", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+tc.path, nil)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if strings.HasPrefix(tc.path, "/v2") && resp.Header.Get("WWW-Authenticate") != `Basic realm="`+s.Host+`"` {
				t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if got := s.Counts(); got["v2:refused"] != 3 || got["token"] != 1 || got["token:issued"] != 0 {
		t.Fatalf("counts %v", got)
	}
	if err := s.SetTokenAnswer("teapot"); err == nil {
		t.Fatal("an unknown answer was taken")
	}
}
