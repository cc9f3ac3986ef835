package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// debugTransport logs each request's method, redacted URL, status and
// time on stderr. It never logs headers or bodies: they carry the
// Authorization header, cookies, codes, verifiers and tokens.
type debugTransport struct {
	base http.RoundTripper
	w    io.Writer
	now  func() time.Time
	mu   sync.Mutex
}

func (t *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := t.now()
	resp, err := t.base.RoundTrip(req)
	took := t.now().Sub(start).Round(time.Millisecond)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		fmt.Fprintf(t.w, "debug: %s %s failed after %s\n", req.Method, redactURL(req.URL), took)
		return nil, err
	}
	fmt.Fprintf(t.w, "debug: %s %s -> %d %s (%s, %s)\n", req.Method, redactURL(req.URL), resp.StatusCode,
		http.StatusText(resp.StatusCode), resp.Header.Get("Content-Type"), took)
	return resp, nil
}

// publicParam reports query parameters that never carry a secret; every
// other value is replaced, so a new secret parameter is redacted by default.
func publicParam(name string) bool {
	switch name {
	case "client_id", "response_type", "scope", "redirect_uri", "code_challenge_method",
		"startIndex", "count", "filter", "attributes", "sortBy", "sortOrder", "prompt",
		"post_logout_redirect_uri", "error", "error_description":
		return true
	}
	return false
}

// redactURL shows a URL with secret query values replaced and any
// userinfo dropped.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	q := c.Query()
	for k, vs := range q {
		if publicParam(k) {
			continue
		}
		for i := range vs {
			vs[i] = "REDACTED"
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}
