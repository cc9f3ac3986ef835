package fetch

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestResolveURLTakesAbsoluteURLsAndResolvesPathsAgainstTheDomain(t *testing.T) {
	domain := mustURL(t, "https://idcs-1234.identity.oraclecloud.com")
	tests := []struct {
		name, target, want string
	}{
		{"absolute path", "/admin/v1/Me", "https://idcs-1234.identity.oraclecloud.com/admin/v1/Me"},
		{"relative path is relative to the domain root", "admin/v1/Me", "https://idcs-1234.identity.oraclecloud.com/admin/v1/Me"},
		{"query is kept", "/admin/v1/Users?count=10&filter=userName+sw+%22a%22", "https://idcs-1234.identity.oraclecloud.com/admin/v1/Users?count=10&filter=userName+sw+%22a%22"},
		{"absolute URL is taken as is", "https://api.example.com/orders?id=1", "https://api.example.com/orders?id=1"},
		{"scheme and host are lower-cased", "HTTPS://API.Example.COM/Orders", "https://api.example.com/Orders"},
		{"fragment is dropped", "/admin/v1/Me#top", "https://idcs-1234.identity.oraclecloud.com/admin/v1/Me"},
		{"surrounding spaces are ignored", "  /admin/v1/Me \n", "https://idcs-1234.identity.oraclecloud.com/admin/v1/Me"},
		{"network-path reference keeps its host", "//evil.example/x", "https://evil.example/x"},
		{"dot segments are resolved", "/admin/v1/../v1/Me", "https://idcs-1234.identity.oraclecloud.com/admin/v1/Me"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveURL(domain, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("ResolveURL(%q) = %s, want %s", tt.target, got, tt.want)
			}
		})
	}
}

func TestResolveURLRefusesWhatIsNoHTTPURL(t *testing.T) {
	domain := mustURL(t, "https://idcs-1234.identity.oraclecloud.com")
	tests := []struct {
		name, target, wantMsg string
	}{
		{"empty", " ", "empty"},
		{"ftp", "ftp://files.example.com/x", `scheme "ftp"`},
		{"host:port without scheme reads as a scheme", "localhost:8080/x", `scheme "localhost"`},
		{"credentials in the URL", "https://user:secret@api.example.com/", "user name or password"},
		{"absolute URL without host", "https:///x", "no host"},
		{"unparsable with a password hides it", "https://user:p%zz@host/", "hidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ResolveURL(domain, tt.target)
			if err == nil {
				t.Fatalf("ResolveURL(%q) succeeded, want an error", tt.target)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "p%zz") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestPolicySendsTheTokenOnlyToTheDomainAndAllowedHosts(t *testing.T) {
	p := NewPolicy(mustURL(t, "https://idcs-1234.identity.oraclecloud.com"))
	for _, a := range []string{"api.example.com", "*.apps.example.com", "svc.example.com:8443", "127.0.0.1:9000", "[::1]:9001", "Upper.Example.COM."} {
		if err := p.Allow(a); err != nil {
			t.Fatalf("Allow(%q): %v", a, err)
		}
	}
	tests := []struct {
		url      string
		allowed  bool
		insecure bool
		host     string
	}{
		{url: "https://idcs-1234.identity.oraclecloud.com/admin/v1/Me", allowed: true},
		{url: "https://IDCS-1234.identity.oraclecloud.com:443/x", allowed: true},
		{url: "https://idcs-1234.identity.oraclecloud.com.:443/x", allowed: true},
		{url: "https://idcs-1234.identity.oraclecloud.com:8443/x", host: "idcs-1234.identity.oraclecloud.com:8443"},
		{url: "https://idcs-9999.identity.oraclecloud.com/x", host: "idcs-9999.identity.oraclecloud.com"},
		{url: "https://api.example.com/orders", allowed: true},
		{url: "https://api.example.com:8443/orders", host: "api.example.com:8443"},
		{url: "https://evil-api.example.com/", host: "evil-api.example.com"},
		{url: "https://api.example.com.evil.example/", host: "api.example.com.evil.example"},
		{url: "https://a.apps.example.com/", allowed: true},
		{url: "https://a.b.apps.example.com/", allowed: true},
		{url: "https://apps.example.com/", host: "apps.example.com"},
		{url: "https://xapps.example.com/", host: "xapps.example.com"},
		{url: "https://svc.example.com:8443/", allowed: true},
		{url: "https://svc.example.com/", host: "svc.example.com"},
		{url: "https://upper.example.com/", allowed: true},
		{url: "http://127.0.0.1:9000/", allowed: true},
		{url: "http://127.0.0.1:9002/", host: "127.0.0.1:9002"},
		{url: "http://[::1]:9001/", allowed: true},
		{url: "https://[::1]/", host: "[::1]"},
		{url: "https://[2001:db8::1]:8443/", host: "[2001:db8::1]:8443"},
		{url: "http://api.example.com/", insecure: true, host: "api.example.com"},
		{url: "http://idcs-1234.identity.oraclecloud.com/", insecure: true, host: "idcs-1234.identity.oraclecloud.com"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := p.Check(mustURL(t, tt.url))
			if tt.allowed {
				if err != nil {
					t.Fatalf("Check refused: %v", err)
				}
				return
			}
			var he *HostError
			if !errors.As(err, &he) {
				t.Fatalf("Check = %v, want a *HostError", err)
			}
			if he.Insecure != tt.insecure || he.Host != tt.host {
				t.Errorf("HostError = %+v, want host %q insecure %v", he, tt.host, tt.insecure)
			}
		})
	}
}

func TestPolicyOnALoopbackDomainComparesPorts(t *testing.T) {
	p := NewPolicy(mustURL(t, "http://127.0.0.1:8080"))
	if err := p.Check(mustURL(t, "http://127.0.0.1:8080/admin/v1/Me")); err != nil {
		t.Errorf("the domain itself was refused: %v", err)
	}
	if err := p.Check(mustURL(t, "http://127.0.0.1:8081/")); err == nil {
		t.Error("another port of the domain's host was allowed")
	}
	if err := p.Check(mustURL(t, "https://127.0.0.1:8080/")); err == nil {
		t.Error("another scheme on the domain's port was allowed")
	}
}

func TestAllowRefusesEntriesThatAreNoHost(t *testing.T) {
	p := NewPolicy(mustURL(t, "https://idcs-1234.identity.oraclecloud.com"))
	for _, entry := range []string{"", "https://api.example.com", "api.example.com/x", "api.example.com:0",
		"api.example.com:99999", "api.example.com:https", "*", "*.", "a.*.example.com", "*.10.0.0.1", "[::1", "user@host", "api.example.com:"} {
		t.Run(entry, func(t *testing.T) {
			err := p.Allow(entry)
			if err == nil {
				t.Fatalf("Allow(%q) succeeded", entry)
			}
			if !strings.Contains(err.Error(), "host:port") {
				t.Errorf("error %q does not say how to write an entry", err)
			}
		})
	}
}
