package emulator

import (
	"net/http"
)

// openIDConfiguration is the discovery document. Endpoints are built from
// the URL the request reached; issuer stays the configured one, the
// mismatch IDCS really has. Only what the emulator implements is
// advertised: it is strict, so it does not claim "plain" PKCE, implicit
// response types or grants it refuses.
func (e *Emulator) openIDConfiguration(base string) map[string]any {
	return map[string]any{
		"issuer":                                        e.issuer,
		"authorization_endpoint":                        base + "/oauth2/v1/authorize",
		"token_endpoint":                                base + "/oauth2/v1/token",
		"userinfo_endpoint":                             base + "/oauth2/v1/userinfo",
		"revocation_endpoint":                           base + "/oauth2/v1/revoke",
		"introspection_endpoint":                        base + "/oauth2/v1/introspect",
		"introspect_endpoint":                           base + "/oauth2/v1/introspect",
		"end_session_endpoint":                          base + "/oauth2/v1/userlogout",
		"jwks_uri":                                      base + "/admin/v1/SigningCert/jwk",
		"device_authorization_endpoint":                 base + "/oauth2/v1/device",
		"scopes_supported":                              userScopes,
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         []string{GrantClientCredentials, GrantRefreshToken, GrantAuthorizationCode, GrantDeviceCode},
		"code_challenge_methods_supported":              []string{"S256"},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"id_token_signing_alg_values_supported":         []string{"RS256"},
		"userinfo_signing_alg_values_supported":         []string{"none"},
		"subject_types_supported":                       []string{"public"},
		"claims_supported": []string{
			"aud", "exp", "iat", "iss", "jti", "sub", "auth_time", "nonce", "at_hash", "azp", "amr",
			"name", "given_name", "family_name", "preferred_username", "email", "email_verified", "groups",
			"zoneinfo", "locale", "user_id", "user_displayname", "tok_type", "sub_type", "client_id",
		},
		"claims_parameter_supported":       false,
		"request_parameter_supported":      false,
		"request_uri_parameter_supported":  false,
		"require_request_uri_registration": false,
		"http_logout_supported":            true,
		"logout_session_supported":         false,
		"ui_locales_supported":             []string{"en"},
	}
}

// discoveryCacheControl lets clients keep the documents for an hour.
const discoveryCacheControl = "max-age=3600"

func (e *Emulator) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", discoveryCacheControl)
	writeJSON(w, http.StatusOK, e.openIDConfiguration(baseURL(r)))
}

// handleIDCSConfiguration is IDCS's own discovery document: version
// information, the access endpoints, and the OpenID configuration nested
// under "openid-configuration" ("Retrieve IDCS Discovery Doc").
func (e *Emulator) handleIDCSConfiguration(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
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
		"openid-configuration": e.openIDConfiguration(base),
	})
}
