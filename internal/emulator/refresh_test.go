package emulator

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

func (v *env) refreshWith(rt string, extra url.Values) response {
	v.t.Helper()
	form := url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "client_id": {DemoPublicClientID}}
	for k, vs := range extra {
		form[k] = vs
	}
	return v.postForm("/oauth2/v1/token", form, "", "")
}

func TestRefresh(t *testing.T) {
	cases := []struct {
		name string
		// before runs between the login and the refresh; it returns the
		// refresh token to use.
		before    func(v *env, rt string) string
		extra     url.Values
		wantError string
	}{
		{name: "works and keeps the refresh token", before: func(_ *env, rt string) string { return rt }},
		{name: "narrower scope", before: func(_ *env, rt string) string { return rt }, extra: url.Values{"scope": {"openid"}}},
		{name: "wider scope", before: func(_ *env, rt string) string { return rt }, extra: url.Values{"scope": {"openid " + ScopeMyScopes}}, wantError: "invalid_scope"},
		{name: "after revocation", before: func(v *env, rt string) string {
			if r := v.postForm("/oauth2/v1/revoke", url.Values{"token": {rt}, "client_id": {DemoPublicClientID}}, "", ""); r.status != http.StatusOK {
				v.t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			return rt
		}, wantError: "invalid_grant"},
		{name: "after an admin sign-out", before: func(v *env, rt string) string { v.e.RevokeAll(); return rt }, wantError: "invalid_grant"},
		{name: "after it expired", before: func(v *env, rt string) string { v.clock.Advance(7*24*time.Hour + time.Second); return rt }, wantError: "invalid_grant"},
		{name: "after rotation replaced it", before: func(v *env, rt string) string {
			v.e.SetRotateRefreshTokens(true)
			if r := v.refreshWith(rt, nil); r.status != http.StatusOK {
				v.t.Fatalf("first refresh: %d %s", r.status, r.body)
			}
			return rt
		}, wantError: "invalid_grant"},
		{name: "unknown token", before: func(*env, string) string { return "not-a-refresh-token" }, wantError: "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			rt := tc.before(v, str(v.login(), "refresh_token"))
			r := v.refreshWith(rt, tc.extra)
			if tc.wantError != "" {
				wantOAuthError(t, r, http.StatusBadRequest, tc.wantError)
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			tok := r.json(t)
			if str(tok, "access_token") == "" || str(tok, "id_token") == "" || str(tok, "refresh_token") != rt {
				t.Errorf("refresh answer %v", tok)
			}
			if want := tc.extra.Get("scope"); want != "" && str(tok, "scope") != want {
				t.Errorf("scope %q, want %q", str(tok, "scope"), want)
			}
		})
	}
}

func TestRotationIssuesANewRefreshTokenThatWorks(t *testing.T) {
	v := newEnv(t, Options{RotateRefreshTokens: true})
	rt := str(v.login(), "refresh_token")
	r := v.refreshWith(rt, nil)
	next := str(r.json(t), "refresh_token")
	if next == "" || next == rt {
		t.Fatalf("rotation returned %q", next)
	}
	if r := v.refreshWith(next, nil); r.status != http.StatusOK {
		t.Errorf("refresh with the rotated token: %d %s", r.status, r.body)
	}
}

func TestRefreshByAnotherClientFails(t *testing.T) {
	v := newEnv(t, Options{})
	rt := str(v.login(), "refresh_token")
	r := v.postForm("/oauth2/v1/token", url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}}, DemoConfidentialClientID, DemoConfidentialClientSecret)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
}

func TestNoRefreshTokenWithoutTheRefreshGrant(t *testing.T) {
	c := DemoPublicClient
	c.GrantTypes = []string{GrantAuthorizationCode}
	v := newEnv(t, Options{Clients: []Client{c}})
	if rt := str(v.login(), "refresh_token"); rt != "" {
		t.Errorf("refresh token issued to a client without the refresh_token grant")
	}
}

