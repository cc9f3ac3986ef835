package emulator

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startDevice asks for a device code for the public demo client.
func (v *env) startDevice() map[string]any {
	v.t.Helper()
	r := v.postForm("/oauth2/v1/device", url.Values{"client_id": {DemoPublicClientID}, "scope": {"openid " + ScopeUserMe}, "response_type": {"device_code"}}, "", "")
	if r.status != http.StatusOK {
		v.t.Fatalf("device authorization: %d %s", r.status, r.body)
	}
	return r.json(v.t)
}

func (v *env) pollDevice(deviceCode string) response {
	v.t.Helper()
	return v.postForm("/oauth2/v1/token", url.Values{"grant_type": {GrantDeviceCode}, "device_code": {deviceCode}, "client_id": {DemoPublicClientID}}, "", "")
}

var userCodeRe = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceAuthorizationAnswer(t *testing.T) {
	v := newEnv(t, Options{})
	d := v.startDevice()
	if !userCodeRe.MatchString(str(d, "user_code")) {
		t.Errorf("user_code %q, want XXXX-XXXX of RFC 8628 consonants", str(d, "user_code"))
	}
	if got := str(d, "verification_uri"); got != v.srv.URL+devicePath {
		t.Errorf("verification_uri %q", got)
	}
	if got := str(d, "verification_uri_complete"); !strings.HasPrefix(got, v.srv.URL+devicePath+"?user_code=") {
		t.Errorf("verification_uri_complete %q", got)
	}
	if d["expires_in"] != float64(600) || d["interval"] != float64(5) || len(str(d, "device_code")) < 40 {
		t.Errorf("device answer %v", d)
	}

	cases := []struct {
		name      string
		form      url.Values
		wantCode  int
		wantError string
	}{
		{"unknown client", url.Values{"client_id": {"nobody"}, "scope": {"openid"}}, 401, "invalid_client"},
		{"client without the device grant", url.Values{"client_id": {"web"}, "scope": {"openid"}, "response_type": {"device_code"}}, 400, "unauthorized_client"},
		{"unknown scope", url.Values{"client_id": {DemoPublicClientID}, "scope": {"root"}, "response_type": {"device_code"}}, 400, "invalid_scope"},
		{"no response type, which IDCS requires", url.Values{"client_id": {DemoPublicClientID}, "scope": {"openid"}}, 400, "invalid_request"},
		{"other response type", url.Values{"client_id": {DemoPublicClientID}, "scope": {"openid"}, "response_type": {"code"}}, 400, "unsupported_response_type"},
	}
	w := newEnv(t, Options{Clients: []Client{DemoPublicClient, {ID: "web", Secret: "s", GrantTypes: []string{GrantAuthorizationCode}}}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantOAuthError(t, w.postForm("/oauth2/v1/device", tc.form, "", ""), tc.wantCode, tc.wantError)
		})
	}
}

func TestDeviceFlow(t *testing.T) {
	cases := []struct {
		name string
		// act happens after the device code is issued and the interval has
		// passed; it returns the error the next poll must give ("" for tokens).
		act func(v *env, userCode string) string
	}{
		{"pending until the user acts", func(*env, string) string { return "authorization_pending" }},
		{"approved over the emulator path", func(v *env, userCode string) string {
			r := v.postJSON("/emulator/v1/device/approve", `{"user_code":"`+userCode+`","username":"`+DemoUserName+`"}`)
			if r.status != http.StatusOK {
				v.t.Fatalf("approve: %d %s", r.status, r.body)
			}
			return ""
		}},
		{"approved on the verification page", func(v *env, userCode string) string {
			page := v.get(devicePath, url.Values{"user_code": {userCode}})
			for _, id := range []string{`id="user_code"`, `id="username"`, `id="password"`, `id="approve"`, `id="deny"`} {
				if !strings.Contains(page.body, id) {
					v.t.Errorf("verification page lacks %s", id)
				}
			}
			bad := v.postForm(devicePath, url.Values{"user_code": {userCode}, "username": {DemoUserName}, "password": {"wrong"}, "action": {"approve"}}, "", "")
			if bad.status != http.StatusUnauthorized {
				v.t.Errorf("wrong password: status %d", bad.status)
			}
			// People type codes in lower case and without the dash.
			typed := strings.ToLower(strings.ReplaceAll(userCode, "-", ""))
			ok := v.postForm(devicePath, url.Values{"user_code": {typed}, "username": {DemoUserName}, "password": {DemoUserPassword}, "action": {"approve"}}, "", "")
			if ok.status != http.StatusOK {
				v.t.Fatalf("approve page: %d %s", ok.status, ok.body)
			}
			return ""
		}},
		{"denied on the verification page", func(v *env, userCode string) string {
			r := v.postForm(devicePath, url.Values{"user_code": {userCode}, "username": {DemoUserName}, "password": {DemoUserPassword}, "action": {"deny"}}, "", "")
			if r.status != http.StatusOK {
				v.t.Fatalf("deny page: %d %s", r.status, r.body)
			}
			return "access_denied"
		}},
		{"denied over the emulator path", func(v *env, userCode string) string {
			v.postJSON("/emulator/v1/device/approve", `{"user_code":"`+userCode+`","deny":true}`)
			return "access_denied"
		}},
		{"expired", func(v *env, _ string) string {
			v.clock.Advance(10 * time.Minute)
			return "expired_token"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			d := v.startDevice()
			v.clock.Advance(5 * time.Second)
			wantErr := tc.act(v, str(d, "user_code"))
			r := v.pollDevice(str(d, "device_code"))
			if wantErr != "" {
				wantOAuthError(t, r, http.StatusBadRequest, wantErr)
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("poll: %d %s", r.status, r.body)
			}
			tok := r.json(t)
			if str(tok, "refresh_token") == "" {
				t.Errorf("no refresh token")
			}
			_, idt := v.verifyJWT(str(tok, "id_token"))
			if idt["sub"] != DemoUserName {
				t.Errorf("ID token sub %v", idt["sub"])
			}
			v.clock.Advance(5 * time.Second)
			wantOAuthError(t, v.pollDevice(str(d, "device_code")), http.StatusBadRequest, "invalid_grant")
		})
	}
}

func TestDevicePollingTooFastSlowsDown(t *testing.T) {
	v := newEnv(t, Options{})
	d := v.startDevice()
	dc := str(d, "device_code")
	wantOAuthError(t, v.pollDevice(dc), http.StatusBadRequest, "slow_down")
	// The interval is now 10s (RFC 8628 3.5): 5s later is still too fast.
	v.clock.Advance(5 * time.Second)
	wantOAuthError(t, v.pollDevice(dc), http.StatusBadRequest, "slow_down")
	v.clock.Advance(15 * time.Second)
	wantOAuthError(t, v.pollDevice(dc), http.StatusBadRequest, "authorization_pending")
}

func TestDeviceCodeOfAnotherClientFails(t *testing.T) {
	v := newEnv(t, Options{})
	d := v.startDevice()
	v.clock.Advance(5 * time.Second)
	r := v.postForm("/oauth2/v1/token", url.Values{"grant_type": {GrantDeviceCode}, "device_code": {str(d, "device_code")}}, DemoConfidentialClientID, DemoConfidentialClientSecret)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
}
