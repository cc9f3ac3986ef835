package auth

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// redactedText replaces a secret in provider text shown to a person.
const redactedText = "[redacted]"

// minSecretLen is the length below which a value is not redacted: replacing
// a two-letter value everywhere would garble the message and hide nothing.
const minSecretLen = 6

// redact returns s with every secret replaced, in its plain and its
// URL-encoded form: a provider that quotes the request quotes it encoded.
func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) < minSecretLen {
			continue
		}
		s = strings.ReplaceAll(s, sec, redactedText)
		if enc := url.QueryEscape(sec); enc != sec {
			s = strings.ReplaceAll(s, enc, redactedText)
		}
	}
	return s
}

// Redact returns provider text s with every secret replaced by
// "[redacted]", in its plain and its URL-encoded form.
func Redact(s string, secrets ...string) string { return redact(s, secrets) }

// secretParams are the form parameters of a request to the provider that
// hold secrets of the flow or the profile.
var secretParams = []string{
	"code", "code_verifier", "refresh_token", "client_secret", "device_code",
	"token", "subject_token", "assertion", "client_assertion", "password",
}

// requestSecrets lists the secrets a request to the provider carries: its
// credentials (HTTP Basic, Bearer) and secret form parameters. The body is
// read through GetBody, so the request itself is left as it was.
func requestSecrets(req *http.Request) []string {
	var out []string
	if _, pass, ok := req.BasicAuth(); ok {
		out = append(out, pass)
		// x/oauth2 escapes the secret before Basic encoding it (RFC 6749
		// 2.3.1); a provider may quote either form.
		if p, err := url.QueryUnescape(pass); err == nil {
			out = append(out, p)
		}
	}
	// The credentials of the Authorization header as sent (a Bearer token,
	// or Basic's base64 that any reader can decode).
	if _, cred, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok {
		out = append(out, strings.TrimSpace(cred))
	}
	for _, k := range secretParams {
		out = append(out, req.URL.Query()[k]...)
	}
	if req.GetBody == nil {
		return out
	}
	body, err := req.GetBody()
	if err != nil {
		return out
	}
	defer body.Close()
	raw, err := io.ReadAll(io.LimitReader(body, maxBody))
	if err != nil {
		return out
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return out
	}
	for _, k := range secretParams {
		out = append(out, form[k]...)
	}
	return out
}

// RedactError replaces every secret in the provider text err carries (a
// *ProviderError's code, description and URI, an *AuthorizeRequestError's
// page text), so that an error shown to a person never quotes a secret the
// provider echoed back. It returns err for chaining.
func RedactError(err error, secrets ...string) error {
	var pe *ProviderError
	if errors.As(err, &pe) {
		pe.Code = redact(pe.Code, secrets)
		pe.Description = redact(pe.Description, secrets)
		pe.URI = redact(pe.URI, secrets)
	}
	var ae *AuthorizeRequestError
	if errors.As(err, &ae) {
		ae.Title = redact(ae.Title, secrets)
		ae.Message = redact(ae.Message, secrets)
	}
	return err
}

// escapeSequence matches the terminal escape sequences a hostile string may
// carry: CSI (ESC [ or the C1 byte U+009B) with its parameters, OSC (ESC ]
// or U+009D) up to its terminator, DCS, SOS, PM and APC strings, and any
// other two-character ESC sequence.
var escapeSequence = regexp.MustCompile(`(?:\x1b\[|\x{9b})[0-?]*[ -/]*[@-~]?` +
	`|(?:\x1b[\]PX^_]|[\x{9d}\x{90}\x{98}\x{9e}\x{9f}])[^\x07\x1b\x{9c}]*(?:\x07|\x1b\\|\x{9c})?` +
	`|\x1b[ -~]?`)

// Printable makes provider text safe to show on a terminal: escape
// sequences are removed whole, line breaks and tabs become spaces, other
// control and invisible characters are dropped, and the result is cut at
// limit runes (0: no limit). A provider controls this text: it must not
// move the cursor, retitle the window or forge lines of output.
func Printable(s string, limit int) string {
	if strings.ContainsAny(s, "\x1b\u009b\u009d\u0090\u0098\u009e\u009f") {
		s = escapeSequence.ReplaceAllString(s, "")
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case !unicode.IsPrint(r):
			return -1
		}
		return r
	}, s)
	if limit > 0 {
		if r := []rune(s); len(r) > limit {
			s = string(r[:limit]) + "…"
		}
	}
	return s
}