func TestConcurrentRefreshes(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		name := "without rotation all succeed"
		if rotate {
			name = "with rotation exactly one succeeds"
		}
		t.Run(name, func(t *testing.T) {
			v := newEnv(t, Options{RotateRefreshTokens: rotate})
			rt := str(v.login(), "refresh_token")
			const n = 24
			var wg sync.WaitGroup
			statuses := make([]int, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					form := url.Values{"grant_type": {GrantRefreshToken}, "refresh_token": {rt}, "client_id": {DemoPublicClientID}}
					resp, err := v.client.PostForm(v.srv.URL+"/oauth2/v1/token", form)
					if err != nil {
						t.Errorf("refresh %d: %v", i, err)
						return
					}
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				}()
			}
			wg.Wait()
			ok := 0
			for _, s := range statuses {
				if s == http.StatusOK {
					ok++
				}
			}
			want := n
			if rotate {
				want = 1
			}
			if ok != want {
				t.Errorf("%d refreshes succeeded, want %d (statuses %v)", ok, want, statuses)
			}
			if got := v.e.Counts()["token:refresh_token"]; got != n {
				t.Errorf("Counts()[token:refresh_token] = %d, want %d", got, n)
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	cases := []struct {
		name      string
		scope     string
		wantError string
	}{
		{name: "a scope of the client", scope: ScopeMyScopes},
		{name: "a user scope", scope: "openid", wantError: "invalid_scope"},
		{name: "no scope", scope: "", wantError: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			r := v.postForm("/oauth2/v1/token", url.Values{"grant_type": {GrantClientCredentials}, "scope": {tc.scope}}, DemoConfidentialClientID, DemoConfidentialClientSecret)
			if tc.wantError != "" {
				wantOAuthError(t, r, http.StatusBadRequest, tc.wantError)
				return
			}
			tok := r.json(t)
			if str(tok, "refresh_token") != "" || str(tok, "id_token") != "" {
				t.Errorf("client_credentials must give only an access token: %v", tok)
			}
			_, claims := v.verifyJWT(str(tok, "access_token"))
			if claims["sub"] != DemoConfidentialClientID || claims["sub_type"] != "client" || claims["user_id"] != nil {
				t.Errorf("claims %v", claims)
			}
		})
	}
}

func TestIntrospection(t *testing.T) {
	v := newEnv(t, Options{})
	tok := v.login()
	at, rt := str(tok, "access_token"), str(tok, "refresh_token")
	introspect := func(token string) map[string]any {
		r := v.postForm("/oauth2/v1/introspect", url.Values{"token": {token}}, DemoConfidentialClientID, DemoConfidentialClientSecret)
		if r.status != http.StatusOK {
			t.Fatalf("introspect: %d %s", r.status, r.body)
		}
		return r.json(t)
	}
	if m := introspect(at); m["active"] != true || m["username"] != DemoUserName || m["client_id"] != DemoPublicClientID || m["token_type"] != "Bearer" {
		t.Errorf("access token introspection %v", m)
	}
	if m := introspect(rt); m["active"] != true || m["token_type"] != "refresh_token" {
		t.Errorf("refresh token introspection %v", m)
	}
	if m := introspect("garbage"); m["active"] != false || len(m) != 1 {
		t.Errorf("unknown token introspection %v, want only active=false", m)
	}
	v.clock.Advance(time.Hour)
	if m := introspect(at); m["active"] != false {
		t.Errorf("expired access token is active: %v", m)
	}
	pub := v.postForm("/oauth2/v1/introspect", url.Values{"token": {at}, "client_id": {DemoPublicClientID}}, "", "")
	wantOAuthError(t, pub, http.StatusUnauthorized, "invalid_client")
}

func TestRevocation(t *testing.T) {
	cases := []struct {
		name string
		// token picks what to revoke from the login's tokens.
		token      func(tok map[string]any) string
		user, pass string
		wantStatus int
		// wantATWorks and wantRTWorks are the state after revocation.
		wantATWorks, wantRTWorks bool
	}{
		{name: "refresh token takes its access tokens", token: func(m map[string]any) string { return str(m, "refresh_token") }, wantStatus: 200},
		{name: "access token alone", token: func(m map[string]any) string { return str(m, "access_token") }, wantStatus: 200, wantRTWorks: true},
		{name: "unknown token is fine", token: func(map[string]any) string { return "unknown" }, wantStatus: 200, wantATWorks: true, wantRTWorks: true},
		{name: "another client's token is refused", token: func(m map[string]any) string { return str(m, "refresh_token") },
			user: DemoConfidentialClientID, pass: DemoConfidentialClientSecret, wantStatus: 400, wantATWorks: true, wantRTWorks: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			tok := v.login()
			form := url.Values{"token": {tc.token(tok)}}
			if tc.user == "" {
				form.Set("client_id", DemoPublicClientID)
			}
			if r := v.postForm("/oauth2/v1/revoke", form, tc.user, tc.pass); r.status != tc.wantStatus {
				t.Fatalf("revoke: status %d, want %d: %s", r.status, tc.wantStatus, r.body)
			}
			if works := v.getBearer("/oauth2/v1/userinfo", str(tok, "access_token")).status == http.StatusOK; works != tc.wantATWorks {
				t.Errorf("access token works = %v, want %v", works, tc.wantATWorks)
			}
			if works := v.refreshWith(str(tok, "refresh_token"), nil).status == http.StatusOK; works != tc.wantRTWorks {
				t.Errorf("refresh token works = %v, want %v", works, tc.wantRTWorks)
			}
		})
	}
}
