package fetch

import (
	"net/http"
	"strings"
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

func TestInsufficientScopeReadsTheChallengeAndTheErrorDocuments(t *testing.T) {
	const scim = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error","urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error"],` +
		`"detail":"The access token does not have the scope this resource needs.","status":"403",` +
		`"urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error":{"messageId":"error.common.common.insufficientScope"}}`
	tests := []struct {
		name      string
		status    int
		header    []string
		body      string
		wantScope string
		want      bool
	}{
		{"challenge naming the scope", 403, []string{`Bearer realm="IDCS", error="insufficient_scope", scope="openid"`}, "", "openid", true},
		{"challenge without scope", 403, []string{`Bearer error="insufficient_scope"`}, "", "", true},
		{"OAuth error document", 403, nil, `{"error":"insufficient_scope","error_description":"x"}`, "", true},
		{"IDCS SCIM error", 403, nil, scim, "", true},
		{"another SCIM error", 403, nil, strings.Replace(scim, "insufficientScope", "forbidden", 1), "", false},
		{"a plain 403", 403, nil, "<html>Forbidden</html>", "", false},
		{"not a 403", 401, []string{`Bearer error="insufficient_scope", scope="a"`}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Www-Authenticate": tt.header}}
			scope, ok := InsufficientScope(resp, []byte(tt.body))
			if ok != tt.want || scope != tt.wantScope {
				t.Errorf("InsufficientScope = %q, %v; want %q, %v", scope, ok, tt.wantScope, tt.want)
			}
		})
	}
}
