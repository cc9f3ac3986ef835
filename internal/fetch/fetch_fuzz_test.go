package fetch

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzCheckJSON compares --json's streaming check with a reading of the
// same bytes by encoding/json: a body passes exactly when it is one or more
// complete JSON values.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"a": [1, 2, {"b": null}]}`, `"x"`, `{"a":1} {"a":2}`, `1 2`, ``, "  \n",
		`{"a": 1,}`, `{a: 1}`, `tru`, `"abc`,
		// Regressions: a body cut inside an object or array passed the
		// check until it tracked the nesting depth.
		`{`, `[1,`, `{"a":`, `{"a"`, `{} {`, `[[]`,
		`]`, `}`, `{]`, `[}`, `{"a":1}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if strings.HasPrefix(data, "@") {
			return // a file name, not a body
		}
		b, err := ParseData(data, strings.NewReader(""))
		if err != nil {
			t.Fatalf("ParseData of a literal body: %v", err)
		}
		got := b.CheckJSON()

		dec := json.NewDecoder(strings.NewReader(data))
		values := 0
		var want error
		for want == nil {
			var v any
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			want = err
			values++
		}
		if want == nil && values == 0 {
			want = errors.New("empty")
		}
		if (got == nil) != (want == nil) {
			t.Fatalf("CheckJSON(%q) = %v, but encoding/json says %v", data, got, want)
		}
	})
}

// FuzzTokenRejected reads fuzzed WWW-Authenticate headers of a 401. The
// hand-written lexer must never panic or loop, and must call a token
// rejected only when a Bearer challenge names invalid_token.
func FuzzTokenRejected(f *testing.F) {
	for _, s := range []string{
		`Bearer error="invalid_token"`,
		`Bearer realm="idcs", error="invalid_token", error_description="The access token expired"`,
		`Bearer error=invalid_token`,
		`bearer ERROR="invalid_token"`,
		`Basic realm="x", Bearer error="invalid_token"`,
		`Basic error="invalid_token"`,
		`Bearer error="insufficient_scope"`,
		`Bearer abc==, error="invalid_token"`,
		`Bearer error="invalid\_token"`,
		`Bearer error="invalid_token`,
		`Bearer error=`,
		`Bearer =`,
		`Bearer ,,,, error = "invalid_token"`,
		`Bearer error="\`,
		"Bearer \x00error=\"invalid_token\"",
		``,
	} {
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		h := http.Header{}
		for _, v := range []string{first, second} {
			if v != "" {
				h.Add("WWW-Authenticate", v)
			}
		}
		resp := &http.Response{StatusCode: http.StatusUnauthorized, Header: h}
		if !TokenRejected(resp) {
			return
		}
		all := strings.ToLower(strings.ReplaceAll(first+"\n"+second, `\`, ""))
		if !strings.Contains(all, "bearer") || !strings.Contains(all, "invalid_token") {
			t.Fatalf("called the token rejected for %q, %q", first, second)
		}
		resp.StatusCode = http.StatusForbidden
		if TokenRejected(resp) {
			t.Fatal("a 403 was taken for a rejected token")
		}
	})
}
