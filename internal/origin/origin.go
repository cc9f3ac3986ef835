// Package origin compares URLs by origin: scheme, host and port (RFC 6454).
// It is the one place that decides when two ways of writing a provider or
// resource URL mean the same server, so that https://host, https://host:443
// and https://HOST/ are one origin in every check idcsctl makes: a
// discovery document's endpoints, the domain a token was issued for, the
// hosts fetch may send a token to, redirects and revocation. IDCS writes
// its endpoints with an explicit :443 while people type the domain without
// one; neither may make a check fail or pass by accident.
//
// It knows nothing of OAuth or of idcsctl's other packages.
package origin

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Origin is a URL's scheme, host and port: the unit a token is sent to.
// The zero Origin matches no URL with a host.
type Origin struct {
	Scheme string // lower case
	Host   string // lower case, without a trailing dot or IPv6 brackets
	Port   int    // the scheme's default port when the URL names none
}

// Of returns u's origin. Scheme and host are compared without case, a
// host's trailing dot is dropped (example.com. is example.com), and a
// missing port is the scheme's default (80 for http, 443 for https).
func Of(u *url.URL) Origin {
	o := Origin{Scheme: strings.ToLower(u.Scheme), Host: CanonicalHost(u.Hostname())}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		o.Port = p
	} else {
		o.Port = DefaultPort(o.Scheme)
	}
	return o
}

// Same reports whether a and b are the same origin.
func Same(a, b *url.URL) bool { return Of(a) == Of(b) }

// SameString is Same for URLs given as text; a URL that cannot be parsed
// or has no host is the same as nothing.
func SameString(a, b string) bool {
	ua, err := url.Parse(strings.TrimSpace(a))
	if err != nil || ua.Host == "" {
		return false
	}
	ub, err := url.Parse(strings.TrimSpace(b))
	if err != nil || ub.Host == "" {
		return false
	}
	return Same(ua, ub)
}

// HostPort is the origin's host, with its port only when it is not the
// scheme's default: the form a person writes, and the URL's Host field.
func (o Origin) HostPort() string {
	switch {
	case o.Port != DefaultPort(o.Scheme):
		return net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	case strings.Contains(o.Host, ":"):
		return "[" + o.Host + "]"
	}
	return o.Host
}

// String is the origin as a URL without a path: https://host or
// http://127.0.0.1:8080.
func (o Origin) String() string { return o.Scheme + "://" + o.HostPort() }

// DefaultPort is the port a URL of the scheme uses when it names none.
func DefaultPort(scheme string) int {
	if strings.EqualFold(scheme, "http") {
		return 80
	}
	return 443
}

// CanonicalHost is a host name as origins compare it: lower case, without
// a trailing dot.
func CanonicalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}
