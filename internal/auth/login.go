package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// DefaultLoginTimeout is how long a sign-in waits for the browser.
const DefaultLoginTimeout = 3 * time.Minute

// LoginOptions tune one authorization code sign-in.
type LoginOptions struct {
	// RedirectURL is the full redirect URI registered with the application,
	// e.g. "http://127.0.0.1:8000/callback"; its host must be a loopback
	// one. When set, Ports is ignored. Port 0 means any free port.
	RedirectURL string
	// Ports are tried in order for http://127.0.0.1:PORT/callback; the
	// first free one is used; 0 = any free port. Empty means any free port.
	Ports []int
	// OpenBrowser opens the sign-in URL; nil = do not open a browser.
	OpenBrowser func(url string) error
	// BrowserName says where OpenBrowser opens the page, for the message
	// that says so ("the built-in stand-in browser"); "" = "your browser".
	BrowserName string
	// Stderr receives the sign-in URL and hints (never stdout); nil = discard.
	Stderr io.Writer
	// Timeout bounds the wait for the browser; default DefaultLoginTimeout.
	Timeout time.Duration
	// Paste, when set, replaces the callback server: the person signs in
	// on any machine and pastes the address the browser was redirected to.
	// A read from Paste cannot be interrupted, so on cancel or timeout the
	// reading goroutine lives until Paste returns (EOF on stdin).
	Paste io.Reader
	// ExtraParams are added to the authorization request, e.g. prompt=login.
	// The parameters the flow's security rests on cannot be set this way.
	ExtraParams map[string]string
	// SSHDestination, when set, says the person works on this machine over
	// SSH and reaches it as SSHDestination ("alice@host", "-p 2222
	// alice@host"): Login prints the ssh -L command that forwards the
	// callback port, so the browser on their own computer can reach it.
	SSHDestination string
	// CheckRequest makes Login show the authorization request to the
	// provider itself before any browser does, so that a client id or
	// redirect URI the provider refuses ends the sign-in at once with an
	// *AuthorizeRequestError instead of an error page nobody reports back.
	CheckRequest bool
}

// reservedParams are set by Login; letting ExtraParams change them would
// undo PKCE, state or nonce.
func reservedParams() []string {
	return []string{
		"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
		"code_challenge", "code_challenge_method",
	}
}

// flow is the secret material of one sign-in.
type flow struct {
	verifier string // PKCE code verifier: sent only to the token endpoint
	state    string
	nonce    string
}

func newFlow() flow {
	return flow{verifier: oauth2.GenerateVerifier(), state: randomToken(), nonce: randomToken()}
}

// randomToken is 256 bits from crypto/rand, base64url: 43 characters.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24: it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// authURL is the authorization request: PKCE S256 always, whatever the
// discovery document says, because "plain" would hand the verifier to anyone
// who sees the URL.
func (c *Client) authURL(conf *oauth2.Config, f flow, extra map[string]string) (string, error) {
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(f.verifier),
		oauth2.SetAuthURLParam("nonce", f.nonce),
	}
	for k, v := range extra {
		for _, r := range reservedParams() {
			if strings.EqualFold(k, r) {
				return "", fmt.Errorf("the authorization parameter %q is set by idcsctl and cannot be given as an extra parameter", k)
			}
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return conf.AuthCodeURL(f.state, opts...), nil
}

// Login signs a person in with the authorization code flow: PKCE S256, a
// random state and nonce, a loopback callback server started before the
// browser opens and stopped (its port free again) before Login returns, the
// code exchange, and ID token verification with the nonce.
//
// Ctrl-C (ctx cancelled) gives ErrCancelled, the timeout ErrTimeout, an
// error= answer a *ProviderError, an unusable ID token a *VerifyError, and no
// free port a *PortsInUseError.
func (c *Client) Login(ctx context.Context, opts LoginOptions) (_ *Result, err error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	stderr := opts.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, signInTimeout{timeout})
	defer cancel()

	f := newFlow()
	// Provider text in any error (a callback's error_description, an
	// error page) must not quote this sign-in's secrets back.
	defer func() { RedactError(err, f.state, f.verifier, f.nonce) }()
	if opts.Paste != nil {
		return c.loginPaste(ctx, opts, f, stderr)
	}
	lb, err := parseLoopback(opts)
	if err != nil {
		return nil, err
	}
	srv, err := startCallback(lb, f.state, c.Metadata.Issuer)
	if err != nil {
		return nil, err
	}
	defer srv.stop()

	conf := c.oauth2Config(srv.redirectURL)
	authURL, err := c.authURL(conf, f, opts.ExtraParams)
	if err != nil {
		return nil, err
	}
	if opts.CheckRequest {
		if err := c.checkAuthorizeRequest(ctx, stderr, authURL, srv.redirectURL); err != nil {
			return nil, err
		}
	}
	short := srv.serveStart(authURL)
	openBrowser(stderr, opts.OpenBrowser, opts.BrowserName, authURL, short)
	if opts.SSHDestination != "" {
		printSSHForward(stderr, srv, short, opts.SSHDestination)
	}

	var code string
	select {
	case res := <-srv.results:
		if res.err != nil {
			return nil, res.err
		}
		code = res.code
	case <-ctx.Done():
		return nil, interrupted(ctx)
	}
	srv.stop()
	return c.exchange(ctx, conf, code, f)
}

