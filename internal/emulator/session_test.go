package emulator

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// browserEnv is newEnv whose client keeps cookies, as one browser does.
func browserEnv(t *testing.T) *env {
	t.Helper()
	v := newEnv(t, Options{})
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	v.client.Jar = jar
	if err := v.e.AddPostLogoutRedirectURI(DemoPublicClientID, "http://127.0.0.1:8765/signed-out"); err != nil {
		t.Fatal(err)
	}
	return v
}

// authorizeOnce sends an authorization request with extra parameters and
// says whether the sign-in form came back, or else the redirect's query.
func (v *env) authorizeOnce(extra url.Values) (form bool, redirect url.Values) {
	v.t.Helper()
	_, challenge := pkcePair()
	q := authParams(challenge)
	for k, vs := range extra {
		q[k] = vs
	}
	r := v.get("/oauth2/v1/authorize", q)
	switch r.status {
	case http.StatusOK:
		signInForm(v.t, r)
		return true, nil
	case http.StatusFound:
		return false, r.location(v.t).Query()
	}
	v.t.Fatalf("authorize answered %d: %s", r.status, r.body)
	return false, nil
}

func TestBrowserSessionSkipsTheFormUntilUserLogout(t *testing.T) {
	v := browserEnv(t)
	if form, _ := v.authorizeOnce(nil); !form {
		t.Fatal("a browser that never signed in got no sign-in form")
	}
	if _, got := v.authorizeOnce(url.Values{"prompt": {"none"}}); got.Get("error") != "login_required" {
		t.Fatalf("prompt=none without a session: %v, want login_required", got)
	}
	idToken := str(v.login(), "id_token")
	if n := v.e.BrowserSessions(); n != 1 {
		t.Fatalf("%d browser sessions after a sign-in, want 1", n)
	}

	for _, extra := range []url.Values{nil, {"prompt": {"none"}}, {"prompt": {"consent"}}, {"login_hint": {strings.ToUpper(DemoUserName)}}} {
		form, got := v.authorizeOnce(extra)
		if form || got.Get("code") == "" || got.Get("state") != "state-123" {
			t.Errorf("signed-in browser with %v: form %v, redirect %v; want a code at once", extra, form, got)
		}
	}
	for _, extra := range []url.Values{{"prompt": {"login"}}, {"prompt": {"select_account"}}, {"login_hint": {"someone.else@example.com"}}} {
		if form, got := v.authorizeOnce(extra); !form {
			t.Errorf("signed-in browser with %v: redirect %v, want the sign-in form", extra, got)
		}
	}
	if _, got := v.authorizeOnce(url.Values{"prompt": {"none"}, "login_hint": {"someone.else@example.com"}}); got.Get("error") != "login_required" {
		t.Errorf("prompt=none for another user: %v, want login_required", got)
	}

	// IDCS documents userlogout for GET only: a form POST, which OpenID
	// RP-Initiated Logout also allows, ends nothing.
	r := v.postForm("/oauth2/v1/userlogout", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1:8765/signed-out"}, "state": {"s"}}, "", "")
	if r.status != http.StatusMethodNotAllowed || v.e.BrowserSessions() != 1 {
		t.Fatalf("a POST to userlogout: status %d, %d sessions; want 405 and the session kept", r.status, v.e.BrowserSessions())
	}
	// A refused sign-out leaves the session alone.
	r = v.get("/oauth2/v1/userlogout", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1:9/elsewhere"}})
	if r.status != http.StatusBadRequest || v.e.BrowserSessions() != 1 {
		t.Fatalf("unregistered post_logout_redirect_uri: status %d, %d sessions; want 400 and the session kept", r.status, v.e.BrowserSessions())
	}
	r = v.get("/oauth2/v1/userlogout", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1:8765/signed-out"}, "state": {"s"}})
	if r.status != http.StatusFound {
		t.Fatalf("userlogout answered %d: %s", r.status, r.body)
	}
	if v.e.BrowserSessions() != 0 {
		t.Error("userlogout left the browser session alive")
	}
	if form, _ := v.authorizeOnce(nil); !form {
		t.Error("after userlogout the next sign-in skipped the form")
	}
}

func TestBrowserSessionKeepsTheFirstAuthTimeAndExpires(t *testing.T) {
	v := browserEnv(t)
	first := v.clock.Now()
	v.login()
	v.clock.Advance(time.Hour)
	_, got := v.authorizeOnce(nil)
	v.e.mu.Lock()
	c := v.e.codes[hashToken(got.Get("code"))]
	v.e.mu.Unlock()
	if c == nil || !c.authTime.Equal(first) {
		t.Fatalf("code from the session: %+v, want auth_time %s", c, first)
	}
	v.clock.Advance(sessionTTL)
	if form, _ := v.authorizeOnce(nil); !form {
		t.Error("an expired session still skipped the form")
	}
}

func TestLoginHintFillsInTheUserName(t *testing.T) {
	v := newEnv(t, Options{})
	_, challenge := pkcePair()
	q := authParams(challenge)
	q.Set("login_hint", "ada@example.com")
	r := v.get("/oauth2/v1/authorize", q)
	if !strings.Contains(r.body, `value="ada@example.com"`) {
		t.Errorf("the sign-in form does not show the hinted user:\n%s", r.body)
	}
}

func TestUserLogoutWithoutAHintEndsTheSessionOnItsOwnPage(t *testing.T) {
	v := browserEnv(t)
	v.login()
	r := v.get("/oauth2/v1/userlogout", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, "Signed Out") || v.e.BrowserSessions() != 0 {
		t.Fatalf("bare userlogout: status %d, %d sessions", r.status, v.e.BrowserSessions())
	}
}
