package emulator

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// capture reads one of the documents a real domain publishes (see
// testdata/idcs/SOURCE.md).
func capture(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "idcs", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sameShape compares a document of the emulator with a capture field for
// field: the same names; URLs with the same path, written with an explicit
// port exactly where the capture writes one (IDCS's :443); lists with the
// same members; every other value equal. Hosts differ by design.
func sameShape(t *testing.T, where string, got, want map[string]any) {
	t.Helper()
	if g, w := keys(got), keys(want); !slices.Equal(g, w) {
		t.Errorf("%s: fields differ\n got %v\nwant %v", where, g, w)
	}
	for k, wv := range want {
		gv, ok := got[k]
		if !ok {
			continue
		}
		switch w := wv.(type) {
		case string:
			g, _ := gv.(string)
			wu, werr := url.Parse(w)
			gu, gerr := url.Parse(g)
			if werr == nil && gerr == nil && wu.Scheme == "https" && k != "issuer" {
				if gu.Path != wu.Path || (gu.Port() != "") != (wu.Port() != "") {
					t.Errorf("%s: %s = %q, want the shape of %q (path, explicit port)", where, k, g, w)
				}
				continue
			}
			if g != w {
				t.Errorf("%s: %s = %q, want %q", where, k, g, w)
			}
		case []any:
			g, _ := gv.([]any)
			if !sameMembers(g, w) {
				t.Errorf("%s: %s = %v, want %v", where, k, g, w)
			}
		case map[string]any:
			g, _ := gv.(map[string]any)
			sameShape(t, where+" "+k, g, w)
		default:
			if gv != wv {
				t.Errorf("%s: %s = %v, want %v", where, k, gv, wv)
			}
		}
	}
}

func sameMembers(a, b []any) bool {
	str := func(l []any) []string {
		out := make([]string, 0, len(l))
		for _, v := range l {
			s, _ := json.Marshal(v)
			out = append(out, string(s))
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(str(a), str(b))
}

// asIfOnTLS serves the emulator's documents as a real domain's are
// reached: over https on the default port, where IDCS still writes :443.
func asIfOnTLS(t *testing.T, e *Emulator, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "https://idcs-0123456789abcdef0123456789abcdef.identity.oraclecloud.com"+path, nil)
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s answered %d", path, rec.Code)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func TestDiscoveryMatchesCaptures(t *testing.T) {
	e, err := New(Options{Signer: testSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	oidc := capture(t, "openid-configuration.json")
	sameShape(t, "openid-configuration", asIfOnTLS(t, e, "/.well-known/openid-configuration"), oidc)
	sameShape(t, "oauth-authorization-server", asIfOnTLS(t, e, "/.well-known/oauth-authorization-server"), oidc)

	// Oracle's idcs-configuration example writes paths where the emulator
	// writes URLs, and is cut after its grant types: compare the parts it
	// has, by path.
	want := capture(t, "idcs-configuration.json")
	got := asIfOnTLS(t, e, "/.well-known/idcs-configuration")
	if g, w := keys(got), keys(want); !slices.Equal(g, w) {
		t.Errorf("idcs-configuration: sections %v, want %v", g, w)
	}
	gotAccess, _ := got["access-configuration"].(map[string]any)
	for k, v := range want["access-configuration"].(map[string]any) {
		if g, _ := gotAccess[k].(string); !strings.HasSuffix(g, v.(string)) {
			t.Errorf("access-configuration %s = %q, want a URL of %q", k, g, v)
		}
	}
	gotNested, _ := got["openid-configuration"].(map[string]any)
	for k, v := range want["openid-configuration"].(map[string]any) {
		g, ok := gotNested[k]
		switch {
		case !ok:
			t.Errorf("idcs-configuration openid-configuration lacks %s", k)
		case k == "token_endpoint_auth_methods_supported" || k == "grant_types_supported":
			// The example and the live capture disagree; the emulator
			// follows the live document (openid-configuration.json).
		case strings.HasPrefix(strings.TrimSpace(toString(v)), "/"):
			if !strings.HasSuffix(toString(g), toString(v)) {
				t.Errorf("idcs-configuration %s = %v, want a URL of %v", k, g, v)
			}
		default:
			if wl, isList := v.([]any); isList {
				gl, _ := g.([]any)
				if !sameMembers(gl, wl) {
					t.Errorf("idcs-configuration %s = %v, want %v", k, g, v)
				}
			} else if g != v {
				t.Errorf("idcs-configuration %s = %v, want %v", k, g, v)
			}
		}
	}
}

func toString(v any) string { s, _ := v.(string); return s }

// TestDiscoveryOmitsWhatIDCSOmits: what no capture shows is not advertised,
// although the emulator serves it, as IDCS does.
func TestDiscoveryOmitsWhatIDCSOmits(t *testing.T) {
	v := newEnv(t, Options{})
	doc := v.get("/.well-known/openid-configuration", nil).json(t)
	for _, k := range []string{"device_authorization_endpoint", "code_challenge_methods_supported"} {
		if _, ok := doc[k]; ok {
			t.Errorf("discovery advertises %s, which IDCS does not", k)
		}
	}
	if got := str(doc, "issuer"); got != DefaultIssuer {
		t.Errorf("issuer %q, want IDCS's %q, not the domain URL", got, DefaultIssuer)
	}
	if got := str(doc, "token_endpoint"); got != v.srv.URL+"/oauth2/v1/token" {
		t.Errorf("token_endpoint %q, want it on the serving URL %s", got, v.srv.URL)
	}
	if cc := v.get("/.well-known/openid-configuration", nil).header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q, want a max-age", cc)
	}
	// The device grant is served where Oracle documents it.
	r := v.postForm("/oauth2/v1/device", url.Values{"client_id": {DemoPublicClientID}, "scope": {"openid"}, "response_type": {"device_code"}}, "", "")
	if r.status != http.StatusOK {
		t.Errorf("POST /oauth2/v1/device answered %d: %s", r.status, r.body)
	}
}

func TestDiscoveryKnobGivesAnotherProvidersShape(t *testing.T) {
	v := newEnv(t, Options{})
	v.e.SetDiscovery(Discovery{
		Issuer:          SelfIssuer,
		ScopesSupported: []string{"openid", "profile", "email", "offline_access"},
		Extras: map[string]any{
			"device_authorization_endpoint":    "/oauth2/v1/device",
			"code_challenge_methods_supported": []string{"S256"},
		},
	})
	doc := v.get("/.well-known/openid-configuration", nil).json(t)
	if got := str(doc, "issuer"); got != v.srv.URL {
		t.Errorf("issuer %q, want the serving URL %s", got, v.srv.URL)
	}
	if got := str(doc, "device_authorization_endpoint"); got != v.srv.URL+"/oauth2/v1/device" {
		t.Errorf("device_authorization_endpoint %q", got)
	}
	if r := v.get("/.well-known/idcs-configuration", nil); r.status != http.StatusNotFound {
		t.Errorf("a provider with its own issuer serves idcs-configuration (%d)", r.status)
	}
	// A scope the document does not list is refused, as Dex refuses it;
	// RFC 8628's request, without IDCS's response_type, is accepted.
	r := v.postForm("/oauth2/v1/device", url.Values{"client_id": {DemoPublicClientID}, "scope": {"openid " + ScopeUserMe}}, "", "")
	if r.status != http.StatusBadRequest || str(r.json(t), "error") != "invalid_scope" {
		t.Errorf("an unlisted scope answered %d %s, want invalid_scope", r.status, r.body)
	}
	if r := v.postForm("/oauth2/v1/device", url.Values{"client_id": {DemoPublicClientID}, "scope": {"openid email"}}, "", ""); r.status != http.StatusOK {
		t.Errorf("listed scopes answered %d %s", r.status, r.body)
	}
	// The zero value restores IDCS's shape.
	v.e.SetDiscovery(Discovery{})
	doc = v.get("/.well-known/openid-configuration", nil).json(t)
	if _, ok := doc["device_authorization_endpoint"]; ok || str(doc, "issuer") != DefaultIssuer {
		t.Errorf("SetDiscovery(Discovery{}) kept the other shape: %v", doc)
	}
}

func TestWithPortWritesTheDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"https://idcs.example":      "https://idcs.example:443",
		"http://127.0.0.1:8080":     "http://127.0.0.1:8080",
		"https://[::1]":             "https://[::1]:443",
		"https://[::1]:8443":        "https://[::1]:8443",
		"http://localhost":          "http://localhost:80",
		"https://idcs.example:8443": "https://idcs.example:8443",
	} {
		if got := withPort(in); got != want {
			t.Errorf("withPort(%q) = %q, want %q", in, got, want)
		}
	}
}
