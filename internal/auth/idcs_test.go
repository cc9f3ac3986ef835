package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
)

// idcsConfigServer answers /.well-known/idcs-configuration with status and
// body, and counts the requests.
func idcsConfigServer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/idcs-configuration" {
			http.NotFound(w, r)
			return
		}
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestIDCSDetectionAndDeviceEndpoint(t *testing.T) {
	const idcsDoc = `{"configuration":{"version":"1"},"openid-configuration":{"issuer":"https://identity.oraclecloud.com/"}}`
	tests := []struct {
		name       string
		issuer     string
		device     string // device_authorization_endpoint in discovery
		status     int    // of idcs-configuration
		body       string
		wantIDCS   bool
		wantDevice string // path on the server; "" = ErrNoDeviceEndpoint
		wantProbes int32
	}{
		{"IDCS issuer, no device endpoint: the documented path", IDCSIssuer, "", 404, "", true, "/oauth2/v1/device", 0},
		{"declared device endpoint wins", "https://dex.example.test", "https://dex.example.test/device/code", 404, "", false, "", 1},
		{"other issuer, idcs-configuration answers: IDCS", "https://login.example.test/", "", 200, idcsDoc, true, "/oauth2/v1/device", 1},
		{"other issuer, idcs-configuration 404: not IDCS", "https://dex.example.test", "", 404, `{"error":"not found"}`, false, "", 1},
		{"other issuer, idcs-configuration is another JSON: not IDCS", "https://dex.example.test", "", 200, `{"issuer":"x"}`, false, "", 1},
		{"other issuer, idcs-configuration is a page: not IDCS", "https://dex.example.test", "", 200, `<html>hello</html>`, false, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, probes := idcsConfigServer(t, tt.status, tt.body)
			c := &Client{
				Metadata: &Metadata{Issuer: tt.issuer, DeviceAuthorizationEndpoint: tt.device},
				ClientID: "app", HTTP: srv.Client(), Domain: srv.URL + "/",
			}
			ctx := context.Background()
			if got := c.IsIDCS(ctx); got != tt.wantIDCS {
				t.Errorf("IsIDCS = %v, want %v", got, tt.wantIDCS)
			}
			ep, err := c.DeviceEndpoint(ctx)
			switch {
			case tt.device != "":
				if err != nil || ep != tt.device {
					t.Errorf("DeviceEndpoint = %q, %v; want the declared %q", ep, err, tt.device)
				}
			case tt.wantDevice == "":
				if !errors.Is(err, ErrNoDeviceEndpoint) {
					t.Errorf("DeviceEndpoint = %q, %v; want ErrNoDeviceEndpoint", ep, err)
				}
			default:
				if err != nil || ep != srv.URL+tt.wantDevice {
					t.Errorf("DeviceEndpoint = %q, %v; want %q", ep, err, srv.URL+tt.wantDevice)
				}
			}
			// The probe is asked at most once per client.
			c.IsIDCS(ctx)
			if got := probes.Load(); got != tt.wantProbes {
				t.Errorf("idcs-configuration asked %d times, want %d", got, tt.wantProbes)
			}
		})
	}
}

func TestIDCSDetectionWithoutDomainAsksNothing(t *testing.T) {
	c := &Client{Metadata: &Metadata{Issuer: "https://dex.example.test"}, ClientID: "app"}
	if c.IsIDCS(context.Background()) {
		t.Error("a client without a domain is IDCS")
	}
	if _, err := c.DeviceEndpoint(context.Background()); !errors.Is(err, ErrNoDeviceEndpoint) {
		t.Errorf("err = %v, want ErrNoDeviceEndpoint", err)
	}
}

func TestDefaultScopesFitTheProvider(t *testing.T) {
	idcsDefaults := []string{"openid", "profile", "email", "urn:opc:idm:t.user.me"}
	for _, tt := range []struct {
		name string
		md   Metadata
		want []string
	}{
		{"IDCS: its own defaults, listed or not", Metadata{Issuer: IDCSIssuer, ScopesSupported: []string{"openid", "profile"}}, idcsDefaults},
		{"Dex: the standard scopes it lists", Metadata{Issuer: "https://dex.example.test", ScopesSupported: []string{"openid", "email", "groups", "offline_access"}}, []string{"openid", "email"}},
		{"a provider that lists none: the standard scopes", Metadata{Issuer: "https://op.example.test"}, []string{"openid", "profile", "email"}},
		{"openid even when not listed", Metadata{Issuer: "https://op.example.test", ScopesSupported: []string{"profile"}}, []string{"openid", "profile"}},
	} {
		if got := tt.md.DefaultScopes(idcsDefaults); !slices.Equal(got, tt.want) {
			t.Errorf("%s: DefaultScopes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUnlistedScopes(t *testing.T) {
	idcsListed := []string{"openid", "profile", "offline_access", "email", "address", "phone", "groups", "get_groups", "approles", "get_approles"}
	for _, tt := range []struct {
		name string
		md   Metadata
		want []string
		in   []string
	}{
		{"IDCS: its urn:opc: scopes are not reported", Metadata{Issuer: IDCSIssuer, ScopesSupported: idcsListed}, nil, []string{"openid", "urn:opc:idm:t.user.me", "urn:opc:idm:__myscopes__"}},
		{"IDCS: other unlisted scopes are", Metadata{Issuer: IDCSIssuer, ScopesSupported: idcsListed}, []string{"https://api.example.com/read"}, []string{"openid", "https://api.example.com/read"}},
		{"Dex: an urn:opc: scope is reported", Metadata{Issuer: "https://dex.example.test", ScopesSupported: []string{"openid", "email"}}, []string{"urn:opc:idm:t.user.me"}, []string{"openid", "email", "urn:opc:idm:t.user.me"}},
		{"a provider that lists none: nothing to compare", Metadata{Issuer: "https://op.example.test"}, nil, []string{"urn:opc:idm:t.user.me"}},
	} {
		c := &Client{Metadata: &tt.md}
		if got := c.UnlistedScopes(context.Background(), tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("%s: UnlistedScopes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDeviceAuthorizationRequestFitsTheProvider: on IDCS, the request Oracle
// documents (response_type=device_code, no client authentication); elsewhere
// RFC 8628's (a confidential client authenticates, no response_type).
func TestDeviceAuthorizationRequestFitsTheProvider(t *testing.T) {
	for _, idcs := range []bool{true, false} {
		var form url.Values
		var basic bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			form = r.PostForm
			_, _, basic = r.BasicAuth()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://idcs.example/ui/v1/device","expires_in":600}`))
		}))
		c := &Client{Metadata: &Metadata{Issuer: IDCSIssuer}, ClientID: "app", ClientSecret: "s3cret", HTTP: srv.Client()}
		if _, err := c.deviceAuthorize(context.Background(), srv.URL+"/oauth2/v1/device", idcs); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		if got := form.Get("response_type"); (got == "device_code") != idcs {
			t.Errorf("idcs=%v: response_type %q", idcs, got)
		}
		if basic == idcs {
			t.Errorf("idcs=%v: client authentication sent: %v", idcs, basic)
		}
		if form.Get("client_id") != "app" || form.Get("scope") == "" {
			t.Errorf("idcs=%v: form %v lacks client_id or scope", idcs, form)
		}
	}
}
