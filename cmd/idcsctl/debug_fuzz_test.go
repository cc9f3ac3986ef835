package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzDebugTransport logs fuzzed requests and answers through the --debug
// transport. Each request must make exactly one line, free of control
// characters a hostile server could use on the terminal, that shows no user
// name or password, no fragment, and the value of no query parameter outside
// the public list.
func FuzzDebugTransport(f *testing.F) {
	for _, s := range []string{
		"https://idcs-x.identity.oraclecloud.com/oauth2/v1/token",
		"http://127.0.0.1:8000/callback?code=c0de-5ecret&state=st4te-5ecret",
		"https://x/oauth2/v1/authorize?client_id=c&code_challenge=ch&code_challenge_method=S256&nonce=n0nce-5ecret&redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fcallback&response_type=code&scope=openid&state=st4te-5ecret",
		"https://x/admin/v1/Users?filter=userName+eq+%22a%22&count=10&startIndex=1&access_token=t0ken-5ecret",
		"https://user:pa55word-5ecret@x/y",
		"https://x/y?Code=c0de-5ecret&CODE=c0de-5ecret",
		"https://x/y?code=a;b=c0de-5ecret",
		"https://x/y?%63ode=c0de-5ecret",
		"https://x/y?code=c0de%2D5ecret",
		"https://x/y#access_token=t0ken-5ecret",
		"https://x/y?id_token_hint=eyJ.eyJ.sig&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%2F",
		"https://x/%1b[2J?code=%1b",
	} {
		f.Add(s, 200, "application/json", false)
		f.Add(s, 302, "", true)
	}
	f.Add("https://x/y", 200, "text/html\x1b[2J\x1b]0;owned\x07", false)
	f.Add("https://x/y", 200, "application/json\u009b31m", false)
	f.Add("https://x/y", 999, "a\nb", false)
	f.Fuzz(func(t *testing.T, raw string, status int, contentType string, fail bool) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		if status < 100 || status > 999 {
			status = 200
		}
		var out bytes.Buffer
		dt := &debugTransport{
			base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				if fail {
					return nil, errors.New("connection refused")
				}
				return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}, Request: r}, nil
			}),
			w:   &out,
			now: func() time.Time { return time.Unix(0, 0) },
		}
		_, _ = dt.RoundTrip(&http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}})

		line, ok := strings.CutSuffix(out.String(), "\n")
		if !ok || strings.ContainsFunc(line, unicode.IsControl) {
			t.Fatalf("the debug output is not one line of printable text: %q", out.String())
		}
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[0] != "debug:" {
			t.Fatalf("unexpected debug line %q", line)
		}
		// A URL no transport would send (no host, say) may print as
		// text that does not parse again; the text search below still
		// covers it.
		if shown, err := url.Parse(fields[2]); err == nil {
			if shown.Fragment != "" {
				t.Fatalf("the logged URL %q keeps a fragment", fields[2])
			}
			for name, values := range shown.Query() {
				for _, v := range values {
					if !publicParam(name) && v != "REDACTED" {
						t.Fatalf("the logged URL shows %s=%q", name, v)
					}
				}
			}
		}
		// A secret must not appear anywhere else in the line either,
		// unless what is shown by design (the path, the host, parameter
		// names, the server's media type) holds the same text.
		public := u.EscapedPath() + " " + u.Host + " " + contentType
		for name := range u.Query() {
			public += " " + name
		}
		if p, ok := u.User.Password(); ok && len(p) >= 8 && strings.Contains(line, p) && !strings.Contains(public, p) {
			t.Fatalf("the debug line shows the URL's password: %q", line)
		}
		if n := u.User.Username(); len(n) >= 8 && strings.Contains(line, n) && !strings.Contains(public, n) {
			t.Fatalf("the debug line shows the URL's user name: %q", line)
		}
		for name, values := range u.Query() {
			for _, v := range values {
				if !publicParam(name) && len(v) >= 8 && strings.Contains(line, v) && !strings.Contains(public, v) {
					t.Fatalf("the debug line shows the value of %s: %q", name, line)
				}
			}
		}
	})
}
