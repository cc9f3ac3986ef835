package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

// fuzzDomain is the profile domain of FuzzFetchFlags.
const fuzzDomain = "https://idcs-fuzz.identity.oraclecloud.com"

// isHTTPToken reports whether s is an RFC 9110 token, the grammar of
// header names and methods; written here again so the fuzz target checks
// fetch's parser against an independent reading.
func isHTTPToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)))
	})
}

// FuzzFetchFlags plans fetches from fuzzed flags: the URL, -X, two -H, -d
// or --json, and --allow-host. Planning must never panic; every refusal must
// be a usage error (exit 2) without control characters; a plan it accepts
// must never carry a person's Authorization header, a header that could
// split the request, a method that is not a token, or the token to a URL
// other than the profile's domain (or the allowed host) over https (or
// loopback http).
func FuzzFetchFlags(f *testing.F) {
	seeds := []struct {
		target, method, h1, h2, data string
		json                         bool
		allow                        string
	}{
		{"/admin/v1/Me", "", "", "", "", false, ""},
		{"admin/v1/Me?attributes=userName", "GET", "Accept: application/scim+json", "X-Trace: 1", "", false, ""},
		{"/admin/v1/Users", "POST", "Content-Type: application/scim+json", "", `{"userName":"x"}`, true, ""},
		{"/admin/v1/Users/1", "PATCH", "", "", "@body.json", true, ""},
		{"/admin/v1/Users/1", "PATCH", "", "", "@bad.json", true, ""},
		{"/x", "", "", "", "@-", false, ""},
		{"/x", "", "", "", "@", false, ""},
		{"/x", "", "", "", "@missing", false, ""},
		{"/x", "", "", "", "a=1&b=2", false, ""},
		{"/x", "", "", "", "{", true, ""},
		{"/x", "", "", "", "", true, ""},
		{"https://api.example.com/orders", "", "", "", "", false, "api.example.com"},
		{"https://api.example.com:8443/orders", "", "", "", "", false, "api.example.com"},
		{"https://a.api.example.com/orders", "", "", "", "", false, "*.example.com"},
		{"https://evil.example/steal", "", "", "", "", false, ""},
		{"http://idcs-fuzz.identity.oraclecloud.com/x", "", "", "", "", false, ""},
		{"http://127.0.0.1:8080/x", "", "", "", "", false, "127.0.0.1:8080"},
		{"//evil.example/x", "", "", "", "", false, ""},
		{"https://user:pw@idcs-fuzz.identity.oraclecloud.com/x", "", "", "", "", false, ""},
		{"HTTPS://IDCS-FUZZ.identity.oraclecloud.com./x#frag", "", "", "", "", false, ""},
		{"ftp://idcs-fuzz.identity.oraclecloud.com/x", "", "", "", "", false, ""},
		{"https:idcs-fuzz.identity.oraclecloud.com", "", "", "", "", false, ""},
		{"/x", "GET POST", "", "", "", false, ""},
		{"/x", "", "Authorization: Bearer stolen", "", "", false, ""},
		{"/x", "", "authorization: Basic eDp5", "", "", false, ""},
		{"/x", "", "Host: other.example", "", "", false, ""},
		{"/x", "", "X-Bad: a\r\nInjected: 1", "", "", false, ""},
		{"/x", "", "Bad Name: v", "", "", false, ""},
		{"/x", "", "no colon", "", "", false, ""},
		{"/x", "", ": empty name", "", "", false, ""},
		{"/x", "", "", "", "", false, "https://api.example.com"},
		{"/x", "", "", "", "", false, "*"},
		{"/x", "", "", "", "", false, "[::1]:0"},
		{"/\x1b[2J", "", "X-\x1b: v", "", "", false, "\x1b[31m"},
		{"%zz", "", "", "", "", false, ""},
		{"", "", "", "", "", false, ""},
	}
	for _, s := range seeds {
		f.Add(s.target, s.method, s.h1, s.h2, s.data, s.json, s.allow)
	}
	dir := f.TempDir()
	for name, body := range map[string]string{"body.json": `{"a":1}`, "bad.json": `{`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			f.Fatal(err)
		}
	}
	env := map[string]string{
		"IDCSCTL_CONFIG":    filepath.Join(dir, "config.toml"), // absent: an empty config
		"IDCSCTL_DOMAIN":    fuzzDomain,
		"IDCSCTL_CLIENT_ID": "cli-fuzz",
	}
	f.Fuzz(func(t *testing.T, target, method, h1, h2, data string, useJSON bool, allow string) {
		// A body file is read from the fuzz folder only: the data flag's
		// parsing is under test, not whatever file a path may name.
		if name, ok := strings.CutPrefix(data, "@"); ok && name != "-" && (strings.ContainsAny(name, `/\`) || strings.Contains(name, "..")) {
			return
		}
		t.Chdir(dir)
		d := &deps{Stdin: strings.NewReader(`{"from":"stdin"}`), Getenv: func(k string) string { return env[k] }, Now: time.Now}
		a := &app{deps: d, global: &globalOptions{output: "text"}}
		o := &fetchOptions{target: target, method: method, retries: 2}
		for _, h := range []string{h1, h2} {
			if h != "" {
				o.headers = append(o.headers, h)
			}
		}
		if allow != "" {
			o.allowHosts = []string{allow}
		}
		if useJSON {
			o.json, o.jsonSet = data, true
		} else if data != "" {
			o.data, o.dataSet = data, true
		}

		plan, err := planFetch(a, o)
		if err != nil {
			if code := exitCode(err); code != exitUsage {
				t.Fatalf("refused with exit %d, want %d (usage): %v", code, exitUsage, err)
			}
			if strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Fatalf("the error holds control characters: %q", err.Error())
			}
			return
		}
		req := plan.req
		if !isHTTPToken(req.Method) {
			t.Fatalf("planned method %q", req.Method)
		}
		for name, values := range req.Header {
			if !isHTTPToken(name) || name != http.CanonicalHeaderKey(name) {
				t.Fatalf("planned header name %q", name)
			}
			if name == "Authorization" {
				t.Fatalf("a -H Authorization header was planned: %q", values)
			}
			for _, v := range values {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header %s holds a line break or NUL: %q", name, v)
				}
			}
		}
		if strings.ContainsAny(req.Host, "\r\n\x00") {
			t.Fatalf("the Host header holds a line break or NUL: %q", req.Host)
		}
		u := req.URL
		if u.User != nil || u.Fragment != "" {
			t.Fatalf("planned URL %s keeps a user or fragment", u.Redacted())
		}
		host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		switch {
		case u.Scheme == "http" && host != "localhost" && !strings.HasPrefix(host, "127.") && host != "::1":
			t.Fatalf("the token would go over plain http to %s", u.Host)
		case u.Scheme != "https" && u.Scheme != "http":
			t.Fatalf("planned scheme %q", u.Scheme)
		case allow == "" && (u.Scheme != "https" || host != strings.TrimPrefix(fuzzDomain, "https://") || (u.Port() != "" && u.Port() != "443")):
			t.Fatalf("the token would go to %s, which is not the profile's domain", u.Redacted())
		}
		if useJSON && !strings.HasPrefix(data, "@") {
			// --json takes a stream of JSON values, at least one.
			dec := json.NewDecoder(strings.NewReader(data))
			n := 0
			for {
				var v any
				err := dec.Decode(&v)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("--json accepted a body that is not JSON (%v): %q", err, data)
				}
				n++
			}
			if n == 0 {
				t.Fatalf("--json accepted an empty body: %q", data)
			}
		}
	})
}

// TestFetchRefusesAHugeResponseHeader proves a server cannot make idcsctl
// read an endless header: the transport stops at 1 MiB and the command
// exits 1 with a message, without showing the header. The same transport
// carries every request idcsctl makes (discovery, token, JWKS, userinfo).
func TestFetchRefusesAHugeResponseHeader(t *testing.T) {
	filler := strings.Repeat("h", 64<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 40 { // 40 x 64 KiB: 2.5 MiB of header
			w.Header().Add("X-Filler", filler+string(rune('a'+i%26)))
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	a, stdout, _ := fetchApp(t, srv.URL, "", false)
	err := runFetch(t.Context(), a, &fetchOptions{target: "/big", retries: 0})
	if err == nil {
		t.Fatal("a 2.5 MiB response header was accepted")
	}
	if code := exitCode(err); code != exitError {
		t.Errorf("exit %d, want %d: %v", code, exitError, err)
	}
	if !strings.Contains(err.Error(), "header") || strings.Contains(err.Error(), filler[:64]) {
		t.Errorf("err = %.300v, want it to name the header without showing it", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %.100q, want nothing", stdout.String())
	}
	var ue *usageError
	if errors.As(err, &ue) {
		t.Errorf("a server's answer was reported as a usage error: %v", err)
	}
}
