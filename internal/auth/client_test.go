package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// signIn runs a whole Login against p and returns its result.
func signIn(t *testing.T, p *testProvider) *Result {
	t.Helper()
	b := newFakeBrowser()
	res, err := p.client().Login(testCtx(t), LoginOptions{OpenBrowser: b.open})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	<-b.visits
	return res
}

func TestRefresh(t *testing.T) {
	tests := []struct {
		name        string
		rotate      bool
		noIDToken   bool
		wantRefresh bool
		wantClaims  bool
	}{
		{"rotated refresh token and new ID token", true, false, true, true},
		{"no new refresh token: keep none", false, false, false, true},
		{"no ID token: no claims", true, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			first := signIn(t, p)
			p.set(func(p *testProvider) { p.noRefreshRotate = !tt.rotate; p.noIDToken = tt.noIDToken })
			res, err := p.client().Refresh(testCtx(t), first.RefreshToken)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if res.AccessToken == "" || res.AccessToken == first.AccessToken {
				t.Errorf("no new access token")
			}
			if got := res.RefreshToken != ""; got != tt.wantRefresh {
				t.Errorf("refresh token present = %v, want %v", got, tt.wantRefresh)
			}
			if res.RefreshToken == first.RefreshToken {
				t.Error("the old refresh token came back as if it were new")
			}
			if got := res.Claims != nil; got != tt.wantClaims {
				t.Errorf("claims present = %v, want %v", got, tt.wantClaims)
			}
		})
	}
}

func TestRefreshVerifiesTheNewIDToken(t *testing.T) {
	p := newTestProvider(t)
	first := signIn(t, p)
	p.set(func(p *testProvider) { p.tamper = func(c map[string]any) { c["aud"] = "someone-else" } })
	_, err := p.client().Refresh(testCtx(t), first.RefreshToken)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Reason != ReasonAudience {
		t.Fatalf("err = %v, want an audience failure", err)
	}
}

func TestRefreshWithARevokedTokenIsInvalidGrant(t *testing.T) {
	p := newTestProvider(t)
	_, err := p.client().Refresh(testCtx(t), "rt-unknown")
	if !IsInvalidGrant(err) {
		t.Fatalf("err = %v, want invalid_grant", err)
	}
	if strings.Contains(err.Error(), "rt-unknown") {
		t.Error("the error shows the refresh token")
	}
}

func TestClientCredentials(t *testing.T) {
	p := newTestProvider(t)
	p.set(func(p *testProvider) { p.Secret = "s3cr3t"; p.noIDToken = true })
	res, err := p.client().ClientCredentials(testCtx(t))
	if err != nil {
		t.Fatalf("ClientCredentials: %v", err)
	}
	if res.AccessToken == "" || res.Claims != nil || res.RefreshToken != "" {
		t.Errorf("result = %+v", res)
	}
	if !strings.HasPrefix(p.tokenAuth[0], "Basic ") {
		t.Errorf("Authorization = %q, want HTTP Basic", p.tokenAuth[0])
	}

	if got := p.tokenRequest(0).Get("scope"); got != strings.Join(p.client().Scopes, " ") {
		t.Errorf("scope = %q, want the client's scopes", got)
	}
	if _, err := p.client().ClientCredentials(testCtx(t), "urn:opc:idm:__myscopes__"); err != nil {
		t.Fatalf("ClientCredentials with scopes: %v", err)
	}
	if got := p.tokenRequest(1).Get("scope"); got != "urn:opc:idm:__myscopes__" {
		t.Errorf("scope = %q, want the scopes given, which replace the client's", got)
	}

	public := p.client()
	public.ClientSecret = ""
	if _, err := public.ClientCredentials(testCtx(t)); err == nil {
		t.Error("a public client got client credentials")
	}
}

