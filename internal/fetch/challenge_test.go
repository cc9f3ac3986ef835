package fetch

import (
	"net/http"
	"testing"
)

func TestTokenRejectedReadsTheBearerChallenge(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header []string
		want   bool
	}{
		{"IDCS invalid token", 401, []string{`Bearer realm="IDCS", error="invalid_token", error_description="The access token is expired."`}, true},
		{"unquoted error", 401, []string{`Bearer error=invalid_token`}, true},
		{"scheme in other case", 401, []string{`bearer ERROR="invalid_token"`}, true},
		{"after another challenge in one header", 401, []string{`Basic realm="x", Bearer realm="y", error="invalid_token"`}, true},
		{"in a second header", 401, []string{`Basic realm="x"`, `Bearer error="invalid_token"`}, true},
		{"description with commas and quotes", 401, []string{`Bearer error_description="a, b \"c\"", error="invalid_token"`}, true},
		{"after a token68 challenge", 401, []string{`Negotiate abc==, Bearer error="invalid_token"`}, true},
		{"no token sent: no error code", 401, []string{`Bearer realm="IDCS"`}, false},
		{"insufficient scope", 401, []string{`Bearer error="insufficient_scope"`}, false},
		{"error of another scheme", 401, []string{`Custom error="invalid_token"`}, false},
		{"error of another scheme after Bearer", 401, []string{`Bearer realm="r", Custom error="invalid_token"`}, false},
		{"no header", 401, nil, false},
		{"not a 401", 403, []string{`Bearer error="invalid_token"`}, false},
		{"garbage", 401, []string{`=,,"" ;; Bearer`}, false},
		{"unterminated quote", 401, []string{`Bearer error="invalid_token`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Www-Authenticate": tt.header}}
			if got := TokenRejected(resp); got != tt.want {
				t.Errorf("TokenRejected = %v, want %v", got, tt.want)
			}
		})
	}
}
