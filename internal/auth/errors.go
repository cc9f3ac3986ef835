package auth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrCancelled means the person or the caller stopped a sign-in (Ctrl-C,
	// a cancelled context, nothing pasted).
	ErrCancelled = errors.New("sign-in cancelled")
	// ErrTimeout means a sign-in did not finish in time: the browser never
	// came back to the loopback server, or a device code expired.
	ErrTimeout = errors.New("sign-in timed out")
	// ErrNoTokenAnswer means the browser came back with a code but the
	// token endpoint did not answer before the sign-in's time ran out: the
	// provider's failure, not the person's, so it does not wrap ErrTimeout.
	ErrNoTokenAnswer = errors.New("the browser came back, but the token endpoint did not answer in time")
	// ErrInsecureURL means a provider URL is plain http:// on a host that is
	// not loopback; tokens must not travel unencrypted.
	ErrInsecureURL = errors.New("provider URL must use https://")
	// ErrNoRevocation means the discovery document names no revocation
	// endpoint, so tokens can only be forgotten locally.
	ErrNoRevocation = errors.New("the provider has no revocation endpoint")
	// ErrNoUserinfo means the discovery document names no userinfo
	// endpoint (OpenID Connect makes it optional).
	ErrNoUserinfo = errors.New("the provider has no userinfo endpoint")
	// ErrUnauthorized means a resource answered 401: the access token was
	// rejected, and a refresh or a new sign-in may help.
	ErrUnauthorized = errors.New("access token rejected")
)

// URLError is a provider or redirect URL that idcsctl refuses; it is a usage
// error (the person gave a bad URL), never a network one.
type URLError struct {
	URL    string // redacted: never holds a password
	Reason string
	Err    error // ErrInsecureURL for plain http:// on a non-loopback host, else nil
}

func (e *URLError) Error() string {
	return fmt.Sprintf("bad URL %q: %s", e.URL, e.Reason)
}

// Unwrap lets errors.Is find ErrInsecureURL.
func (e *URLError) Unwrap() error { return e.Err }

// ProviderError is an OAuth error the provider returned, from the callback's
// error= parameter or from an endpoint's JSON error response. Its message shows
// the provider's own code and description.
type ProviderError struct {
	Code        string // RFC 6749 "error", e.g. invalid_grant, access_denied
	Description string // "error_description", as the provider wrote it
	URI         string // "error_uri"
	Status      int    // HTTP status of the response; 0 for a browser redirect
	Endpoint    string // which endpoint answered: authorization, token, device authorization, revocation
}

func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString("the provider refused the request")
	if e.Endpoint != "" {
		b.WriteString(" at the " + e.Endpoint + " endpoint")
	}
	b.WriteString(": " + Printable(e.Code, 64))
	if e.Description != "" {
		b.WriteString(": " + Printable(e.Description, 300))
	}
	if hint := providerHint(e.Code); hint != "" {
		b.WriteString(" (" + hint + ")")
	}
	return b.String()
}

// providerHint says what to do next for the codes people meet most.
func providerHint(code string) string {
	switch code {
	case "invalid_grant":
		return "the sign-in is no longer valid; sign in again"
	case "invalid_client", "unauthorized_client":
		return "check the client id and secret, and that the application is activated in the identity domain"
	case "access_denied":
		return "the sign-in was declined"
	case "invalid_scope":
		return "check the scopes the application is allowed to request"
	}
	return ""
}

// IsInvalidGrant reports whether err says the grant (a code, a refresh token,
// a device code) is invalid or expired, so only a new sign-in can help.
func IsInvalidGrant(err error) bool {
	var pe *ProviderError
	return errors.As(err, &pe) && pe.Code == "invalid_grant"
}

// VerifyError means an ID token failed verification. Reason names the check
// that failed: one of the Reason* constants.
type VerifyError struct {
	Reason string
	Err    error
}