func TestTokenEndpointFailuresAreClearAndKeepSecrets(t *testing.T) {
	const secretish = "tok-SECRET-in-body"
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   string
	}{
		{"provider error", 400, "application/json", `{"error":"invalid_grant","error_description":"Code expired"}`, "invalid_grant: Code expired"},
		{"HTML 502", 502, "text/html", "<html>Bad gateway " + secretish + "</html>", "answered 502 with text/html, not JSON"},
		{"HTML 200", 200, "text/html; charset=utf-8", "<html>Welcome " + secretish + "</html>", "answered 200 with text/html, not JSON"},
		{"truncated JSON", 200, "application/json", `{"access_token":"` + secretish, "answered 200 with a body that is not valid JSON"},
		{"no access token", 200, "application/json", `{"token_type":"Bearer","note":"` + secretish + `"}`, "without an access token"},
		{"JSON 500 without error code", 500, "application/json", `{"message":"` + secretish + `"}`, "answered 500 without an OAuth error code"},
		{"form-encoded error", 400, "application/x-www-form-urlencoded", "error=invalid_client&error_description=" + secretish, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			p.set(func(p *testProvider) {
				p.tokenOverride = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", tt.ctype)
					w.WriteHeader(tt.status)
					fmt.Fprint(w, tt.body)
				}
			})
			_, err := p.client().Refresh(testCtx(t), "rt-some-refresh-token")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
			if tt.name != "form-encoded error" && strings.Contains(err.Error(), secretish) {
				t.Errorf("the error quotes the body: %v", err)
			}
			if strings.Contains(err.Error(), "rt-some-refresh-token") {
				t.Error("the error shows the refresh token")
			}
		})
	}
}

func TestProviderErrorMessageIsPrintable(t *testing.T) {
	err := &ProviderError{Code: "invalid_grant", Description: "bad\x1b[31m red\ttoken\n" + strings.Repeat("x", 500), Endpoint: "token"}
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\t\n") {
		t.Errorf("control characters reach the terminal: %q", msg)
	}
	if len(msg) > 500 {
		t.Errorf("message is %d bytes long; the description should be cut", len(msg))
	}
	if !strings.Contains(msg, "invalid_grant") || !strings.Contains(msg, "sign in again") {
		t.Errorf("message %q lacks the code or the hint", msg)
	}
}

func TestUserInfo(t *testing.T) {
	p := newTestProvider(t)
	res := signIn(t, p)
	c := p.client()
	claims, err := c.UserInfo(testCtx(t), res.AccessToken)
	if err != nil || claims["sub"] != "user@example.com" {
		t.Fatalf("UserInfo = %v, %v", claims, err)
	}
	_, err = c.UserInfo(testCtx(t), "at-revoked")
	var tre *TokenRejectedError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &tre) || tre.Code != "invalid_token" {
		t.Fatalf("err = %v, want a rejected token", err)
	}
	if strings.Contains(err.Error(), "at-revoked") {
		t.Error("the error shows the access token")
	}
}

func TestRevoke(t *testing.T) {
	p := newTestProvider(t)
	res := signIn(t, p)
	c := p.client()
	if err := c.Revoke(testCtx(t), res.RefreshToken, "refresh_token"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if got := p.revoked[0]; got.Get("token_type_hint") != "refresh_token" || got.Get("client_id") != p.ClientID {
		t.Errorf("revocation form = %v", got)
	}
	if _, err := c.Refresh(testCtx(t), res.RefreshToken); !IsInvalidGrant(err) {
		t.Errorf("refresh after revoke: %v, want invalid_grant", err)
	}

	c.Metadata.RevocationEndpoint = ""
	if err := c.Revoke(testCtx(t), "x", ""); !errors.Is(err, ErrNoRevocation) {
		t.Errorf("err = %v, want ErrNoRevocation", err)
	}

	wrong := p.client()
	wrong.ClientID = "cli-other"
	var pe *ProviderError
	if err := wrong.Revoke(testCtx(t), "x", ""); !errors.As(err, &pe) || pe.Code != "invalid_client" || pe.Endpoint != "revocation" {
		t.Errorf("err = %v, want the provider's invalid_client", err)
	}
}

// fakeSleep replaces the device poll's wait: it records each interval and
// moves the provider's clock instead of waiting.
func fakeSleep(p *testProvider, waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		*waits = append(*waits, d)
		p.clock.Advance(d)
		return nil
	}
}

