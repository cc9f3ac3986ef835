package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// PostLogoutPath is the path of the post-logout redirect URI: the domain
// sends the browser to http://127.0.0.1:PORT/signed-out (on the host and
// ports of the sign-in redirect URI) once its session has ended.
const PostLogoutPath = "/signed-out"

// ErrNoEndSession means the discovery document names no end_session_endpoint,
// so the provider's browser session cannot be ended from here.
var ErrNoEndSession = errors.New("the provider's discovery document names no end_session_endpoint")

// SignOutOptions tune one browser sign-out.
type SignOutOptions struct {
	// IDToken is the ID token of the sign-in to end, sent as id_token_hint:
	// IDCS needs it to find the application and its post-logout redirect
	// URI. Without one, the browser is only sent to the provider's own
	// sign-out page, and nothing comes back to confirm it.
	IDToken string
	// NoIDToken says why IDToken is empty, to begin the line that tells
	// the person to open the provider's page themselves; "" = "No ID token
	// is kept for this sign-in".
	NoIDToken string
	// RedirectURL and Ports are the sign-in's (see LoginOptions): the
	// post-logout redirect URI is on the same host and first free port,
	// with the path PostLogoutPath.
	RedirectURL string
	Ports       []int
	// OpenBrowser opens a URL; nil = only print it.
	OpenBrowser func(url string) error
	// Stderr receives what the person is to do; nil = discard.
	Stderr io.Writer
	// Timeout bounds the wait for the browser; default DefaultLoginTimeout.
	Timeout time.Duration
	// SSHDestination, when set, makes SignOut print the ssh -L line that
	// lets the browser on the person's own computer reach this machine.
	SSHDestination string
}

// SignOutRefusedError is the provider's refusal of a sign-out request, seen
// before any browser was sent there: most often a post-logout redirect URI
// the application does not register.
type SignOutRefusedError struct {
	Status        int    // HTTP status of the answer; a redirect to the domain's error page is 3xx
	Title         string // the error page's title, made printable
	Message       string // its first paragraph, made printable
	PostLogoutURI string // the post_logout_redirect_uri the request named
}

func (e *SignOutRefusedError) Error() string {
	msg := fmt.Sprintf("the provider refused the sign-out request (HTTP %d", e.Status)
	for _, s := range []string{e.Title, e.Message} {
		if s != "" {
			msg += ": " + s
		}
	}
	return msg + "); check that the application registers the post-logout redirect URL " + e.PostLogoutURI + " exactly, port included"
}

