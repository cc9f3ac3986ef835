package fetch

import (
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

// bearerError returns the error parameter of the Bearer challenge in the
// WWW-Authenticate header values, or "". The grammar (RFC 9110 11.6.1)
// lets one header list several challenges, separated by the same commas
// that separate a challenge's parameters, so it is read token by token.
func bearerError(values []string) string {
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
			if scheme == "bearer" && strings.EqualFold(tok, "error") {
				return val
			}
		}
	}
	return ""
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
