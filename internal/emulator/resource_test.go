package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tokenWithScope signs the demo user in with the given scopes and returns
// the access token.
func (v *env) tokenWithScope(scope string) string {
	v.t.Helper()
	verifier, challenge := pkcePair()
	q := authParams(challenge)
	q.Set("scope", scope)
	r := v.postForm("/oauth2/v1/token", url.Values{
		"grant_type":    {GrantAuthorizationCode},
		"code":          {v.code(q)},
		"redirect_uri":  {testRedirect},
		"client_id":     {DemoPublicClientID},
		"code_verifier": {verifier},
	}, "", "")
	if r.status != http.StatusOK {
		v.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return str(r.json(v.t), "access_token")
}

func (v *env) clientToken() string {
	v.t.Helper()
	r := v.postForm("/oauth2/v1/token", url.Values{"grant_type": {GrantClientCredentials}, "scope": {ScopeMyScopes}}, DemoConfidentialClientID, DemoConfidentialClientSecret)
	return str(r.json(v.t), "access_token")
}

func TestUserinfo(t *testing.T) {
	cases := []struct {
		name       string
		token      func(v *env) string
		wantStatus int
		// wantChallenge is the error in WWW-Authenticate, "" for none.
		wantChallenge string
		wantClaims    map[string]any
		wantAbsent    []string
	}{
		{name: "profile and email scopes", token: func(v *env) string { return v.tokenWithScope("openid profile email groups") }, wantStatus: 200,
			wantClaims: map[string]any{"sub": DemoUserName, "name": DemoUserDisplayName, "given_name": "Demo", "family_name": "User",
				"preferred_username": DemoUserName, "email": "demo.user@example.com", "email_verified": true}},
		{name: "openid alone gives only sub", token: func(v *env) string { return v.tokenWithScope("openid") }, wantStatus: 200,
			wantClaims: map[string]any{"sub": DemoUserName}, wantAbsent: []string{"name", "email", "groups"}},
		{name: "expired token", token: func(v *env) string {
			tok := v.tokenWithScope("openid")
			v.clock.Advance(time.Hour)
			return tok
		}, wantStatus: 401, wantChallenge: "invalid_token"},
		{name: "forged token", token: func(v *env) string { return v.tokenWithScope("openid") + "x" }, wantStatus: 401, wantChallenge: "invalid_token"},
		{name: "no token", token: func(*env) string { return "" }, wantStatus: 401},
		{name: "token without openid", token: func(v *env) string { return v.tokenWithScope(ScopeUserMe) }, wantStatus: 403, wantChallenge: "insufficient_scope"},
		{name: "client token", token: func(v *env) string { return v.clientToken() }, wantStatus: 403, wantChallenge: "insufficient_scope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			r := v.getBearer("/oauth2/v1/userinfo", tc.token(v))
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			challenge := r.header.Get("WWW-Authenticate")
			if tc.wantStatus >= 400 && !strings.HasPrefix(challenge, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", challenge)
			}
			if tc.wantChallenge != "" && !strings.Contains(challenge, `error="`+tc.wantChallenge+`"`) {
				t.Errorf("WWW-Authenticate %q lacks error=%q", challenge, tc.wantChallenge)
			}
			if tc.wantStatus != 200 {
				return
			}
			m := r.json(t)
			for k, want := range tc.wantClaims {
				if m[k] != want {
					t.Errorf("%s = %v, want %v", k, m[k], want)
				}
			}
			for _, k := range tc.wantAbsent {
				if _, ok := m[k]; ok {
					t.Errorf("%s present without its scope", k)
				}
			}
		})
	}
}

func TestUserinfoAcceptsPostWithAFormToken(t *testing.T) {
	v := newEnv(t, Options{})
	tok := v.tokenWithScope("openid")
	r := v.postForm("/oauth2/v1/userinfo", url.Values{"access_token": {tok}}, "", "")
	if r.status != http.StatusOK || str(r.json(t), "sub") != DemoUserName {
		t.Errorf("status %d: %s", r.status, r.body)
	}
}