// SignOut ends the provider's browser session, as a web application's
// logout does (OpenID Connect RP-Initiated Logout, IDCS's
// /oauth2/v1/userlogout): the browser goes to the end_session_endpoint with
// id_token_hint, a post_logout_redirect_uri on a loopback server of this
// process, and a random state, and the provider sends it back there once
// the session has ended. IDCS takes the post-logout redirect only with the
// hint (the ID token itself; no client_id in its place), and only by GET.
//
// The ID token never appears in a URL this process prints or hands to a
// browser command: the browser is sent to an address of the loopback
// server with a random path. That address is in the browser command's
// arguments, which other local users can read (/proc), and they can reach
// loopback ports, so the address redirects to the provider only a
// connection opened by this user (or root, who can read the token files
// anyway), found in the system's socket table, and only once. Another
// user's fetch gets a 403 that holds nothing of the sign-out, and the
// link stays for the person's browser. Where the system cannot say who
// opened a connection (SignOutComesBack is false), no loopback server
// hands out the hint: the browser goes to the domain's own sign-out page,
// which ends the session without coming back, as without an ID token.
//
// The loopback server binds 127.0.0.1 (or the redirect URI's loopback
// host), answers only its own Host, ends with the first answer carrying the
// state, and stops before SignOut returns. A request the provider refuses
// outright gives a *SignOutRefusedError before any browser opens; the
// timeout gives ErrTimeout, Ctrl-C ErrCancelled.
func (c *Client) SignOut(ctx context.Context, opts SignOutOptions) error {
	endpoint := c.Metadata.EndSessionEndpoint
	if endpoint == "" {
		return ErrNoEndSession
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	owner := peerOwners()
	if opts.IDToken == "" || owner == nil {
		// IDCS's second way: its own landing page, which needs no hint.
		why := opts.NoIDToken
		switch {
		case opts.IDToken != "":
			why = "idcsctl cannot tell on this system which user opens a loopback address, so it gives no browser the ID token"
		case why == "":
			why = "No ID token is kept for this sign-in"
		}
		fmt.Fprintf(stderr, "%s, so the domain cannot send the browser back to idcsctl. To end its browser session, open:\n  %s\n", why, endpoint)
		if opts.OpenBrowser != nil {
			if err := opts.OpenBrowser(endpoint); err != nil {
				fmt.Fprintf(stderr, "Could not open a browser (%v); open the URL above yourself.\n", err)
			}
		}
		return nil
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, signOutTimeout{timeout})
	defer cancel()

	srv, err := startSignOut(opts, randomToken(), "/sign-out/"+randomToken(), owner)
	if err != nil {
		return err
	}
	defer srv.stop()
	end, err := endSessionURL(endpoint, opts.IDToken, srv.redirectURL, srv.handler.state)
	if err != nil {
		return err
	}
	if err := c.checkSignOutRequest(ctx, stderr, end, srv.redirectURL); err != nil {
		return err
	}
	srv.handler.mu.Lock()
	srv.handler.start = end
	srv.handler.mu.Unlock()
	short := "http://" + net.JoinHostPort(srv.host, strconv.Itoa(srv.port)) + srv.handler.startPath
	if opts.OpenBrowser == nil {
		fmt.Fprintf(stderr, "Open this URL in a browser on this machine to sign out of the domain:\n  %s\n", short)
	} else {
		fmt.Fprintf(stderr, "Opening the domain's sign-out page in your browser. If it does not open, visit:\n  %s\n", short)
		if err := opts.OpenBrowser(short); err != nil {
			fmt.Fprintf(stderr, "Could not open a browser (%v); open the URL above yourself. Waiting...\n", err)
		}
	}
	if opts.SSHDestination != "" {
		printSSHForward(stderr, srv.callbackServer, short, opts.SSHDestination)
	}
	select {
	case <-srv.done:
		return nil
	case <-ctx.Done():
		return interrupted(ctx)
	}
}

// SignOutComesBack says whether SignOut can send a browser to the domain
// with the ID token as hint and see it come back on this system: only
// where it can tell which user opens a loopback address (Linux).
func SignOutComesBack() bool { return peerOwners() != nil }

// signOutTimeout is ErrTimeout in a sign-out's own words.
type signOutTimeout struct{ after time.Duration }

func (e signOutTimeout) Error() string {
	return fmt.Sprintf("the browser did not come back from the domain's sign-out page within %s", e.after)
}

// Is makes errors.Is(err, ErrTimeout) hold.
func (e signOutTimeout) Is(target error) bool { return target == ErrTimeout }

// endSessionURL is the sign-out request: the endpoint with id_token_hint,
// post_logout_redirect_uri and state added to any query it has.
func endSessionURL(endpoint, idToken, postLogout, state string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("the end_session_endpoint cannot be parsed: %w", err)
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("post_logout_redirect_uri", postLogout)
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// checkSignOutRequest sends the sign-out request first (probe), and judges
// the answer as the sign-in's pre-check does (judgeAuthorizeAnswer): only a
// recognisable refusal, such as IDCS's page for an unregistered post-logout
// redirect URI or a redirect to its error page, ends the sign-out before a
// browser shows that page to no one. An answer it does not recognise (a
// firewall's 403, a rate limiter's 429) gives one warning line and the
// browser opens as usual; no answer at all is an *UnreachableError, and no
// browser opens on a page that cannot load.
func (c *Client) checkSignOutRequest(ctx context.Context, stderr io.Writer, endURL, postLogout string) error {
	resp, body, u, err := c.probe(ctx, endURL)
	if err != nil {
		return err
	}
	v := judgeAuthorizeAnswer(resp, body, u, postLogout, c.ClientID)
	if r := v.refused; r != nil {
		return &SignOutRefusedError{Status: r.Status, Title: r.Title, Message: r.Message, PostLogoutURI: postLogout}
	}
	if v.warning != "" {
		fmt.Fprintf(stderr, "warning: the domain answered the sign-out request with HTTP %d (%s), which is not a refusal idcsctl recognises; opening the browser anyway.\n",
			resp.StatusCode, Printable(contentType(resp), 60))
	}
	return nil
}

// signOutServer is the loopback server of one sign-out: "/" sends the
// browser to the provider, PostLogoutPath receives it back.
type signOutServer struct {
	*callbackServer
	handler *signOutHandler
	done    chan struct{}
}

func startSignOut(opts SignOutOptions, state, startPath string, owner peerOwner) (*signOutServer, error) {
	lb, err := parseLoopback(LoginOptions{RedirectURL: opts.RedirectURL, Ports: opts.Ports})
	if err != nil {
		return nil, err
	}
	lns, port, hosts, err := bindLoopback(lb)
	if err != nil {
		return nil, err
	}
	redirect := "http://" + hosts[0] + PostLogoutPath
	if lb.verbatim != "" {
		// The redirect URI as the person wrote it (localhost, say), with
		// the sign-out's path: what they register is what is sent.
		u, _ := url.Parse(lb.verbatim)
		u.Path, u.RawPath = PostLogoutPath, ""
		redirect = u.String()
	}
	page, err := newCallbackHandler(hosts, PostLogoutPath, state, "", nil)
	if err != nil {
		closeAll(lns)
		return nil, err
	}
	done := make(chan struct{})
	h := &signOutHandler{page: page, state: state, startPath: startPath, done: done, owner: owner, uid: uint32(os.Getuid())}
	s := &signOutServer{
		callbackServer: &callbackServer{redirectURL: redirect, host: lb.host, port: port},
		handler:        h,
		done:           done,
	}
	s.serve(lns, h)
	return s, nil
}

// signOutHandler serves the two pages of a sign-out.
type signOutHandler struct {
	page      *callbackHandler // Host check, headers and the page template
	state     string
	startPath string // random: the address that sends the browser to the provider, once
	done      chan struct{}
	owner     peerOwner // who opened a connection; nil: nobody gets startPath
	uid       uint32    // this process's user, whose browser startPath serves

	mu       sync.Mutex
	start    string // the sign-out request startPath redirects to; "" until checked
	started  bool   // startPath was used
	finished bool
}

func (h *signOutHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.page.guard(w, r) {
		return
	}
	path := r.URL.EscapedPath()
	if path != h.startPath && path != PostLogoutPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if path == h.startPath && !h.openedByThisUser(r) {
		// Another user read the address in the browser command's
		// arguments: nothing of the sign-out, and the link stays unused
		// for the person's browser.
		h.page.render(w, http.StatusForbidden, page{
			Title: "Not your sign-out", Class: "err",
			Message: "This address belongs to another user's sign-out on this machine.",
			Next:    "You can close this window.",
		})
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.finished {
		h.page.render(w, http.StatusBadRequest, page{
			Title: "Sign-out already finished", Class: "err",
			Message: "idcsctl has already seen the domain end this browser session.",
			Next:    "You can close this window.",
		})
		return
	}
	if path == h.startPath {
		switch {
		case h.start == "":
			http.NotFound(w, r)
		case h.started:
			h.page.render(w, http.StatusBadRequest, page{
				Title: "Sign-out link already used", Class: "err",
				Message: "This link has already sent a browser to the identity domain's sign-out page. If that was not this browser, someone else on this machine used it.",
				Next:    "Return to the terminal: run idcsctl logout --browser again after signing in, or sign out at the domain yourself.",
			})
		default:
			h.started = true
			http.Redirect(w, r, h.start, http.StatusFound)
		}
		return
	}
	if states := r.URL.Query()["state"]; len(states) != 1 || subtle.ConstantTimeCompare([]byte(states[0]), []byte(h.state)) != 1 {
		// An old tab, or a forged link: the real answer may still come.
		h.page.render(w, http.StatusBadRequest, page{
			Title: "Not this sign-out", Class: "err",
			Message: "This page does not belong to the sign-out idcsctl is waiting for (its state does not match).",
			Next:    "Return to the terminal.",
		})
		return
	}
	h.finished = true
	h.page.render(w, http.StatusOK, page{
		Title: "Signed out", Class: "ok",
		Message: "The identity domain has ended your browser session.",
		Next:    "The next sign-in in this browser asks for your password again. You can close this window.",
		Close:   true,
	})
	close(h.done)
}

// openedByThisUser says whether r came over a connection that this
// process's user (or root) opened, as the socket table says; when it
// cannot be told, no.
func (h *signOutHandler) openedByThisUser(r *http.Request) bool {
	if h.owner == nil {
		return false
	}
	local, remote, err := requestPeer(r)
	if err != nil {
		return false
	}
	uid, err := h.owner(local, remote)
	return err == nil && (uid == h.uid || uid == 0)
}
