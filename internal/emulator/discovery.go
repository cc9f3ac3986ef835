package emulator

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Discovery gives the emulator's discovery documents another shape than a
// real identity domain's, for tests of what idcsctl does with other
// providers. The zero value publishes what IDCS publishes.
type Discovery struct {
	// Issuer, when set, replaces Options.Issuer from now on, in discovery
	// and in the tokens issued afterwards: "self" means the URL the
	// emulator is reached at, as an OpenID provider that is not IDCS
	// declares (RFC 8414, OpenID Connect Discovery 4.3). A provider that
	// declares another issuer than IDCS's is no IDCS domain:
	// /.well-known/idcs-configuration then answers 404.
	Issuer string `json:"issuer,omitempty"`
	// ScopesSupported, when set, replaces the scopes_supported list, and
	// the emulator then refuses every user scope not in it with
	// invalid_scope, as Dex does. IDCS lists few of the scopes it grants.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// Extras are added to the OpenID and RFC 8414 documents, replacing
	// fields of the same name; a string value starting with "/" is a path
	// on the emulator's URL. {"device_authorization_endpoint":
	// "/oauth2/v1/device", "code_challenge_methods_supported": ["S256"]}
	// is the shape of a provider that advertises what IDCS leaves out.
	Extras map[string]any `json:"extras,omitempty"`
}

// SelfIssuer is the Discovery.Issuer that means the emulator's own URL.
const SelfIssuer = "self"

// idcsScopesSupported is what a real domain lists in scopes_supported: the
// OpenID Connect scopes and IDCS's groups and app roles, but not
// urn:opc:idm:t.user.me or urn:opc:idm:__myscopes__, which it grants all
// the same (testdata/idcs/openid-configuration.json).
var idcsScopesSupported = []string{
	"openid", "profile", "offline_access", "email", "address", "phone",
	"groups", "get_groups", "approles", "get_approles",
}

// SetDiscovery changes the shape of the discovery documents and, for
// Issuer and ScopesSupported, what the emulator does from now on. The zero
// Discovery restores IDCS's shape.
func (e *Emulator) SetDiscovery(d Discovery) {
	d.ScopesSupported = slices.Clone(d.ScopesSupported)
	d.Extras = maps.Clone(d.Extras)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.discovery = d
}

func (e *Emulator) discoveryShape() Discovery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.discovery
}

// issuerFor is the issuer of discovery and of tokens for a request that
// reached the emulator at base.
func (e *Emulator) issuerFor(base string) string {
	switch iss := e.discoveryShape().Issuer; iss {
	case "":
		return e.issuer
	case SelfIssuer:
		return base
	default:
		return iss
	}
}

