package config

import (
	"net/url"
	"strings"

	"github.com/idcsctl/idcsctl/internal/origin"
)

// idcsPagePrefixes are paths of pages and endpoints an identity domain
// serves under its origin. A URL with one of them is what a person copied
// from the browser's address bar (the admin console, a sign-in page) or
// from the domain's discovery document, never the domain URL itself.
var idcsPagePrefixes = []string{"/ui/", "/oauth2/", "/admin/", "/sso/", "/fed/", "/.well-known/"}

// NormalizeDomain turns what a person gives as a domain into the domain
// URL: a host alone means https://host, as every tool of the field reads
// it, and the URL of a page of the domain is cut back to its origin. The
// result has one normal form however the domain was typed, so that it is
// saved and shown alike everywhere: scheme and host in lower case, no
// default port (origin.Origin's HostPort), no trailing slash. note says
// what was cut, for the person, and is "" when nothing was. A value that
// is no URL at all, or one the URL check refuses (a query, a user), is
// returned as given, for that check to name.
func NormalizeDomain(raw string) (domain, note string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return raw, ""
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return raw, ""
	}
	path := strings.ToLower(u.Path)
	for _, prefix := range idcsPagePrefixes {
		if strings.HasPrefix(path+"/", prefix) {
			o := origin.Of(u).String()
			return o, "using the domain URL " + o + ": the path " + u.EscapedPath() + " of the URL given belongs to a page of the domain, not to its address"
		}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || u.Opaque != "" {
		return s, ""
	}
	return origin.Of(u).String() + strings.TrimRight(u.EscapedPath(), "/"), ""
}
