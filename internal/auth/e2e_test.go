package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// startEmulator runs the IDCS emulator on 127.0.0.1 for one test.
func startEmulator(t *testing.T, opts emulator.Options) *emulator.Server {
	t.Helper()
	srv, err := emulator.Start(opts, "")
	if err != nil {
		t.Fatalf("start the emulator: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// freeRedirect picks a port for a redirect URI the emulator must know in
// advance, since IDCS matches redirect URIs exactly, port included.
func freeRedirect(t *testing.T) string {
	t.Helper()
	return fmt.Sprintf("http://127.0.0.1:%d/callback", testnet.Port(t))
}

// publicLoginClient discovers srv and registers a fresh redirect URI for
// the demo public client, returning that client and the redirect.
func publicLoginClient(t *testing.T, srv *emulator.Server) (*auth.Client, string) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second}
	md, err := (&auth.Discoverer{HTTP: hc}).Discover(e2eCtx(t), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	redirect := freeRedirect(t)
	if err := srv.AddRedirectURI(emulator.DemoPublicClientID, redirect); err != nil {
		t.Fatal(err)
	}
	return &auth.Client{Metadata: md, ClientID: emulator.DemoPublicClientID, HTTP: hc}, redirect
}

func e2eCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestEndToEndAgainstTheEmulator walks the life of a sign-in against the
// IDCS emulator: discovery (whose issuer is not the domain URL), Login
// through the emulator's own sign-in page with the stand-in browser,
// Refresh, UserInfo, Revoke, and a refresh that the revocation refuses.
func TestEndToEndAgainstTheEmulator(t *testing.T) {
	tests := []struct {
		name     string
		clientID string
		secret   string
	}{
		{"public client", emulator.DemoPublicClientID, ""},
		{"confidential client", emulator.DemoConfidentialClientID, emulator.DemoConfidentialClientSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startEmulator(t, emulator.Options{})
			ctx := e2eCtx(t)
			hc := &http.Client{Timeout: 10 * time.Second}

			md, err := (&auth.Discoverer{HTTP: hc, CacheDir: t.TempDir()}).Discover(ctx, srv.URL)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			if md.Issuer == srv.URL || md.Issuer == srv.URL+"/" {
				t.Fatalf("the emulator declares its own URL as issuer (%s); the IDCS mismatch is not exercised", md.Issuer)
			}

			redirect := freeRedirect(t)
			if err := srv.AddRedirectURI(tt.clientID, redirect); err != nil {
				t.Fatal(err)
			}
			c := &auth.Client{Metadata: md, ClientID: tt.clientID, ClientSecret: tt.secret, Scopes: []string{emulator.ScopeUserMe, "openid"}, HTTP: hc}

			loginCtx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			fb := &browser.FormBrowser{HTTP: hc, Username: emulator.DemoUser.UserName, Password: emulator.DemoUser.Password}
			fb.Done = func(err error) {
				if err != nil {
					cancel(err)
				}
			}
			var stderr bytes.Buffer
			res, err := c.Login(loginCtx, auth.LoginOptions{RedirectURL: redirect, OpenBrowser: fb.Open, Stderr: &stderr})
			if berr := fb.Wait(); berr != nil {
				t.Fatalf("the stand-in browser failed: %v", berr)
			}
			if err != nil {
				t.Fatalf("Login: %v", err)
			}
			if res.Claims == nil || res.Claims.Subject != emulator.DemoUser.UserName || res.Claims.UserDisplayName != emulator.DemoUser.DisplayName || res.Claims.Issuer != md.Issuer {
				t.Fatalf("claims = %+v", res.Claims)
			}
			if res.RefreshToken == "" || res.AccessToken == "" {
				t.Fatalf("tokens missing: access %v, refresh %v", res.AccessToken != "", res.RefreshToken != "")
			}

			refreshed, err := c.Refresh(ctx, res.RefreshToken)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if refreshed.AccessToken == res.AccessToken {
				t.Error("the refresh returned the same access token")
			}
			refresh := res.RefreshToken
			if refreshed.RefreshToken != "" {
				refresh = refreshed.RefreshToken
			}

			info, err := c.UserInfo(ctx, refreshed.AccessToken)
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			if info["sub"] != emulator.DemoUser.UserName {
				t.Errorf("userinfo sub = %v", info["sub"])
			}

			if err := c.Revoke(ctx, refresh, "refresh_token"); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if _, err := c.Refresh(ctx, refresh); !auth.IsInvalidGrant(err) {
				t.Errorf("refresh after revoke: %v, want invalid_grant", err)
			}
			if strings.Contains(stderr.String(), refresh) {
				t.Error("stderr shows a token")
			}
		})
	}
}

func TestEndToEndWrongPasswordStopsLoginEarly(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	ctx := e2eCtx(t)
	c, redirect := publicLoginClient(t, srv)
	loginCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fb := &browser.FormBrowser{HTTP: c.HTTP, Username: emulator.DemoUser.UserName, Password: "not-the-password"}
	fb.Done = func(err error) {
		if err != nil {
			cancel(err)
		}
	}
	_, err := c.Login(loginCtx, auth.LoginOptions{RedirectURL: redirect, OpenBrowser: fb.Open})
	if !errors.Is(err, auth.ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled caused by the browser", err)
	}
	if berr := fb.Wait(); berr == nil || !strings.Contains(berr.Error(), "refused") {
		t.Errorf("browser error = %v", berr)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Error("the error shows the password")
	}
}

// TestEndToEndLoginRefusesAnIDTokenWithAnotherNonce: Login must check the ID
// token against the nonce its own authorization request sent, not only the
// signature and claims the verifier checks on any token.
func TestEndToEndLoginRefusesAnIDTokenWithAnotherNonce(t *testing.T) {
	srv := startEmulator(t, emulator.Options{})
	srv.SetWrongNonce(true)
	ctx := e2eCtx(t)
	c, redirect := publicLoginClient(t, srv)
	fb := &browser.FormBrowser{HTTP: c.HTTP, Username: emulator.DemoUser.UserName, Password: emulator.DemoUser.Password}
	res, err := c.Login(ctx, auth.LoginOptions{RedirectURL: redirect, OpenBrowser: fb.Open})
	if berr := fb.Wait(); berr != nil {
		t.Fatalf("the stand-in browser failed: %v", berr)
	}
	var verr *auth.VerifyError
	if !errors.As(err, &verr) || verr.Reason != auth.ReasonNonce {
		t.Fatalf("Login with an ID token of another nonce = %v, %v; want a VerifyError for the nonce", res, err)
	}
	if res != nil {
		t.Error("Login returned tokens along with the nonce error")
	}
}

func TestEndToEndDeviceLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("polls the emulator in real time (about a second)")
	}
	srv := startEmulator(t, emulator.Options{DeviceInterval: time.Second})
	ctx := e2eCtx(t)
	hc := &http.Client{Timeout: 10 * time.Second}
	md, err := (&auth.Discoverer{HTTP: hc}).Discover(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Like a real domain, the emulator names no device endpoint in
	// discovery: the client finds it at <domain>/oauth2/v1/device.
	if md.DeviceAuthorizationEndpoint != "" {
		t.Fatalf("the emulator advertises %s, which IDCS does not", md.DeviceAuthorizationEndpoint)
	}
	c := &auth.Client{Metadata: md, ClientID: emulator.DemoPublicClientID, Scopes: []string{emulator.ScopeUserMe}, HTTP: hc, Domain: srv.URL}
	fb := &browser.FormBrowser{HTTP: hc, Username: emulator.DemoUser.UserName, Password: emulator.DemoUser.Password}
	var stderr bytes.Buffer
	res, err := c.DeviceLogin(ctx, auth.DeviceOptions{Stderr: &stderr, OpenBrowser: fb.Open, Timeout: 30 * time.Second})
	if berr := fb.Wait(); berr != nil {
		t.Fatalf("the stand-in browser failed: %v", berr)
	}
	if err != nil {
		t.Fatalf("DeviceLogin: %v\n%s", err, stderr.String())
	}
	if res.Claims == nil || res.Claims.Subject != emulator.DemoUser.UserName {
		t.Errorf("claims = %+v", res.Claims)
	}
}
