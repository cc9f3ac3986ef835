package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// loginPath is where the sign-in form posts, IDCS's own sign-in path. A
// form posted to /oauth2/v1/authorize with its request_id works as well.
const loginPath = "/sso/v1/user/login"

// signInTTL is how long a sign-in page stays usable.
const signInTTL = 15 * time.Minute

// The wording of the answer when the user presses Cancel.
const deniedDescription = "The user denied the request"

// authRequest is a validated authorization request waiting for the user to
// sign in. The sign-in page carries only its random id.
type authRequest struct {
	clientID    string
	clientName  string
	redirectURI string
	state       string
	nonce       string
	scopes      []string
	challenge   string
	expires     time.Time
}

// authCode is an issued authorization code, bound to everything of the
// request that the token request must match.
type authCode struct {
	req      authRequest
	user     *User
	authTime time.Time
	expires  time.Time
	used     bool
	grant    *grant // set when exchanged, so a replay revokes its tokens
}

// userScopes are the scopes any application may ask for on behalf of a user:
// IDCS's OpenID Connect scopes and its own two.
var userScopes = []string{
	"openid", "profile", "email", "address", "phone", "offline_access",
	"groups", "get_groups", "approles", "get_approles", ScopeUserMe, ScopeMyScopes,
}

// parseScopes splits a scope parameter and checks every scope is one the
// client may get: for users the OpenID and IDCS scopes plus the client's
// own; for the client itself (client_credentials) only its own. With
// Discovery.ScopesSupported set, a user scope must also be listed there,
// as a provider like Dex wants.
func (e *Emulator) parseScopes(c *Client, raw string, forUser bool) ([]string, *oauthError) {
	listed := e.discoveryShape().ScopesSupported
	var out []string
	for _, s := range strings.Fields(raw) {
		if slices.Contains(out, s) {
			continue
		}
		if !slices.Contains(c.Scopes, s) && !(forUser && slices.Contains(userScopes, s)) ||
			forUser && listed != nil && !slices.Contains(listed, s) {
			return nil, badRequest("invalid_scope", fmt.Sprintf("The scope %s is not valid for the application.", shorten(s)))
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, badRequest("invalid_request", "The scope parameter is missing.")
	}
	return out, nil
}

func (e *Emulator) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	e.authorize(w, r, r.URL.Query())
}

// handleAuthorizePost is OpenID Connect's form-encoded authorization request
// (Core 3.1.2.1) or, when it carries a request_id, the sign-in form.
func (e *Emulator) handleAuthorizePost(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", oe.desc)
		return
	}
	if form.Has("request_id") {
		e.login(w, r, form)
		return
	}
	e.authorize(w, r, form)
}

func (e *Emulator) handleLogin(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", oe.desc)
		return
	}
	e.login(w, r, form)
}