// Reasons a VerifyError gives.
const (
	ReasonMalformed = "malformed" // not a signed JWT, or unreadable claims
	ReasonAlg       = "alg"       // signed with "none" or an algorithm idcsctl does not accept
	ReasonSignature = "signature" // no key of the domain's JWKS verifies it
	ReasonJWKS      = "jwks"      // the domain's signing keys could not be fetched
	ReasonIssuer    = "iss"       // issued by someone other than the domain's declared issuer
	ReasonAudience  = "aud"       // not issued to this client
	ReasonAzp       = "azp"       // several audiences and no azp, or an azp naming another client
	ReasonExpired   = "exp"       // expired
	ReasonIssuedAt  = "iat"       // issued too far in the future
	ReasonNotBefore = "nbf"       // not valid yet
	ReasonNonce     = "nonce"     // not the nonce this sign-in sent
	ReasonAtHash    = "at_hash"   // does not belong with the access token
	ReasonMissing   = "missing"   // the provider returned no ID token for an openid sign-in
)

func (e *VerifyError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("the ID token failed the %s check", e.Reason)
	}
	return fmt.Sprintf("the ID token failed the %s check: %v", e.Reason, e.Err)
}

// Unwrap returns the underlying cause.
func (e *VerifyError) Unwrap() error { return e.Err }

// PortsInUseError means no port of the list could be bound for the loopback
// callback server.
type PortsInUseError struct {
	Host  string
	Ports []int
	Err   error // the last error that was not "address in use", if any
}

func (e *PortsInUseError) Error() string {
	ports := make([]string, len(e.Ports))
	for i, p := range e.Ports {
		ports[i] = strconv.Itoa(p)
	}
	msg := fmt.Sprintf("cannot listen for the sign-in callback on %s port %s: in use; stop the program using it, or add a free port to the profile (and register its redirect URI with the application)",
		e.Host, strings.Join(ports, ", "))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the last error that was not "address in use", if any.
func (e *PortsInUseError) Unwrap() error { return e.Err }

// TokenRejectedError is a 401 from a resource such as the userinfo endpoint.
// It wraps ErrUnauthorized so callers can refresh and retry.
type TokenRejectedError struct {
	Endpoint string
	Code     string // the error= of the WWW-Authenticate challenge, e.g. invalid_token
}

func (e *TokenRejectedError) Error() string {
	msg := fmt.Sprintf("the %s endpoint rejected the access token", e.Endpoint)
	if e.Code != "" {
		msg += " (" + Printable(e.Code, 64) + ")"
	}
	return msg + "; refresh it or sign in again"
}

// Unwrap returns ErrUnauthorized.
func (e *TokenRejectedError) Unwrap() error { return ErrUnauthorized }

// AuthorizeRequestError means the provider refused the authorization request
// itself, before any sign-in page. RFC 6749 4.1.2.1 has a provider that
// cannot trust the client id or the redirect URI show an error page rather
// than redirect, so no answer would ever reach the callback server: IDCS does
// this for a redirect URI that is not registered exactly, port included.
type AuthorizeRequestError struct {
	Status      int    // HTTP status of the answer
	Title       string // the error page's title, made printable; "" when it has none
	Message     string // the page's first paragraph, made printable; "" when it has none
	RedirectURI string // the redirect URI the request named
}

func (e *AuthorizeRequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the provider refused the sign-in request (HTTP %d", e.Status)
	for _, s := range []string{e.Title, e.Message} {
		if s != "" {
			b.WriteString(": " + s)
		}
	}
	fmt.Fprintf(&b, "); check the client id, and that the application registers the redirect URI %s exactly, port included", e.RedirectURI)
	return b.String()
}

// UnreachableError means the first request of a sign-in or sign-out, made
// before any browser is opened (the authorization or end-session request
// checked first, the device authorization request), got no answer from
// this machine (refused, DNS, TLS, no answer in time), so no browser was
// opened: the code the browser would bring back must be exchanged from this
// machine, at the same domain. Err holds the cause, a *url.Error or a
// *DeadlineError, for the caller to word.
type UnreachableError struct {
	URL string // the endpoint, without query
	Err error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s did not answer, so no browser was opened: %v", e.URL, e.Err)
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }
