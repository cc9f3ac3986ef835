package fetch

import (
	"encoding/json"
	"net/http"
	"strings"
)

// TokenRejected reports whether resp is a 401 whose WWW-Authenticate
// header says the bearer token is invalid (RFC 6750 3.1: expired, revoked,
// malformed), the one answer a refresh can cure. A 401 without that code
// (no token sent, another scheme wanted) is not.
func TokenRejected(resp *http.Response) bool {
	return resp.StatusCode == http.StatusUnauthorized &&
		bearerError(resp.Header.Values("WWW-Authenticate")) == "invalid_token"
}

// InsufficientScope reports whether a 403 answer says that the access
// token lacks a scope the resource needs: RFC 6750's insufficient_scope, in
// the Bearer challenge or an OAuth error document, or IDCS's SCIM error
// (messageId error.common.common.insufficientScope). scope is the scope the
// challenge names (RFC 6750 3), "" when it names none. body is the answer,
// or its beginning.
func InsufficientScope(resp *http.Response, body []byte) (scope string, ok bool) {
	if resp.StatusCode != http.StatusForbidden {
		return "", false
	}
	params := bearerParams(resp.Header.Values("WWW-Authenticate"))
	if strings.EqualFold(params["error"], "insufficient_scope") {
		return params["scope"], true
	}
	var doc struct {
		Error string `json:"error"`
		IDCS  struct {
			MessageID string `json:"messageId"`
		} `json:"urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "", false
	}
	return "", doc.Error == "insufficient_scope" || strings.HasSuffix(doc.IDCS.MessageID, ".insufficientScope")
}

// bearerError returns the error parameter of the Bearer challenge in the
// WWW-Authenticate header values, or "".
func bearerError(values []string) string { return bearerParams(values)["error"] }

// bearerParams returns the parameters of the first Bearer challenge in the
// WWW-Authenticate header values, their names in lower case. The grammar
// (RFC 9110 11.6.1) lets one header list several challenges, separated by
// the same commas that separate a challenge's parameters, so it is read
// token by token.
func bearerParams(values []string) map[string]string {
	params := map[string]string{}
	for _, v := range values {
		l := &lexer{s: v}
		scheme := ""
		for {
			l.skip(" \t,")
			tok := l.token()
			if tok == "" {
				if !l.advance() {
					break
				}
				continue
			}
			l.skip(" \t")
			if !l.peek('=') {
				scheme = strings.ToLower(tok)
				continue
			}
			l.pos++
			l.skip(" \t")
			// A token68 ("abc==") is a run of '=' after a token: it is
			// no parameter.
			if l.peek('=') || l.peek(',') || l.done() {
				l.skip("=")
				continue
			}
			val := l.value()
			if scheme == "bearer" {
				if _, seen := params[strings.ToLower(tok)]; !seen {
					params[strings.ToLower(tok)] = val
				}
			}
		}
	}
	return params
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) done() bool { return l.pos >= len(l.s) }

func (l *lexer) peek(c byte) bool { return l.pos < len(l.s) && l.s[l.pos] == c }

// advance skips one byte that starts nothing, and reports whether any
// input is left.
func (l *lexer) advance() bool {
	if l.done() {
		return false
	}
	l.pos++
	return true
}

func (l *lexer) skip(set string) {
	for l.pos < len(l.s) && strings.IndexByte(set, l.s[l.pos]) >= 0 {
		l.pos++
	}
}

func (l *lexer) token() string {
	start := l.pos
	for l.pos < len(l.s) && isToken(l.s[l.pos:l.pos+1]) {
		l.pos++
	}
	return l.s[start:l.pos]
}

// value reads a token or a quoted string, undoing its backslash escapes.
func (l *lexer) value() string {
	if !l.peek('"') {
		return l.token()
	}
	l.pos++
	var b strings.Builder
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		l.pos++
		switch {
		case c == '"':
			return b.String()
		case c == '\\' && l.pos < len(l.s):
			b.WriteByte(l.s[l.pos])
			l.pos++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
