package origin

import (
	"net/url"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"https://idcs-1.identity.oraclecloud.com", "https://idcs-1.identity.oraclecloud.com:443", true},
		{"https://idcs-1.identity.oraclecloud.com:443/oauth2/v1/token", "https://IDCS-1.identity.oraclecloud.com/", true},
		{"HTTPS://Host.example.com/", "https://host.example.com", true},
		{"https://host.example.com.", "https://host.example.com", true},
		{"http://127.0.0.1:8080/x", "http://127.0.0.1:8080", true},
		{"http://host.example.com", "http://host.example.com:80", true},
		{"https://[::1]:443/", "https://[::1]", true},
		{"https://host.example.com", "http://host.example.com", false},
		{"https://host.example.com", "https://host.example.com:8443", false},
		{"https://host.example.com:80", "http://host.example.com:80", false},
		{"https://a.example.com", "https://b.example.com", false},
		{"https://host.example.com", "https://host.example.com.evil.test", false},
		{"http://127.0.0.1:8080", "http://localhost:8080", false},
		{"", "", false},
		{"/relative/path", "/relative/path", false},
		{"https://host.example.com", "%zz", false},
	} {
		if got := SameString(tc.a, tc.b); got != tc.same {
			t.Errorf("SameString(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := SameString(tc.b, tc.a); got != tc.same {
			t.Errorf("SameString(%q, %q) = %v, want %v (not symmetric)", tc.b, tc.a, got, tc.same)
		}
	}
}

func TestOriginString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://IDCS-1.identity.oraclecloud.com:443/oauth2/v1/authorize", "https://idcs-1.identity.oraclecloud.com"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"http://host.example.com:80", "http://host.example.com"},
		{"https://[::1]:443", "https://[::1]"},
		{"https://[::1]:8443", "https://[::1]:8443"},
		{"https://host.example.com.:8443", "https://host.example.com:8443"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Of(u).String(); got != tc.want {
			t.Errorf("Of(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}