func TestMe(t *testing.T) {
	cases := []struct {
		name        string
		token       func(v *env) string
		wantStatus  int
		wantMessage string
	}{
		{name: "user.me scope", token: func(v *env) string { return v.tokenWithScope("openid " + ScopeUserMe) }, wantStatus: 200},
		{name: "myscopes scope", token: func(v *env) string { return v.tokenWithScope(ScopeMyScopes) }, wantStatus: 200},
		{name: "wrong scope", token: func(v *env) string { return v.tokenWithScope("openid profile") }, wantStatus: 403, wantMessage: "insufficientScope"},
		{name: "expired token", token: func(v *env) string {
			tok := v.tokenWithScope(ScopeUserMe)
			v.clock.Advance(2 * time.Hour)
			return tok
		}, wantStatus: 401, wantMessage: "invalidToken"},
		{name: "no token", token: func(*env) string { return "" }, wantStatus: 401, wantMessage: "invalidToken"},
		{name: "client token", token: func(v *env) string { return v.clientToken() }, wantStatus: 403, wantMessage: "insufficientScope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			r := v.getBearer("/admin/v1/Me", tc.token(v))
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
				t.Errorf("Content-Type %q, want SCIM JSON", ct)
			}
			m := r.json(t)
			if tc.wantStatus != 200 {
				schemas, _ := m["schemas"].([]any)
				if len(schemas) == 0 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || m["status"] != fmt.Sprint(tc.wantStatus) || str(m, "detail") == "" {
					t.Errorf("not a SCIM error: %v", m)
				}
				if !strings.Contains(r.body, tc.wantMessage) {
					t.Errorf("no IDCS message id %q: %s", tc.wantMessage, r.body)
				}
				return
			}
			if m["id"] != DemoUserID || m["userName"] != DemoUserName || m["displayName"] != DemoUserDisplayName || m["active"] != true {
				t.Errorf("user %v", m)
			}
			name, _ := m["name"].(map[string]any)
			meta, _ := m["meta"].(map[string]any)
			groups, _ := m["groups"].([]any)
			emails, _ := m["emails"].([]any)
			if name["givenName"] != "Demo" || name["familyName"] != "User" || name["formatted"] != "Demo User" {
				t.Errorf("name %v", name)
			}
			if meta["resourceType"] != "User" || meta["location"] != v.srv.URL+"/admin/v1/Users/"+DemoUserID {
				t.Errorf("meta %v", meta)
			}
			if len(groups) != 2 || groups[0].(map[string]any)["display"] != "IDCSAppUsers" {
				t.Errorf("groups %v", groups)
			}
			if len(emails) == 0 || emails[0].(map[string]any)["primary"] != true {
				t.Errorf("emails %v", emails)
			}
			if _, ok := m["urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User"]; !ok {
				t.Errorf("no IDCS user extension")
			}
		})
	}
}

func TestUsersPages(t *testing.T) {
	v := newEnv(t, Options{})
	tok := v.tokenWithScope(ScopeMyScopes)
	const total = 1 + syntheticUsers
	seen := map[string]bool{}
	for start := 1; start <= total; start += 10 {
		r := v.getBearer(fmt.Sprintf("/admin/v1/Users?startIndex=%d&count=10", start), tok)
		if r.status != http.StatusOK {
			t.Fatalf("page %d: %d %s", start, r.status, r.body)
		}
		m := r.json(t)
		res, _ := m["Resources"].([]any)
		want := min(10, total-start+1)
		if m["totalResults"] != float64(total) || m["startIndex"] != float64(start) || m["itemsPerPage"] != float64(want) || len(res) != want {
			t.Fatalf("page %d: totalResults %v startIndex %v itemsPerPage %v resources %d", start, m["totalResults"], m["startIndex"], m["itemsPerPage"], len(res))
		}
		for _, x := range res {
			seen[x.(map[string]any)["id"].(string)] = true
		}
	}
	if len(seen) != total {
		t.Errorf("pages listed %d distinct users, want %d", len(seen), total)
	}
	if m := v.getBearer("/admin/v1/Users", tok).json(t); m["itemsPerPage"] != float64(total) {
		t.Errorf("default page holds %v users, want all %d (IDCS's default count is 50)", m["itemsPerPage"], total)
	}
	if r := v.getBearer("/admin/v1/Users/"+DemoUserID, tok); r.status != http.StatusOK || str(r.json(t), "userName") != DemoUserName {
		t.Errorf("one user: %d %s", r.status, r.body)
	}

	cases := []struct {
		name       string
		path       string
		token      string
		wantStatus int
	}{
		{"no token", "/admin/v1/Users", "", 401},
		{"user.me scope only", "/admin/v1/Users", v.tokenWithScope(ScopeUserMe), 403},
		{"bad count", "/admin/v1/Users?count=ten", tok, 400},
		{"unknown user", "/admin/v1/Users/nobody", tok, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := v.getBearer(tc.path, tc.token)
			if r.status != tc.wantStatus || !strings.Contains(r.body, "urn:ietf:params:scim:api:messages:2.0:Error") {
				t.Errorf("status %d, want %d with a SCIM error: %s", r.status, tc.wantStatus, r.body)
			}
		})
	}
}
