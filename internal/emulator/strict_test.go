package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAuthorizeRefusesBadRequests(t *testing.T) {
	_, challenge := pkcePair()
	cases := []struct {
		name string
		edit func(q url.Values)
		// wantPage: an error page and no redirect; wantDoc: IDCS's OAuth
		// error document and no redirect; else the redirect's error.
		wantPage  bool
		wantDoc   string
		wantError string
	}{
		{name: "unknown client", edit: func(q url.Values) { q.Set("client_id", "nobody") }, wantPage: true},
		{name: "missing client id", edit: func(q url.Values) { q.Del("client_id") }, wantPage: true},
		{name: "redirect uri on another port", edit: func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:8766/callback") }, wantDoc: "invalid_redirect_uri"},
		{name: "redirect uri with another path", edit: func(q url.Values) { q.Set("redirect_uri", testRedirect+"/x") }, wantDoc: "invalid_redirect_uri"},
		{name: "missing redirect uri", edit: func(q url.Values) { q.Del("redirect_uri") }, wantPage: true},
		{name: "repeated client id", edit: func(q url.Values) { q.Add("client_id", DemoPublicClientID) }, wantPage: true},
		{name: "plain PKCE", edit: func(q url.Values) { q.Set("code_challenge_method", "plain") }, wantError: "invalid_request"},
		{name: "challenge without method means plain", edit: func(q url.Values) { q.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "public client without challenge", edit: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, wantError: "invalid_request"},
		{name: "malformed challenge", edit: func(q url.Values) { q.Set("code_challenge", "short") }, wantError: "invalid_request"},
		{name: "implicit response type", edit: func(q url.Values) { q.Set("response_type", "token") }, wantError: "unsupported_response_type"},
		{name: "missing response type", edit: func(q url.Values) { q.Del("response_type") }, wantError: "invalid_request"},
		{name: "unknown scope", edit: func(q url.Values) { q.Set("scope", "openid admin:everything") }, wantError: "invalid_scope"},
		{name: "missing scope", edit: func(q url.Values) { q.Del("scope") }, wantError: "invalid_request"},
		{name: "repeated parameter", edit: func(q url.Values) { q.Add("scope", "openid") }, wantError: "invalid_request"},
		{name: "prompt none without a session", edit: func(q url.Values) { q.Set("prompt", "none") }, wantError: "login_required"},
		{name: "unknown prompt", edit: func(q url.Values) { q.Set("prompt", "again") }, wantError: "invalid_request"},
		{name: "prompt none with another value", edit: func(q url.Values) { q.Set("prompt", "none login") }, wantError: "invalid_request"},
		{name: "request object", edit: func(q url.Values) { q.Set("request", "eyJ") }, wantError: "request_not_supported"},
	}
	v := newEnv(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := authParams(challenge)
			tc.edit(q)
			r := v.get("/oauth2/v1/authorize", q)
			if tc.wantDoc != "" {
				if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
					t.Fatalf("want a 400 answer and no redirect, got %d Location %q", r.status, r.header.Get("Location"))
				}
				if got := str(r.json(t), "error"); got != tc.wantDoc {
					t.Errorf("error %q, want %q", got, tc.wantDoc)
				}
				return
			}
			if tc.wantPage {
				if r.status != http.StatusBadRequest || r.header.Get("Location") != "" {
					t.Fatalf("want a 400 page and no redirect, got %d Location %q", r.status, r.header.Get("Location"))
				}
				if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
					t.Errorf("Content-Type %q, want an HTML page", r.header.Get("Content-Type"))
				}
				return
			}
			if r.status != http.StatusFound {
				t.Fatalf("status %d, want a redirect: %s", r.status, r.body)
			}
			loc := r.location(t)
			if !strings.HasPrefix(loc.String(), testRedirect+"?") {
				t.Errorf("redirected to %s, not to the registered URI", loc)
			}
			got := loc.Query()
			if got.Get("error") != tc.wantError || got.Get("error_description") == "" || got.Get("state") != "state-123" {
				t.Errorf("redirect query %v, want error %s with a description and the state", got, tc.wantError)
			}
		})
	}
}

func TestAuthorizeRefusesClientsWithoutTheCodeGrant(t *testing.T) {
	v := newEnv(t, Options{Clients: []Client{{
		ID: "m2m", Secret: "s", GrantTypes: []string{GrantClientCredentials}, RedirectURIs: []string{testRedirect}, Scopes: []string{"x"},
	}}})
	q := authParams("")
	q.Set("client_id", "m2m")
	q.Del("code_challenge")
	q.Del("code_challenge_method")
	r := v.get("/oauth2/v1/authorize", q)
	if got := r.location(t).Query().Get("error"); got != "unauthorized_client" {
		t.Errorf("error %q, want unauthorized_client", got)
	}
}