// openBrowser tells the person where to sign in, then tries the browser.
// short, when set, is the callback server's own address of the sign-in,
// easier to copy than the whole URL.
func openBrowser(stderr io.Writer, open func(string) error, name, authURL, short string) {
	if name == "" {
		name = "your browser"
	}
	// The URL holds state and the PKCE challenge, never the verifier, so it
	// is safe to show.
	if open == nil {
		fmt.Fprintf(stderr, "Open this URL in a browser to sign in:\n  %s\n", authURL)
	} else {
		fmt.Fprintf(stderr, "Opening the sign-in page in %s. If it does not open, visit:\n  %s\n", name, authURL)
	}
	if short != "" {
		fmt.Fprintf(stderr, "  or, in a browser on this machine, the short form: %s\n", short)
	}
	if open == nil {
		return
	}
	if err := open(authURL); err != nil {
		fmt.Fprintf(stderr, "Could not open a browser (%v); open the URL above yourself. Waiting...\n", err)
	}
}

// printSSHForward tells a person working over SSH how to let the browser on
// their own computer reach the callback server on this machine.
func printSSHForward(stderr io.Writer, srv *callbackServer, short, destination string) {
	fmt.Fprintf(stderr, "Over SSH, the browser on your own computer must reach port %d of this machine. Forward it first, on your computer:\n  ssh -L %d:%s:%d %s\n",
		srv.port, srv.port, hostOnly(srv.host), srv.port, destination)
	if short != "" {
		fmt.Fprintf(stderr, "then open %s (or the URL above) in its browser.\n", short)
	}
}

// signInTimeout is ErrTimeout saying what did not come in time.
type signInTimeout struct{ after time.Duration }

func (e signInTimeout) Error() string {
	return fmt.Sprintf("sign-in timed out: no answer from the browser within %s", e.after)
}

// Is makes errors.Is(err, ErrTimeout) hold.
func (e signInTimeout) Is(target error) bool { return target == ErrTimeout }

// interrupted says why ctx ended: a timeout, or a cancellation.
func interrupted(ctx context.Context) error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrTimeout):
		return cause
	case errors.Is(cause, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrTimeout, cause)
	default:
		return fmt.Errorf("%w: %w", ErrCancelled, cause)
	}
}

// endpointName is an endpoint URL fit for a message: no query, no user
// information.
func endpointName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the token endpoint"
	}
	return endpointURL(u)
}