func TestDeviceLogin(t *testing.T) {
	tests := []struct {
		name      string
		polls     []string
		timeout   time.Duration
		wantWaits []time.Duration
		wantErr   error
		wantCode  string
	}{
		{name: "pending then slow_down then success", polls: []string{"authorization_pending", "slow_down", "authorization_pending"},
			wantWaits: []time.Duration{time.Second, time.Second, 6 * time.Second, 6 * time.Second}},
		{name: "access_denied ends with the provider's error", polls: []string{"authorization_pending", "access_denied"},
			wantWaits: []time.Duration{time.Second, time.Second}, wantCode: "access_denied"},
		{name: "expired_token is a timeout", polls: []string{"expired_token"},
			wantWaits: []time.Duration{time.Second}, wantErr: ErrTimeout},
		{name: "expires_in ends the polling", polls: repeat("authorization_pending", 100),
			wantErr: ErrTimeout},
		{name: "options timeout ends it sooner", polls: repeat("authorization_pending", 100), timeout: 3 * time.Second,
			wantWaits: []time.Duration{time.Second, time.Second, time.Second}, wantErr: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			p.set(func(p *testProvider) { p.devicePolls = tt.polls })
			c := p.client()
			var waits []time.Duration
			c.sleep = fakeSleep(p, &waits)
			var stderr bytes.Buffer
			var opened string
			res, err := c.DeviceLogin(testCtx(t), DeviceOptions{Stderr: &stderr, Timeout: tt.timeout, OpenBrowser: func(u string) error { opened = u; return nil }})

			if !strings.Contains(stderr.String(), "WDJB-MJHT") || !strings.Contains(stderr.String(), p.URL+"/device") {
				t.Errorf("stderr = %q, want the URL and the user code", stderr.String())
			}
			if opened != p.URL+"/device?user_code=WDJB-MJHT" {
				t.Errorf("opened %q, want the complete verification URI", opened)
			}
			if tt.wantWaits != nil && fmt.Sprint(waits) != fmt.Sprint(tt.wantWaits) {
				t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
			}
			if slowed := strings.Contains(stderr.String(), "poll more slowly; asking every 6s now"); slowed != slices.Contains(tt.polls, "slow_down") {
				t.Errorf("stderr = %q: a slow_down must be reported, and only then", stderr.String())
			}
			var pe *ProviderError
			switch {
			case tt.wantCode != "":
				if !errors.As(err, &pe) || pe.Code != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil || res.Claims == nil || res.RefreshToken == "" {
					t.Fatalf("DeviceLogin = %+v, %v", res, err)
				}
				form := p.tokenRequest(len(tt.polls))
				if form.Get("grant_type") != deviceCodeGrant || !strings.HasPrefix(form.Get("device_code"), "dc-") || form.Get("client_id") != p.ClientID {
					t.Errorf("poll form = %v", form)
				}
				if strings.Contains(stderr.String(), form.Get("device_code")) {
					t.Error("stderr shows the device code")
				}
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestDeviceLoginCancelled(t *testing.T) {
	p := newTestProvider(t)
	p.set(func(p *testProvider) { p.devicePolls = repeat("authorization_pending", 100) })
	c := p.client()
	ctx, cancel := context.WithCancel(testCtx(t))
	polls := 0
	c.sleep = func(ctx context.Context, d time.Duration) error {
		if polls++; polls == 3 {
			cancel()
		}
		return ctx.Err()
	}
	if _, err := c.DeviceLogin(ctx, DeviceOptions{}); !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled", err)
	}
}

func TestDeviceLoginWithoutEndpoint(t *testing.T) {
	p := newTestProvider(t)
	c := p.client()
	c.Metadata.DeviceAuthorizationEndpoint = ""
	if _, err := c.DeviceLogin(testCtx(t), DeviceOptions{}); err == nil {
		t.Fatal("want an error")
	}
}