func TestCodeExchangeRefusesBadRequests(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(v *env, form url.Values) (user, pass string)
		wantStatus int
		wantError  string
	}{
		{name: "wrong verifier", edit: func(_ *env, f url.Values) (string, string) {
			other, _ := pkcePair()
			f.Set("code_verifier", other)
			return "", ""
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "missing verifier", edit: func(_ *env, f url.Values) (string, string) { f.Del("code_verifier"); return "", "" }, wantStatus: 400, wantError: "invalid_request"},
		{name: "verifier with a bad character", edit: func(_ *env, f url.Values) (string, string) {
			f.Set("code_verifier", strings.Repeat("a", 42)+"!")
			return "", ""
		}, wantStatus: 400, wantError: "invalid_request"},
		{name: "other redirect uri", edit: func(_ *env, f url.Values) (string, string) {
			f.Set("redirect_uri", "http://127.0.0.1:8765/other")
			return "", ""
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "missing redirect uri", edit: func(_ *env, f url.Values) (string, string) { f.Del("redirect_uri"); return "", "" }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "expired code", edit: func(v *env, _ url.Values) (string, string) {
			v.clock.Advance(5*time.Minute + time.Second)
			return "", ""
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "code of another client", edit: func(_ *env, f url.Values) (string, string) {
			f.Del("client_id")
			return DemoConfidentialClientID, DemoConfidentialClientSecret
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown code", edit: func(_ *env, f url.Values) (string, string) { f.Set("code", "made-up"); return "", "" }, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown client", edit: func(_ *env, f url.Values) (string, string) { f.Set("client_id", "nobody"); return "", "" }, wantStatus: 401, wantError: "invalid_client"},
		{name: "secret sent by a public client", edit: func(_ *env, f url.Values) (string, string) {
			f.Set("client_secret", "guess")
			return "", ""
		}, wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown grant type", edit: func(_ *env, f url.Values) (string, string) { f.Set("grant_type", "password"); return "", "" }, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "grant the client may not use", edit: func(_ *env, f url.Values) (string, string) {
			f.Set("grant_type", GrantClientCredentials)
			return "", ""
		}, wantStatus: 400, wantError: "unauthorized_client"},
		{name: "repeated parameter", edit: func(_ *env, f url.Values) (string, string) { f.Add("code", "again"); return "", "" }, wantStatus: 400, wantError: "invalid_request"},
		{name: "missing grant type", edit: func(_ *env, f url.Values) (string, string) { f.Del("grant_type"); return "", "" }, wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			verifier, challenge := pkcePair()
			form := url.Values{
				"grant_type":    {GrantAuthorizationCode},
				"code":          {v.code(authParams(challenge))},
				"redirect_uri":  {testRedirect},
				"client_id":     {DemoPublicClientID},
				"code_verifier": {verifier},
			}
			user, pass := tc.edit(v, form)
			wantOAuthError(t, v.postForm("/oauth2/v1/token", form, user, pass), tc.wantStatus, tc.wantError)
		})
	}
}

func TestInvalidClientIsA401WithABasicChallenge(t *testing.T) {
	v := newEnv(t, Options{})
	r := v.postForm("/oauth2/v1/token", url.Values{"grant_type": {GrantClientCredentials}, "scope": {ScopeMyScopes}}, DemoConfidentialClientID, "wrong-secret")
	wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic") {
		t.Errorf("WWW-Authenticate %q, want a Basic challenge", got)
	}
	if strings.Contains(r.body, "wrong-secret") {
		t.Errorf("the error echoes the secret")
	}
}

func TestTokenEndpointWantsAForm(t *testing.T) {
	v := newEnv(t, Options{})
	r := v.postJSON("/oauth2/v1/token", `{"grant_type":"client_credentials"}`)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_request")
	if got := v.get("/oauth2/v1/token", nil); got.status != http.StatusMethodNotAllowed {
		t.Errorf("GET token: status %d, want 405", got.status)
	}
}

func TestCodeReuseFailsAndRevokesTheTokensOfTheFirstUse(t *testing.T) {
	v := newEnv(t, Options{})
	verifier, challenge := pkcePair()
	form := url.Values{
		"grant_type":    {GrantAuthorizationCode},
		"code":          {v.code(authParams(challenge))},
		"redirect_uri":  {testRedirect},
		"client_id":     {DemoPublicClientID},
		"code_verifier": {verifier},
	}
	first := v.postForm("/oauth2/v1/token", form, "", "")
	if first.status != http.StatusOK {
		t.Fatalf("first use: %d %s", first.status, first.body)
	}
	tok := first.json(t)
	if r := v.getBearer("/oauth2/v1/userinfo", str(tok, "access_token")); r.status != http.StatusOK {
		t.Fatalf("userinfo before reuse: %d", r.status)
	}
	wantOAuthError(t, v.postForm("/oauth2/v1/token", form, "", ""), http.StatusBadRequest, "invalid_grant")
	if r := v.getBearer("/oauth2/v1/userinfo", str(tok, "access_token")); r.status != http.StatusUnauthorized {
		t.Errorf("userinfo after reuse: status %d, want 401 (tokens revoked)", r.status)
	}
	r := v.postForm("/oauth2/v1/token", url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {str(tok, "refresh_token")}, "client_id": {DemoPublicClientID}}, "", "")
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
}

func TestAWrongVerifierBurnsTheCode(t *testing.T) {
	v := newEnv(t, Options{})
	verifier, challenge := pkcePair()
	wrong, _ := pkcePair()
	form := url.Values{
		"grant_type":    {GrantAuthorizationCode},
		"code":          {v.code(authParams(challenge))},
		"redirect_uri":  {testRedirect},
		"client_id":     {DemoPublicClientID},
		"code_verifier": {wrong},
	}
	wantOAuthError(t, v.postForm("/oauth2/v1/token", form, "", ""), http.StatusBadRequest, "invalid_grant")
	form.Set("code_verifier", verifier)
	wantOAuthError(t, v.postForm("/oauth2/v1/token", form, "", ""), http.StatusBadRequest, "invalid_grant")
}
