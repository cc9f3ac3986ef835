package fetch

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/idcsctl/idcsctl/internal/origin"
)

// ResolveURL turns what the person typed into the URL to call. An absolute
// http(s) URL is taken as it is; anything else is a path on the domain, so
// "/admin/v1/Me" and "admin/v1/Me" both mean the domain's /admin/v1/Me. A
// network-path reference ("//host/x") keeps its host, and the Policy then
// decides whether that host may have the token.
func ResolveURL(domain *url.URL, target string) (*url.URL, error) {
	target = strings.TrimSpace(target)
	if target == "" {
		return nil, errors.New("the URL is empty: give a path like /admin/v1/Me or an https:// URL")
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("the URL cannot be parsed (%s): give a path like /admin/v1/Me or an https:// URL", shown(target))
	}
	if u.User != nil {
		return nil, fmt.Errorf("the URL %s holds a user name or password: fetch sends the profile's token, so leave them out", u.Redacted())
	}
	u.Fragment, u.RawFragment = "", ""
	switch {
	case u.Scheme != "":
		u.Scheme = strings.ToLower(u.Scheme)
		if u.Scheme != "https" && u.Scheme != "http" {
			return nil, fmt.Errorf("the URL scheme %q is not supported: give a path like /admin/v1/Me or an https:// URL", u.Scheme)
		}
		if u.Host == "" {
			return nil, fmt.Errorf("the URL %s has no host", u.Redacted())
		}
		u.Host = strings.ToLower(u.Host)
		return u, nil
	case u.Host != "":
		u.Scheme = domain.Scheme
		u.Host = strings.ToLower(u.Host)
		return u, nil
	}
	base := *domain
	base.RawQuery, base.Fragment = "", ""
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
		base.RawPath = ""
	}
	return base.ResolveReference(u), nil
}

// shown is target for an error message: a string that did not even parse
// may hold a password before its '@'.
func shown(target string) string {
	if strings.Contains(target, "@") {
		return "hidden: it may hold a password"
	}
	return strconv.Quote(target)
}

// Policy says which URLs may receive the profile's access token: those on
// the profile's domain, and those on hosts the profile allows. The token is
// a bearer credential, so a URL typed by mistake must not carry it to a
// server that could replay it.
//
// Hosts are compared with their port: https://api.example.com:8443 is not
// https://api.example.com, since another port may be another service.
type Policy struct {
	domain  origin.Origin
	allowed []hostPattern
}

// NewPolicy returns a policy that allows the domain only.
func NewPolicy(domain *url.URL) *Policy {
	return &Policy{domain: origin.Of(domain)}
}

// Allow adds a host the token may go to. pattern is "host" (on the URL
// scheme's default port), "host:port", "*.example.com" (any host under
// example.com, not example.com itself) or "*.example.com:port". IPv6
// addresses are written in brackets: "[::1]:8080".
func (p *Policy) Allow(pattern string) error {
	hp, err := parseHostPattern(pattern)
	if err != nil {
		return err
	}
	p.allowed = append(p.allowed, hp)
	return nil
}

// HostError says why a URL may not receive the token.
type HostError struct {
	// Host is the URL's host, with its port unless it is the scheme's
	// default: the allowed-host entry that would allow it.
	Host string
	// Insecure means the URL is plain http:// on a host that is not
	// loopback, where anyone on the path could read the token.
	Insecure bool
}

func (e *HostError) Error() string {
	if e.Insecure {
		return fmt.Sprintf("the token is never sent over plain http:// to %s (only loopback hosts may use http://); use https://", e.Host)
	}
	return fmt.Sprintf("%s is neither the profile's domain nor an allowed host", e.Host)
}

// Check returns nil when u may receive the token, else a *HostError.
func (p *Policy) Check(u *url.URL) error {
	o := origin.Of(u)
	if o.Scheme == "http" && !isLoopback(o.Host) {
		return &HostError{Host: o.HostPort(), Insecure: true}
	}
	if o == p.domain {
		return nil
	}
	for _, hp := range p.allowed {
		if hp.matches(o) {
			return nil
		}
	}
	return &HostError{Host: o.HostPort()}
}

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostPattern is one allowed-host entry. port 0 means the URL scheme's
// default port.
type hostPattern struct {
	host     string // without the "*." of a wildcard
	wildcard bool
	port     int
}

func parseHostPattern(s string) (hostPattern, error) {
	raw := s
	s = strings.ToLower(strings.TrimSpace(s))
	bad := func(why string) (hostPattern, error) {
		return hostPattern{}, fmt.Errorf("allowed host %q: %s; write host, host:port or *.example.com", raw, why)
	}
	switch {
	case s == "":
		return bad("it is empty")
	case strings.Contains(s, "://"):
		return bad("it is a URL, not a host")
	case strings.ContainsAny(s, "/?#@ \t"):
		return bad("a host has no path, query, user or spaces")
	}
	hp := hostPattern{}
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("the port must be a number from 1 to 65535")
		}
		host, hp.port = h, n
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	} else if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		return bad("it cannot be read as host:port")
	}
	host = strings.TrimSuffix(host, ".")
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		hp.wildcard, host = true, rest
	}
	if host == "" || strings.Contains(host, "*") {
		return bad("only a leading \"*.\" may be a wildcard, and it needs a domain after it")
	}
	if hp.wildcard && net.ParseIP(host) != nil {
		return bad("a wildcard needs a domain name, not an address")
	}
	hp.host = host
	return hp, nil
}

func (hp hostPattern) matches(o origin.Origin) bool {
	port := hp.port
	if port == 0 {
		port = origin.DefaultPort(o.Scheme)
	}
	if o.Port != port {
		return false
	}
	if hp.wildcard {
		return strings.HasSuffix(o.Host, "."+hp.host)
	}
	return o.Host == hp.host
}
