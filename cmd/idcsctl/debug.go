package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
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
		http.StatusText(resp.StatusCode), printableText(resp.Header.Get("Content-Type"), 100), took)
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

// printableText keeps a server's text from reaching the terminal as
// control characters (a C1 CSI passes net/http's header checks) and from
// flooding it.
func printableText(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return s
}

// redactURL shows a URL with secret query values replaced and any
// userinfo and fragment (where implicit-flow tokens travel) dropped.
func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
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
