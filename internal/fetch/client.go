// Package fetch calls a protected resource with the profile's access token,
// as `idcsctl fetch` does: it resolves the URL against the identity domain,
// sends the token only where the Policy allows, drops it on a redirect to
// another origin, retries what is safe to retry, refreshes once when the
// server says the token is invalid, and follows IDCS's SCIM paging.
//
// It hands back the *http.Response with its body unread, so the caller can
// stream a body of any size. It knows nothing of cobra or of where tokens
// are kept: the caller gives it functions that return and refresh the
// token. No error of this package holds a token or a response body.
package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idcsctl/idcsctl/internal/origin"
)

// Request is one call to make.
type Request struct {
	Method string
	URL    *url.URL
	// Header holds the caller's headers; it must not hold Authorization,
	// which Do sets.
	Header http.Header
	// Host, when set, is sent as the Host header instead of the URL's host.
	Host string
	// Body is nil for no body.
	Body *Body
}

// Client sends Requests with a bearer token.
type Client struct {
	// HTTP sends the requests. Its CheckRedirect is not used: Do follows
	// redirects with its own, which keeps the token on the first origin.
	HTTP *http.Client
	// Token returns the access token to send; it is called once per
	// request, so a long paging run picks up a token refreshed meanwhile.
	Token func(ctx context.Context) (string, error)
	// Refresh returns a new access token after a server rejected the
	// given one. Nil means a rejected token is reported as it is.
	Refresh func(ctx context.Context, rejected string) (string, error)
	// Retries is how many times a request with an idempotent method is
	// sent again after a connection error or a 502, 503 or 504.
	Retries int
	// Backoff is the wait before retry n (1, 2, ...); nil means
	// DefaultBackoff. A Retry-After header of the answer wins over it.
	Backoff func(n int) time.Duration
	// Sleep waits d or until ctx ends; nil means a timer. Tests pass one
	// that returns at once and records d.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Sign, when set, authenticates each attempt instead of the bearer
	// token: OCI's request signatures, made over the final headers and
	// body. Token is then not called.
	Sign func(req *http.Request) error
}

// MaxRedirects is how many redirects Do follows before it gives up.
const MaxRedirects = 10

// MaxRetryAfter is the longest Retry-After that Do waits for; a server
// asking for more is answered with its own response, not with a long hang.
const MaxRetryAfter = 30 * time.Second

// ErrRedirect is wrapped by the errors of redirects Do refuses to follow:
// a loop, or more than MaxRedirects.
var ErrRedirect = errors.New("redirect refused")

// DefaultBackoff waits 0.5 s before the first retry and doubles each time
// up to 8 s, with a quarter of random spread so that many clients failing
// together do not come back together.
func DefaultBackoff(n int) time.Duration {
	d := 500 * time.Millisecond << min(max(n-1, 0), 4)
	spread := int64(d / 4)
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread+1))
}

