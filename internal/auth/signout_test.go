package auth_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/emulator"
)

// signOutEnv is an emulator, a client of it with the redirect and
// post-logout URIs of one port registered, and a browser that keeps its
// cookies, as a person's does.
type signOutEnv struct {
	srv      *emulator.Server
	c        *auth.Client
	redirect string
	fb       *browser.FormBrowser
}

func newSignOutEnv(t *testing.T, registerPostLogout bool) *signOutEnv {
	t.Helper()
	srv := startEmulator(t, emulator.Options{})
	hc := &http.Client{Timeout: 10 * time.Second}
	md, err := (&auth.Discoverer{HTTP: hc, CacheDir: t.TempDir()}).Discover(e2eCtx(t), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	redirect := freeRedirect(t)
	if err := srv.AddRedirectURI(emulator.DemoPublicClientID, redirect); err != nil {
		t.Fatal(err)
	}
	if registerPostLogout {
		if err := srv.AddPostLogoutRedirectURI(emulator.DemoPublicClientID, strings.TrimSuffix(redirect, "/callback")+auth.PostLogoutPath); err != nil {
			t.Fatal(err)
		}
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &signOutEnv{
		srv:      srv,
		c:        &auth.Client{Metadata: md, ClientID: emulator.DemoPublicClientID, Scopes: []string{"openid", emulator.ScopeUserMe}, HTTP: hc},
		redirect: redirect,
		fb:       &browser.FormBrowser{HTTP: hc, Jar: jar, Username: emulator.DemoUser.UserName, Password: emulator.DemoUser.Password},
	}
}

// login signs in through the browser and returns the result and how many
// times the sign-in form was posted so far.
func (v *signOutEnv) login(t *testing.T) (*auth.Result, int) {
	t.Helper()
	res, err := v.c.Login(e2eCtx(t), auth.LoginOptions{RedirectURL: v.redirect, OpenBrowser: v.fb.Open, Timeout: 20 * time.Second})
	if berr := v.fb.Wait(); berr != nil {
		t.Fatalf("the browser failed: %v", berr)
	}
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return res, v.srv.Counts()["/sso/v1/user/login"]
}

func TestSignOutEndsTheBrowserSessionAndComesBack(t *testing.T) {
	v := newSignOutEnv(t, true)
	res, forms := v.login(t)
	if _, again := v.login(t); again != forms {
		t.Fatalf("the second sign-in in the same browser posted the form (%d, then %d)", forms, again)
	}

	var stderr bytes.Buffer
	var opened []string
	open := func(u string) error { opened = append(opened, u); return v.fb.Open(u) }
	err := v.c.SignOut(e2eCtx(t), auth.SignOutOptions{IDToken: res.IDToken, RedirectURL: v.redirect, OpenBrowser: open, Stderr: &stderr, Timeout: 20 * time.Second})
	if berr := v.fb.Wait(); berr != nil {
		t.Fatalf("the browser failed: %v", berr)
	}
	if err != nil {
		t.Fatalf("SignOut: %v\n%s", err, stderr.String())
	}
	if n := v.srv.BrowserSessions(); n != 0 {
		t.Errorf("%d browser sessions live after SignOut", n)
	}
	// The browser command got the loopback address, never the ID token.
	if len(opened) != 1 || !strings.HasPrefix(opened[0], "http://127.0.0.1:") || strings.Contains(opened[0], "id_token") {
		t.Errorf("the browser was opened on %q", opened)
	}
	if strings.Contains(stderr.String(), res.IDToken) || !strings.Contains(stderr.String(), opened[0]) {
		t.Errorf("stderr shows the ID token or not the address:\n%s", stderr.String())
	}
	assertPortFree(t, v.redirect)

	if _, after := v.login(t); after != forms+1 {
		t.Errorf("after SignOut the sign-in form was posted %d more times, want 1", after-forms)
	}
}

func TestSignOutRefusedByTheDomainOpensNoBrowser(t *testing.T) {
	v := newSignOutEnv(t, false)
	res, _ := v.login(t)
	opened := 0
	err := v.c.SignOut(e2eCtx(t), auth.SignOutOptions{IDToken: res.IDToken, RedirectURL: v.redirect,
		OpenBrowser: func(string) error { opened++; return nil }, Timeout: 20 * time.Second})
	var refused *auth.SignOutRefusedError
	if !errors.As(err, &refused) || refused.Status != http.StatusBadRequest {
		t.Fatalf("err = %v, want a *SignOutRefusedError with 400", err)
	}
	for _, want := range []string{"Invalid redirect URI", "is not registered", strings.TrimSuffix(v.redirect, "/callback") + "/signed-out"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), res.IDToken) || opened != 0 || v.srv.BrowserSessions() != 1 {
		t.Errorf("the error quotes the ID token, a browser opened (%d) or the session ended", opened)
	}
	assertPortFree(t, v.redirect)
}

func TestSignOutWithoutTheBrowserComingBackTimesOut(t *testing.T) {
	v := newSignOutEnv(t, true)
	res, _ := v.login(t)
	err := v.c.SignOut(e2eCtx(t), auth.SignOutOptions{IDToken: res.IDToken, RedirectURL: v.redirect,
		OpenBrowser: func(string) error { return nil }, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, auth.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	assertPortFree(t, v.redirect)

	ctx, cancel := context.WithCancel(e2eCtx(t))
	cancel()
	if err := v.c.SignOut(ctx, auth.SignOutOptions{IDToken: res.IDToken, RedirectURL: v.redirect}); !errors.Is(err, auth.ErrCancelled) {
		t.Errorf("cancelled: err = %v, want ErrCancelled", err)
	}
}

func TestSignOutWithoutAnIDTokenSendsTheBrowserToTheDomainsOwnPage(t *testing.T) {
	v := newSignOutEnv(t, true)
	var stderr bytes.Buffer
	var opened string
	err := v.c.SignOut(e2eCtx(t), auth.SignOutOptions{RedirectURL: v.redirect, Stderr: &stderr, OpenBrowser: func(u string) error { opened = u; return nil }})
	if err != nil || opened != v.c.Metadata.EndSessionEndpoint || !strings.Contains(stderr.String(), "No ID token is kept") {
		t.Errorf("err %v, opened %q, stderr %q", err, opened, stderr.String())
	}

	md := *v.c.Metadata
	md.EndSessionEndpoint = ""
	c := &auth.Client{Metadata: &md, ClientID: v.c.ClientID, HTTP: v.c.HTTP}
	if err := c.SignOut(e2eCtx(t), auth.SignOutOptions{IDToken: "x"}); !errors.Is(err, auth.ErrNoEndSession) {
		t.Errorf("no end_session_endpoint: err = %v", err)
	}
}

// assertPortFree checks the redirect URI's port is free again.
func assertPortFree(t *testing.T, redirect string) {
	t.Helper()
	u, err := url.Parse(redirect)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Errorf("port %s still taken after SignOut: %v", u.Port(), err)
		return
	}
	ln.Close()
}
