package emulator

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// sessionCookie names the emulator's browser session cookie. IDCS keeps a
// session per browser after a sign-in, so a second sign-in in the same
// browser skips the form until the session ends (userlogout) or expires.
const sessionCookie = "idcs_emulator_session"

// sessionTTL is how long a browser session lasts: IDCS's default session
// expiry of 480 minutes.
const sessionTTL = 8 * time.Hour

// browserSession is a signed-in browser: whose, and since when.
type browserSession struct {
	user     *User
	authTime time.Time
	expires  time.Time
}

// The prompt values OpenID Connect Core 3.1.2.1 defines.
var promptValues = []string{"none", "login", "consent", "select_account"}

// promptDecision is what an authorization request's prompt, login_hint and
// the browser's session make of it.
type promptDecision struct {
	session *browserSession // sign the request in with this session, skipping the form
	err     *oauthError     // refuse the request with this error, sent back to the client
}

// decidePrompt reads prompt and login_hint against the browser's session:
// a live session signs in without the form, unless the request asks for
// the form (login, select_account) or names another user (login_hint);
// prompt=none without such a session is login_required. The emulator has
// no consent page: consent is treated as no prompt.
func decidePrompt(q url.Values, sess *browserSession) promptDecision {
	prompts := strings.Fields(q.Get("prompt"))
	for _, p := range prompts {
		if !slices.Contains(promptValues, p) {
			return promptDecision{err: badRequest("invalid_request", "The prompt value "+shorten(p)+" is not supported.")}
		}
	}
	none := slices.Contains(prompts, "none")
	if none && len(prompts) > 1 {
		return promptDecision{err: badRequest("invalid_request", "The prompt value none cannot be combined with other values.")}
	}
	if hint := q.Get("login_hint"); sess != nil && hint != "" && !strings.EqualFold(hint, sess.user.UserName) {
		// Someone else is to sign in: this browser's session is not theirs.
		sess = nil
	}
	forced := slices.Contains(prompts, "login") || slices.Contains(prompts, "select_account")
	switch {
	case none && sess == nil:
		return promptDecision{err: badRequest("login_required", "The user is not signed in.")}
	case sess != nil && !forced:
		return promptDecision{session: sess}
	}
	return promptDecision{}
}

// browserSessionOf returns the live session the request's cookie names, or
// nil.
func (e *Emulator) browserSessionOf(r *http.Request) *browserSession {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := hashToken(c.Value)
	s, ok := e.sessions[key]
	if !ok {
		return nil
	}
	if !e.now().Before(s.expires) {
		delete(e.sessions, key)
		return nil
	}
	return s
}

// startBrowserSession remembers that this browser signed in as user, and
// replaces any session it had.
func (e *Emulator) startBrowserSession(w http.ResponseWriter, r *http.Request, user *User, authTime time.Time) {
	e.endBrowserSession(w, r)
	value := randomToken(32)
	e.mu.Lock()
	e.sessions[hashToken(value)] = &browserSession{user: user, authTime: authTime, expires: authTime.Add(sessionTTL)}
	e.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// endBrowserSession forgets the request's session, if any, and tells the
// browser to drop its cookie.
func (e *Emulator) endBrowserSession(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return
	}
	e.mu.Lock()
	delete(e.sessions, hashToken(c.Value))
	e.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// BrowserSessions is how many browser sessions are live: signed-in
// browsers that would skip the sign-in form.
func (e *Emulator) BrowserSessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	now := e.now()
	for _, s := range e.sessions {
		if now.Before(s.expires) {
			n++
		}
	}
	return n
}