// authorize validates an authorization request and shows the sign-in page.
// Until the client and its redirect URI are known good, errors are pages;
// after, they go back to the client (RFC 6749 4.1.2.1).
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request, q url.Values) {
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", "The client_id or redirect_uri parameter is included more than once.")
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", "The client_id parameter is missing.")
		return
	}
	c, ok := e.client(clientID)
	if !ok {
		e.errorPage(w, http.StatusBadRequest, "Unknown application",
			fmt.Sprintf("The client %s is not registered in this identity domain. Check the client id.", shorten(clientID)))
		return
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", "The redirect_uri parameter is missing.")
		return
	}
	if !slices.Contains(c.RedirectURIs, redirectURI) {
		// IDCS answers an unregistered redirect URI with an OAuth error
		// document, not a page and never a redirect (authts/oidc-client-ts
		// issue 1602 quotes one; testdata/idcs/SOURCE.md).
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"error":             "invalid_redirect_uri",
			"error_description": fmt.Sprintf("Client %s requested an invalid redirect URL: %s. Redirect URIs must match exactly, port included.", shorten(c.ID), shorten(redirectURI)),
		})
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirectTo(w, r, redirectURI, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	if k, dup := repeated(q); dup {
		fail("invalid_request", fmt.Sprintf("The parameter %s is included more than once.", shorten(k)))
		return
	}
	if q.Has("request") || q.Has("request_uri") {
		fail("request_not_supported", "Request objects are not supported.")
		return
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		fail("invalid_request", "The response_type parameter is missing.")
		return
	default:
		fail("unsupported_response_type", fmt.Sprintf("The response_type %s is not supported; use code.", shorten(rt)))
		return
	}
	if !c.allows(GrantAuthorizationCode) {
		fail("unauthorized_client", "The application is not allowed to use the authorization code grant.")
		return
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		fail("invalid_request", fmt.Sprintf("The response_mode %s is not supported; use query.", shorten(rm)))
		return
	}
	scopes, oe := e.parseScopes(&c, q.Get("scope"), true)
	if oe != nil {
		fail(oe.code, oe.desc)
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		fail("invalid_request", "The code_challenge_method parameter is present without code_challenge.")
		return
	case challenge == "" && c.public():
		fail("invalid_request", "PKCE is required for this application: send code_challenge with code_challenge_method=S256.")
		return
	case challenge != "" && method != "S256":
		// A missing method means "plain" (RFC 7636 4.3), which is refused.
		fail("invalid_request", "The code_challenge_method must be S256; plain is not allowed.")
		return
	case challenge != "" && !validChallenge(challenge):
		fail("invalid_request", "The code_challenge must be the 43-character base64url S256 hash of the code verifier.")
		return
	}
	decision := decidePrompt(q, e.browserSessionOf(r))
	if decision.err != nil {
		fail(decision.err.code, decision.err.desc)
		return
	}
	req := &authRequest{
		clientID:    c.ID,
		clientName:  c.Name,
		redirectURI: redirectURI,
		state:       state,
		nonce:       q.Get("nonce"),
		scopes:      scopes,
		challenge:   challenge,
		expires:     e.now().Add(signInTTL),
	}
	if s := decision.session; s != nil {
		// This browser signed in before: IDCS answers at once, as the
		// same user, with the session's original auth_time.
		e.issueCode(w, r, req, s.user, s.authTime)
		return
	}
	id := randomToken(24)
	e.mu.Lock()
	e.pending[id] = req
	e.mu.Unlock()
	e.render(w, http.StatusOK, "login", page{Title: "Sign In", ClientName: c.Name, Action: loginPath, RequestID: id, Username: q.Get("login_hint")})
}

// login handles the sign-in form: Cancel, a wrong password (the form again,
// with a 401), or a right one (a redirect with the code).
func (e *Emulator) login(w http.ResponseWriter, r *http.Request, form url.Values) {
	id := form.Get("request_id")
	e.mu.Lock()
	req, ok := e.pending[id]
	if ok && !e.now().Before(req.expires) {
		delete(e.pending, id)
		ok = false
	}
	e.mu.Unlock()
	if !ok {
		e.errorPage(w, http.StatusBadRequest, "Sign-in expired",
			"This sign-in request has expired or was already used. Return to the application and sign in again.")
		return
	}
	if form.Get("action") == "cancel" {
		if e.takePending(id) {
			redirectTo(w, r, req.redirectURI, url.Values{"error": {"access_denied"}, "error_description": {deniedDescription}, "state": {req.state}})
		} else {
			e.errorPage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in request was already used.")
		}
		return
	}
	username := form.Get("username")
	user := e.checkPassword(username, form.Get("password"))
	if user == nil {
		e.render(w, http.StatusUnauthorized, "login", page{
			Title: "Sign In", ClientName: req.clientName, Action: loginPath, RequestID: id,
			Username: username, Error: "You entered an incorrect user name or password.",
		})
		return
	}
	// Taking the request under the lock makes a double submit yield one code.
	if !e.takePending(id) {
		e.errorPage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in request was already used.")
		return
	}
	now := e.now()
	e.startBrowserSession(w, r, user, now)
	e.issueCode(w, r, req, user, now)
}

