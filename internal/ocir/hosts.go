package ocir

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// HelperName is the value of a credHelpers entry that sends a registry
// to HelperProgram: docker runs docker-credential-<value>.
const HelperName = "idcsctl"

// HelperProgram is the credential helper program (cmd/docker-credential-idcsctl).
const HelperProgram = "docker-credential-" + HelperName

// Username is the user name OCIR takes with a registry token as the
// password (`docker login -u BEARER_TOKEN`).
const Username = "BEARER_TOKEN"

// regionKeys are the commercial realm's (oc1) region keys, by which OCIR
// names its hosts (<key>.ocir.io), with their region identifiers. The
// table is the OCI Go SDK's; TestRegionKeysAreTheSDKs checks it against
// the SDK, which idcsctl does not link for start-up speed. A slice of
// literals costs nothing at start-up, unlike a map.
var regionKeys = [...]struct{ key, region string }{
	{"aga", "us-saltlake-2"},
	{"ams", "eu-amsterdam-1"},
	{"arn", "eu-stockholm-1"},
	{"auh", "me-abudhabi-1"},
	{"bog", "sa-bogota-1"},
	{"bom", "ap-mumbai-1"},
	{"cdg", "eu-paris-1"},
	{"cwl", "uk-cardiff-1"},
	{"dxb", "me-dubai-1"},
	{"fra", "eu-frankfurt-1"},
	{"gru", "sa-saopaulo-1"},
	{"hsg", "ap-batam-1"},
	{"hyd", "ap-hyderabad-1"},
	{"iad", "us-ashburn-1"},
	{"icn", "ap-seoul-1"},
	{"jbp", "ap-kulai-2"},
	{"jed", "me-jeddah-1"},
	{"jnb", "af-johannesburg-1"},
	{"kix", "ap-osaka-1"},
	{"lej", "af-casablanca-1"},
	{"lhr", "uk-london-1"},
	{"lin", "eu-milan-1"},
	{"mad", "eu-madrid-1"},
	{"mel", "ap-melbourne-1"},
	{"mrs", "eu-marseille-1"},
	{"mty", "mx-monterrey-1"},
	{"mtz", "il-jerusalem-1"},
	{"nrq", "eu-turin-1"},
	{"nrt", "ap-tokyo-1"},
	{"onm", "ap-delhi-1"},
	{"ord", "us-chicago-1"},
	{"orf", "eu-madrid-3"},
	{"phx", "us-phoenix-1"},
	{"qro", "mx-queretaro-1"},
	{"ruh", "me-riyadh-1"},
	{"scl", "sa-santiago-1"},
	{"sin", "ap-singapore-1"},
	{"sjc", "us-sanjose-1"},
	{"syd", "ap-sydney-1"},
	{"vap", "sa-valparaiso-1"},
	{"vcp", "sa-vinhedo-1"},
	{"xsp", "ap-singapore-2"},
	{"yny", "ap-chuncheon-1"},
	{"yul", "ca-montreal-1"},
	{"yyz", "ca-toronto-1"},
	{"zrh", "eu-zurich-1"},
}

// ocirDomain is the commercial realm's OCIR domain: <key>.ocir.io and
// <region>.ocir.io.
const ocirDomain = ".ocir.io"

// NormalizeHost turns what a registry client names a registry by (a
// host, host:port, or a URL such as https://iad.ocir.io/v2/) into the
// lower-case host[:port] a credential is kept for. It reports false for
// anything with user info, a query or no host.
func NormalizeHost(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if h, p, err := net.SplitHostPort(host); err == nil && (p == "443" && u.Scheme == "https") {
		host = h
	}
	return host, true
}

// Region says which OCI region registry host serves: a host of the
// configured list (host -> region, for private endpoints and tests),
// else <region-key>.ocir.io, <region>.ocir.io or
// ocir.<region>.oci.oraclecloud.com. It reports false for every other
// host: the credential helper then says it has no credentials for it.
func Region(host string, configured map[string]string) (string, bool) {
	host, ok := NormalizeHost(host)
	if !ok {
		return "", false
	}
	for h, r := range configured {
		if n, ok := NormalizeHost(h); ok && n == host {
			return r, true
		}
	}
	if name, ok := strings.CutSuffix(host, ocirDomain); ok {
		if r := regionOfKey(name); r != "" {
			return r, true
		}
		if knownRegion(name) {
			return name, true
		}
		return "", false
	}
	if rest, ok := strings.CutPrefix(host, "ocir."); ok {
		if name, ok := strings.CutSuffix(rest, ".oci.oraclecloud.com"); ok && knownRegion(name) {
			return name, true
		}
	}
	return "", false
}

// HostOf is the OCIR host of region (iad.ocir.io for us-ashburn-1), or ""
// for a region not in the table.
func HostOf(region string) string {
	for _, k := range regionKeys {
		if k.region == region {
			return k.key + ocirDomain
		}
	}
	return ""
}

func regionOfKey(key string) string {
	for _, k := range regionKeys {
		if k.key == key {
			return k.region
		}
	}
	return ""
}

func knownRegion(region string) bool { return HostOf(region) != "" }

// TokenURL is where host hands out registry tokens: https, except for a
// loopback host (a local registry or the emulator), which is plain http as
// every registry client treats it.
func TokenURL(host string) string {
	return schemeOf(host) + "://" + host + TokenPath
}

// TokenPath is OCIR's registry token endpoint.
const TokenPath = "/20180419/docker/token"

func schemeOf(host string) string {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return "http"
	}
	if ip := net.ParseIP(strings.Trim(h, "[]")); ip != nil && ip.IsLoopback() {
		return "http"
	}
	return "https"
}

// CheckHost reports whether host can be named in the config and in
// docker's credHelpers, a host[:port] and nothing else, and returns it as
// NormalizeHost writes it.
func CheckHost(host string) (string, error) {
	n, ok := NormalizeHost(host)
	if !ok || strings.Contains(host, "/") || n != strings.ToLower(host) {
		return "", fmt.Errorf("%q is not a registry host such as iad.ocir.io or 127.0.0.1:5000", host)
	}
	return n, nil
}