// exchange trades the code and the verifier for tokens and verifies the ID
// token against this sign-in's nonce.
func (c *Client) exchange(ctx context.Context, conf *oauth2.Config, code string, f flow) (*Result, error) {
	tctx, rec := c.tokenContext(ctx)
	tok, err := conf.Exchange(tctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		if ctx.Err() != nil {
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) || errors.Is(context.Cause(ctx), ErrTimeout) {
				// The browser did its part: saying no sign-in arrived
				// would send the person looking in the wrong place. It is
				// the provider that did not answer, not a sign-in that
				// timed out, so ErrTimeout is not wrapped.
				return nil, fmt.Errorf("%w: %s did not finish answering before the sign-in's time ran out", ErrNoTokenAnswer, endpointName(c.Metadata.TokenEndpoint))
			}
			return nil, interrupted(ctx)
		}
		return nil, tokenError(ctx, "token", err, rec)
	}
	return c.result(ctx, tok, f.nonce, true)
}

// loginPaste is Login without a callback server, for a machine whose
// loopback the browser cannot reach (SSH, containers): the browser ends on
// the redirect URI, which may fail to load, and the person pastes its
// address. A pasted address of another sign-in is refused and another one is
// read.
func (c *Client) loginPaste(ctx context.Context, opts LoginOptions, f flow, stderr io.Writer) (*Result, error) {
	redirect := opts.RedirectURL
	if redirect == "" {
		if len(opts.Ports) == 0 || opts.Ports[0] <= 0 {
			return nil, errors.New("pasting the redirected address needs a fixed redirect URI: set the redirect URL or a callback port")
		}
		redirect = fmt.Sprintf("http://127.0.0.1:%d/callback", opts.Ports[0])
	}
	conf := c.oauth2Config(redirect)
	authURL, err := c.authURL(conf, f, opts.ExtraParams)
	if err != nil {
		return nil, err
	}
	if opts.CheckRequest {
		if err := c.checkAuthorizeRequest(ctx, stderr, authURL, redirect); err != nil {
			return nil, err
		}
	}
	openBrowser(stderr, opts.OpenBrowser, opts.BrowserName, authURL, "")
	fmt.Fprintf(stderr, "After signing in, the browser goes to %s (the page may not load).\nCopy the whole address from the address bar and paste it here:\n", redirect)

	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(opts.Paste)
		sc.Buffer(make([]byte, 0, 4096), 64<<10)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()

	for {
		select {
		case <-ctx.Done():
			return nil, interrupted(ctx)
		case err := <-readErr:
			if err != nil {
				return nil, fmt.Errorf("read the pasted address: %w", err)
			}
			return nil, fmt.Errorf("no redirected address was pasted: %w", ErrCancelled)
		case line := <-lines:
			if strings.TrimSpace(line) == "" {
				continue
			}
			q := pastedQuery(line)
			if !q.Has("state") && !q.Has("code") && !q.Has("error") {
				// Not an answer of any sign-in: saying its state does not
				// match would send the person after another sign-in.
				fmt.Fprintf(stderr, "That is not the address the browser was sent to: it holds no code, state or error. Copy the whole address from the address bar (it starts with %s?) and paste it here:\n", redirect)
				continue
			}
			if states := q["state"]; len(states) != 1 || subtle.ConstantTimeCompare([]byte(states[0]), []byte(f.state)) != 1 {
				fmt.Fprintln(stderr, "That address is not from this sign-in (its state does not match). Paste the address the browser went to after this sign-in:")
				continue
			}
			h := callbackHandler{issuer: c.Metadata.Issuer}
			_, _, res := h.outcome(q)
			if res.err != nil {
				return nil, res.err
			}
			return c.exchange(ctx, conf, res.code, f)
		}
	}
}

// pastedQuery reads the query of a pasted address, or a bare query string;
// what cannot be read has no state and is refused as such. The line itself
// is never echoed: it holds the code.
func pastedQuery(line string) url.Values {
	line = strings.TrimSpace(line)
	if _, after, ok := strings.Cut(line, "?"); ok {
		line = after
	}
	line, _, _ = strings.Cut(line, "#")
	q, err := url.ParseQuery(line)
	if err != nil {
		return url.Values{}
	}
	return q
}
