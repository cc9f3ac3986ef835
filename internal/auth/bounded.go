package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultNetworkTimeout bounds each request to the provider, its whole
// answer included, when the profile sets no timeout.
const DefaultNetworkTimeout = 30 * time.Second

// maxAnswer caps every answer read from the provider at the transport: the
// JWKS, which go-oidc reads whole, and SCIM's /admin/v1/Me, which may list
// many groups. Discovery, token, userinfo and device answers are cut at
// maxBody before that.
const maxAnswer = 4 << 20

// DeadlineError means a request to the provider did not get its whole
// answer, headers and body, within the deadline: the provider stopped
// answering, or trickles its answer.
type DeadlineError struct {
	URL     string // the endpoint, without query
	Timeout time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("%s did not finish answering within %s (raise the profile's timeout setting, or --timeout, if the provider is only slow)", e.URL, e.Timeout)
}

// TooLargeError means a provider's answer was larger than idcsctl reads.
type TooLargeError struct {
	URL   string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the answer of %s is larger than %d bytes; it was not read", e.URL, e.Limit)
}

// BoundedClient returns a client that sends through hc's transport but
// gives every request an overall deadline of timeout (DefaultNetworkTimeout
// when 0), covering the body and not only the headers, and stops reading
// any answer at 4 MiB. Every request to the provider goes through one:
// discovery, JWKS, token, userinfo, SCIM, revocation. go-oidc gets it too
// (oidc.ClientContext), so the key set it reads is bounded the same way.
func BoundedClient(hc *http.Client, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultNetworkTimeout
	}
	base := httpClient(hc)
	out := *base
	out.Transport = &boundedTransport{base: base.Transport, timeout: timeout, limit: maxAnswer}
	return &out
}

type boundedTransport struct {
	base    http.RoundTripper
	timeout time.Duration
	limit   int64
}

func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	de := &DeadlineError{URL: endpointURL(req.URL), Timeout: t.timeout}
	ctx, cancel := context.WithTimeoutCause(req.Context(), t.timeout, de)
	resp, err := base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		expired := context.Cause(ctx) == error(de)
		cancel()
		if expired {
			return nil, de
		}
		return nil, err
	}
	resp.Body = &boundedBody{rc: resp.Body, ctx: ctx, cancel: cancel, deadline: de, left: t.limit,
		tooLarge: &TooLargeError{URL: de.URL, Limit: t.limit}}
	return resp, nil
}

// boundedBody ends the request's deadline when closed, turns a read cut by
// the deadline into the *DeadlineError, and refuses more than its limit.
type boundedBody struct {
	rc       io.ReadCloser
	ctx      context.Context
	cancel   context.CancelFunc
	deadline *DeadlineError
	tooLarge *TooLargeError
	left     int64
	err      error // sticky: once cut, every later read fails the same way
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	// One byte past the limit tells a body of exactly the limit from a
	// larger one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		b.err = b.tooLarge
		return 0, b.err
	}
	b.left -= int64(n)
	if err != nil && err != io.EOF && context.Cause(b.ctx) == error(b.deadline) {
		b.err = b.deadline
		return n, b.err
	}
	return n, err
}

func (b *boundedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// endpointURL names an endpoint in a message: no query (it may hold a
// secret), no user information.
func endpointURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User = "", "", nil
	return c.String()
}

// isCut reports whether err says an answer was cut by the deadline or the
// size cap; such an error names the URL itself.
func isCut(err error) bool {
	var (
		de *DeadlineError
		tl *TooLargeError
	)
	return errors.As(err, &de) || errors.As(err, &tl)
}
