package auth

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCallbackHandler sends the loopback server's handler requests parsed
// by net/http from fuzzed request targets and Host headers, as a browser, a
// link checker or a hostile page could send them. The handler must never
// panic, must end the sign-in only for a GET of the redirect path on the
// redirect URI's Host that carries exactly this flow's state, must hand on
// exactly the code the query holds, must end it at most once, and must never
// echo provider text into a script on its page.
func FuzzCallbackHandler(f *testing.F) {
	const host = "127.0.0.1:8000"
	seeds := []struct {
		method, target, host string
	}{
		{"GET", "/callback?code=abc&state=" + testState, host},
		{"GET", "/callback?code=abc&state=other", host},
		{"GET", "/callback?code=abc", host},
		{"GET", "/callback?code=abc&state=" + testState + "&state=" + testState, host},
		{"GET", "/callback?error=access_denied&error_description=No+way&state=" + testState, host},
		{"GET", "/callback?error=x&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=" + testState, host},
		{"GET", "/callback?state=" + testState, host},
		{"GET", "/callback?code=&state=" + testState, host},
		{"GET", "/callback?code=a&code=b&state=" + testState, host},
		{"GET", "/callback?code=abc&iss=https://evil.example/&state=" + testState, host},
		{"GET", "/callback?code=abc&iss=" + idcsIssuer + "&state=" + testState, host},
		{"GET", "/callback?code=abc&state=" + testState, "evil.example:8000"},
		{"GET", "/callback?code=abc&state=" + testState, "LOCALHOST:8000"},
		{"GET", "/callback?code=abc&state=" + testState, "127.0.0.1:8000 "},
		{"GET", "/%63allback?code=abc&state=" + testState, host},
		{"GET", "/callback/?code=abc&state=" + testState, host},
		{"GET", "/callback?code=abc;state=" + testState, host},
		{"GET", "/callback?code=%zz&state=" + testState, host},
		{"GET", "/callback?code=abc&state=" + testState + "%00", host},
		{"GET", "http://127.0.0.1:8000/callback?code=abc&state=" + testState, host},
		{"GET", "//evil.example/callback?code=abc&state=" + testState, host},
		{"HEAD", "/callback?code=abc&state=" + testState, host},
		{"POST", "/callback?code=abc&state=" + testState, host},
		{"OPTIONS", "*", host},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.host)
	}
	f.Fuzz(func(t *testing.T, method, target, hostHeader string) {
		// Parse the request the way the server does; what net/http refuses
		// never reaches the handler.
		raw := method + " " + target + " HTTP/1.1\r\nHost: " + hostHeader + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		results := make(chan callbackResult, 2)
		h, err := newCallbackHandler([]string{host}, "/callback", testState, idcsIssuer, results)
		if err != nil {
			t.Fatal(err)
		}

		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		q := req.URL.Query()
		rightState := len(q["state"]) == 1 && q["state"][0] == testState
		served := strings.EqualFold(req.Host, host) && req.URL.EscapedPath() == "/callback" && req.Method == http.MethodGet
		var res *callbackResult
		select {
		case r := <-results:
			res = &r
		default:
		}
		switch {
		case res != nil && !(served && rightState):
			t.Fatalf("the flow ended on %s %q Host %q without this flow's state on the redirect URI: %+v", method, target, hostHeader, *res)
		case res == nil && served && rightState:
			t.Fatalf("a GET with the right state on the redirect URI did not end the flow: %q Host %q, status %d", target, hostHeader, rec.Code)
		}
		if res != nil {
			switch {
			case res.code == "" && res.err == nil:
				t.Fatal("the flow ended with neither a code nor an error")
			case res.code != "" && res.err != nil:
				t.Fatal("the flow ended with both a code and an error")
			case res.code != "" && (q.Get("error") != "" || len(q["code"]) != 1 || q["code"][0] != res.code):
				t.Fatalf("the flow ended with code %q, but the query has code %q and error %q", res.code, q["code"], q.Get("error"))
			}
		}
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		if n := strings.Count(strings.ToLower(rec.Body.String()), "<script"); n > 1 {
			t.Fatalf("the page holds %d scripts; the query reached it unescaped:\n%s", n, rec.Body.String())
		}
		if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("the answer lacks its security headers: %v", rec.Header())
		}

		// The same request again never ends the flow: either it already
		// ended, or the request could not end it the first time either.
		again, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		h.ServeHTTP(httptest.NewRecorder(), again)
		select {
		case r := <-results:
			t.Fatalf("a repeated callback ended the flow (first result %v): %+v", res, r)
		default:
		}
	})
}