// issueCode ends a signed-in authorization request: a redirect to the
// client with a fresh code.
func (e *Emulator) issueCode(w http.ResponseWriter, r *http.Request, req *authRequest, user *User, authTime time.Time) {
	code := randomToken(32)
	now := e.now()
	e.mu.Lock()
	e.codes[hashToken(code)] = &authCode{req: *req, user: user, authTime: authTime, expires: now.Add(e.codeTTL)}
	e.mu.Unlock()
	redirectTo(w, r, req.redirectURI, url.Values{"code": {code}, "state": {req.state}})
}

func (e *Emulator) takePending(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.pending[id]; !ok {
		return false
	}
	delete(e.pending, id)
	return true
}

// checkPassword returns the user whose name (any case, as IDCS) and password
// match, or nil. A user without a password never signs in.
func (e *Emulator) checkPassword(username, password string) *User {
	e.mu.Lock()
	u, ok := e.usersByKey[strings.ToLower(username)]
	e.mu.Unlock()
	if !ok || u.Password == "" || subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return nil
	}
	return u
}

// redirectTo sends the browser to target with params added to its query;
// empty params are left out.
func redirectTo(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		http.Error(w, "emulator: bad redirect target", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, vs := range params {
		if len(vs) > 0 && vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// validChallenge accepts what an S256 challenge is: 43 base64url characters.
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validVerifier accepts an RFC 7636 4.1 code verifier: 43 to 128 characters
// of the unreserved set.
func validVerifier(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64(sum[:])
}

// handleUserLogout is IDCS's browser sign-out: it ends the browser's
// session, so the next sign-in shows the form again. As IDCS documents, a
// post_logout_redirect_uri needs the id_token_hint that names the
// application (its client_id claim), and must be registered for it exactly;
// without one the user sees a signed-out page. A client_id never stands in
// for the hint (OpenID RP-Initiated Logout allows it; IDCS documents only
// the hint), and only GET is served, as IDCS documents. Any error leaves
// the session as it was.
func (e *Emulator) handleUserLogout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if k, dup := repeated(q); dup {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", fmt.Sprintf("The parameter %s is included more than once.", shorten(k)))
		return
	}
	var clientID string
	if hint := q.Get("id_token_hint"); hint != "" {
		// An expired ID token is a fine hint (OpenID Connect RP-Initiated
		// Logout 2); only its signature, issuer and type are checked.
		claims, err := e.keys.verify(hint)
		if err != nil || claims["tok_type"] != "IT" || claims["iss"] != e.issuerFor(baseURL(r)) {
			e.errorPage(w, http.StatusBadRequest, "Invalid request", "The id_token_hint is not an identity token issued by this identity domain.")
			return
		}
		clientID, _ = claims["client_id"].(string)
	}
	if cid := q.Get("client_id"); cid != "" && clientID != "" && cid != clientID {
		e.errorPage(w, http.StatusBadRequest, "Invalid request", "The client_id does not match the application of the id_token_hint.")
		return
	}
	post := q.Get("post_logout_redirect_uri")
	if post != "" {
		if clientID == "" {
			e.errorPage(w, http.StatusBadRequest, "Invalid request", "A post_logout_redirect_uri needs the id_token_hint of the application's sign-in.")
			return
		}
		c, ok := e.client(clientID)
		if !ok {
			e.errorPage(w, http.StatusBadRequest, "Unknown application", fmt.Sprintf("The client %s is not registered in this identity domain.", shorten(clientID)))
			return
		}
		if !slices.Contains(c.PostLogoutRedirectURIs, post) {
			e.errorPage(w, http.StatusBadRequest, "Invalid redirect URI",
				fmt.Sprintf("The post_logout_redirect_uri %s is not registered for the application %s.", shorten(post), shorten(c.Name)))
			return
		}
	}
	e.endBrowserSession(w, r)
	if post != "" {
		redirectTo(w, r, post, url.Values{"state": {q.Get("state")}})
		return
	}
	e.render(w, http.StatusOK, "message", page{Title: "Signed Out", Message: "You have signed out. You can close this window."})
}