// Do sends r with the token and returns the final response, its body
// unread. Redirects are followed; the token goes only to the URL's own
// origin (scheme, host and port) and never again once a redirect has left
// it. Connection errors and 502, 503 and 504 answers are retried up to
// Retries times when the method is idempotent. A 401 saying invalid_token
// (see TokenRejected) makes Do call Refresh and send the request once
// more; if that answer is a rejection too, it is returned as it is.
//
// The caller must have checked r.URL against its Policy.
func (c *Client) Do(ctx context.Context, r *Request) (*http.Response, error) {
	var token string
	if c.Sign == nil {
		var err error
		if token, err = c.Token(ctx); err != nil {
			return nil, err
		}
	}
	refreshed := false
	for retry := 0; ; {
		req, err := c.newRequest(ctx, r, token)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(req, r.URL)
		if err != nil {
			if retry < c.Retries && idempotent(r.Method) && retryable(ctx, err) {
				retry++
				if err := c.sleep(ctx, c.backoff(retry)); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		switch {
		case retryStatus(resp.StatusCode) && retry < c.Retries && idempotent(r.Method):
			wait, ok := c.retryAfter(resp)
			if !ok {
				return resp, nil
			}
			retry++
			if wait < 0 {
				wait = c.backoff(retry)
			}
			discard(resp)
			if err := c.sleep(ctx, wait); err != nil {
				return nil, err
			}
		case !refreshed && c.Refresh != nil && TokenRejected(resp) && carriedToken(resp):
			discard(resp)
			refreshed = true
			if token, err = c.Refresh(ctx, token); err != nil {
				return nil, err
			}
		default:
			return resp, nil
		}
	}
}

// newRequest builds one attempt's request.
func (c *Client) newRequest(ctx context.Context, r *Request, token string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build the request: %w", err)
	}
	req.Header = r.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if req.Header.Get("Accept-Encoding") == "" {
		// Without this, net/http asks for gzip and unzips behind our back:
		// the body would not be the server's bytes, nor match its
		// Content-Length.
		req.Header.Set("Accept-Encoding", "identity")
	}
	if c.Sign == nil {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Host = r.Host
	if r.Body != nil {
		rc, n, err := r.Body.open()
		if err != nil {
			return nil, err
		}
		req.Body, req.ContentLength = rc, n
		req.GetBody = func() (io.ReadCloser, error) {
			rc, _, err := r.Body.open()
			return rc, err
		}
	}
	if c.Sign != nil {
		if err := c.Sign(req); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// send makes one attempt, redirects included. asked is the URL that was
// asked for, which errors name.
func (c *Client) send(req *http.Request, asked *url.URL) (*http.Response, error) {
	hc := http.Client{Transport: c.HTTP.Transport, Jar: c.HTTP.Jar, Timeout: c.HTTP.Timeout, CheckRedirect: checkRedirect}
	resp, err := hc.Do(req)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// net/http names the URL of the failed hop, which may be a
		// redirect's Location with a code or token in its query: name the
		// URL that was asked for, without its query.
		uerr.URL = pathOnly(asked)
	}
	return resp, err
}

// checkRedirect keeps the token on the first request's origin. net/http
// alone would send it on to another port of the same host, or to a
// subdomain, and back again after a hop elsewhere.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("%w: stopped after %d redirects", ErrRedirect, MaxRedirects)
	}
	for _, v := range via {
		if v.URL.String() == req.URL.String() && v.Method == req.Method {
			return fmt.Errorf("%w: %s redirects in a loop", ErrRedirect, pathOnly(req.URL))
		}
	}
	left := !origin.Same(req.URL, via[0].URL)
	for _, hop := range via[1:] {
		left = left || !origin.Same(hop.URL, via[0].URL)
	}
	if left {
		req.Header.Del("Authorization")
	}
	return nil
}

// pathOnly shows a URL without its query, which may hold secrets.
func pathOnly(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// carriedToken reports whether the request that got resp sent the token:
// a 401 from a host the token was not sent to is no reason to refresh.
func carriedToken(resp *http.Response) bool {
	return resp.Request != nil && resp.Request.Header.Get("Authorization") != ""
}

// idempotent methods (RFC 9110 9.2.2) may be sent twice without harm.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

func retryStatus(code int) bool {
	return code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout
}

// retryable reports whether err, a failure to get an answer, may pass by
// waiting: a refused, reset or dropped connection, a timeout, a temporary
// DNS failure. A certificate the client refuses, a server that does not
// speak TLS, an unknown host, a refused redirect, a body file that cannot
// be read, or the caller's own cancellation will not.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, ErrRedirect) {
		return false
	}
	var (
		certErr    *tls.CertificateVerificationError
		recordErr  tls.RecordHeaderError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		pathErr    *fs.PathError
		dnsErr     *net.DNSError
	)
	switch {
	case errors.As(err, &certErr), errors.As(err, &recordErr), errors.As(err, &unknownCA),
		errors.As(err, &hostErr), errors.As(err, &invalidErr), errors.As(err, &pathErr):
		return false
	case errors.As(err, &dnsErr):
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http turns the tls.RecordHeaderError of a plain-HTTP
		// server into this unexported error; only its text is left.
		return false
	}
	// net/http reports a dropped connection in many forms (io.EOF,
	// ECONNRESET, "server closed idle connection", "connection broken"),
	// not all of them exported: anything else is taken as transient.
	return true
}

// retryAfter reads a 503's Retry-After. It returns -1 when there is none
// (use the backoff), and ok false when the server asks for longer than
// MaxRetryAfter.
func (c *Client) retryAfter(resp *http.Response) (wait time.Duration, ok bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return -1, true
	}
	if secs, err := strconv.Atoi(v); err == nil {
		wait = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		wait = t.Sub(now())
	} else {
		return -1, true
	}
	return max(wait, 0), wait <= MaxRetryAfter
}

func (c *Client) backoff(n int) time.Duration {
	if c.Backoff != nil {
		return c.Backoff(n)
	}
	return DefaultBackoff(n)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// discard drops an answer that is not shown, reading a little of it so
// the connection can be reused.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}