// openIDConfiguration is the discovery document, field for field the shape
// of a live domain's (testdata/idcs/openid-configuration.json): endpoints
// written with an explicit port, as IDCS writes :443, their secure_*
// twins, the grant and response types, scopes and claims IDCS lists, and
// neither device_authorization_endpoint nor code_challenge_methods_supported,
// which IDCS leaves out although it serves the device grant and PKCE. The
// issuer is the configured one, not the domain URL: the mismatch IDCS
// really has. Advertised is not accepted: the emulator stays strict (S256
// only, four grants, the code response type); docs/emulator.md lists each
// difference.
func (e *Emulator) openIDConfiguration(base string) map[string]any {
	d := e.discoveryShape()
	at := withPort(base)
	// IDCS's secure_* twins live on a regional host; the emulator has one
	// host, so they point at the same place.
	doc := map[string]any{
		"issuer":                                           e.issuerFor(base),
		"authorization_endpoint":                           at + "/oauth2/v1/authorize",
		"token_endpoint":                                   at + "/oauth2/v1/token",
		"userinfo_endpoint":                                at + "/oauth2/v1/userinfo",
		"revocation_endpoint":                              at + "/oauth2/v1/revoke",
		"introspection_endpoint":                           at + "/oauth2/v1/introspect",
		"end_session_endpoint":                             at + "/oauth2/v1/userlogout",
		"secure_authorization_endpoint":                    base + "/oauth2/v1/authorize",
		"secure_token_endpoint":                            base + "/oauth2/v1/token",
		"secure_userinfo_endpoint":                         base + "/oauth2/v1/userinfo",
		"secure_revocation_endpoint":                       base + "/oauth2/v1/revoke",
		"secure_introspection_endpoint":                    base + "/oauth2/v1/introspect",
		"secure_end_session_endpoint":                      base + "/oauth2/v1/userlogout",
		"jwks_uri":                                         at + "/admin/v1/SigningCert/jwk",
		"secure_jwks_uri":                                  base + "/admin/v1/SigningCert/jwk",
		"scopes_supported":                                 idcsScopesSupported,
		"response_types_supported":                         []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"},
		"subject_types_supported":                          []string{"public"},
		"id_token_signing_alg_values_supported":            []string{"RS256"},
		"claims_supported":                                 []string{"aud", "exp", "iat", "iss", "jti", "sub"},
		"grant_types_supported":                            []string{GrantClientCredentials, "password", GrantRefreshToken, GrantAuthorizationCode, "urn:ietf:params:oauth:grant-type:jwt-bearer", "tls_cert_auth"},
		"token_endpoint_auth_methods_supported":            []string{"client_secret_basic", "private_key_jwt", "client_secret_post"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256"},
		"userinfo_signing_alg_values_supported":            []string{"none"},
		"ui_locales_supported":                             []string{"en"},
		"claims_parameter_supported":                       false,
		"http_logout_supported":                            true,
		"logout_session_supported":                         false,
		"request_parameter_supported":                      false,
		"request_uri_parameter_supported":                  false,
		"require_request_uri_registration":                 false,
		"idcs_id_token":                                    "supported",
		"idcs_logout_v3":                                   "supported",
	}
	if d.ScopesSupported != nil {
		doc["scopes_supported"] = d.ScopesSupported
	}
	for k, v := range d.Extras {
		if s, ok := v.(string); ok && strings.HasPrefix(s, "/") {
			v = base + s
		}
		doc[k] = v
	}
	return doc
}

// withPort writes base with its port even when it is the scheme's
// default, as IDCS writes https://idcs-<id>.identity.oraclecloud.com:443.
func withPort(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Port() != "" {
		return base
	}
	port := "443"
	if u.Scheme == "http" {
		port = "80"
	}
	return base + ":" + port
}

// discoveryCacheControl lets clients keep the documents for an hour.
const discoveryCacheControl = "max-age=3600"

func (e *Emulator) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", discoveryCacheControl)
	writeJSON(w, http.StatusOK, e.openIDConfiguration(baseURL(r)))
}

// handleIDCSConfiguration is IDCS's own discovery document, in the shape
// of Oracle's example (testdata/idcs/idcs-configuration.json): version
// information, the access endpoints, and the OpenID configuration nested
// under "openid-configuration". Oracle's example writes paths; the
// emulator writes absolute URLs, which mean the same on the domain.
func (e *Emulator) handleIDCSConfiguration(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	if iss := e.discoveryShape().Issuer; iss != "" && iss != DefaultIssuer {
		http.NotFound(w, r)
		return
	}
	nested := e.openIDConfiguration(base)
	// The nested document of Oracle's example names the introspection
	// endpoint introspect_endpoint and has no secure_* twins.
	for k := range nested {
		if strings.HasPrefix(k, "secure_") || k == "idcs_id_token" || k == "idcs_logout_v3" {
			delete(nested, k)
		}
	}
	nested["introspect_endpoint"] = nested["introspection_endpoint"]
	delete(nested, "introspection_endpoint")
	w.Header().Set("Cache-Control", discoveryCacheControl)
	writeJSON(w, http.StatusOK, map[string]any{
		"configuration": map[string]string{
			"version":                 "1",
			"service_release_version": "emulator",
		},
		"access-configuration": map[string]string{
			"http_authentication_endpoint":    base + "/admin/v1/HTTPAuthenticator",
			"encryption_keys_endpoint":        base + "/admin/v1/EncryptionKeys",
			"password_authenticator_endpoint": base + "/admin/v1/PasswordAuthenticator",
			"asserter_endpoint":               base + "/admin/v1/Asserter",
		},
		"openid-configuration": nested,
	})
}

// handleOAuthServerMetadata is RFC 8414's document. No capture of a real
// domain's was found; the emulator serves the OpenID document there, as
// providers that publish both do.
func (e *Emulator) handleOAuthServerMetadata(w http.ResponseWriter, r *http.Request) {
	e.handleOpenIDConfiguration(w, r)
}
