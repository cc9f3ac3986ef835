package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
	"github.com/idcsctl/idcsctl/internal/origin"
)

// DefaultDiscoveryTTL is how long a discovery document is trusted when the
// server says nothing shorter. Identity domains change their endpoints
// rarely, and a day saves a round trip on every command.
const DefaultDiscoveryTTL = 24 * time.Hour

// maxBody bounds what idcsctl reads from a provider, so a broken or hostile
// server cannot make it read forever.
const maxBody = 1 << 20

// Metadata is the provider's discovery document (the fields idcsctl uses).
type Metadata struct {
	Issuer                        string   `json:"issuer"`
	AuthorizationEndpoint         string   `json:"authorization_endpoint"`
	TokenEndpoint                 string   `json:"token_endpoint"`
	UserinfoEndpoint              string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI                       string   `json:"jwks_uri"`
	RevocationEndpoint            string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint         string   `json:"introspection_endpoint,omitempty"`
	EndSessionEndpoint            string   `json:"end_session_endpoint,omitempty"`
	DeviceAuthorizationEndpoint   string   `json:"device_authorization_endpoint,omitempty"`
	ScopesSupported               []string `json:"scopes_supported,omitempty"`
	CodeChallengeMethodsSupported []string `json:"code_challenge_methods_supported,omitempty"`
	GrantTypesSupported           []string `json:"grant_types_supported,omitempty"`
}

// validate refuses a document idcsctl cannot sign in with, or one that would
// send tokens or codes over plain HTTP to a remote host.
func (m *Metadata) validate() error {
	if m.Issuer == "" {
		return errors.New("it has no issuer")
	}
	required := []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
	}
	for _, r := range required {
		if r.value == "" {
			return fmt.Errorf("it has no %s", r.name)
		}
	}
	endpoints := []struct{ name, value string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"jwks_uri", m.JWKSURI},
		{"userinfo_endpoint", m.UserinfoEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
		{"introspection_endpoint", m.IntrospectionEndpoint},
		{"end_session_endpoint", m.EndSessionEndpoint},
		{"device_authorization_endpoint", m.DeviceAuthorizationEndpoint},
	}
	for _, e := range endpoints {
		if e.value == "" {
			continue
		}
		if _, err := checkURL(e.value); err != nil {
			return fmt.Errorf("its %s is refused: %w", e.name, err)
		}
	}
	return nil
}

// CheckDomainURL applies the rule every provider URL must pass: https://, or
// plain http:// only for a loopback host (127.0.0.0/8, ::1, localhost), with
// no user name, password, query or fragment. It returns the URL normalised:
// lower-case scheme and host, no default port, no trailing dot or slash, so
// that https://HOST:443/ and https://host name one domain (origin.Same). A
// refused URL gives a
// *URLError; a plain-http one also matches ErrInsecureURL.
func CheckDomainURL(raw string) (*url.URL, error) {
	u, err := checkURL(raw)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, &URLError{URL: u.Redacted(), Reason: "a domain URL has no query or fragment; use the base URL, like https://idcs-<id>.identity.oraclecloud.com"}
	}
	u.Host = origin.Of(u).HostPort()
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// SameDomain reports whether a and b name the same domain however they are
// written: same origin (origin.Same: case, default port, trailing dot) and
// same path, trailing slashes aside. A URL CheckDomainURL refuses is the
// same as nothing.
func SameDomain(a, b string) bool {
	ua, err := CheckDomainURL(a)
	if err != nil {
		return false
	}
	ub, err := CheckDomainURL(b)
	if err != nil {
		return false
	}
	return ua.String() == ub.String()
}

// checkURL is the https/loopback rule without the domain-only restrictions,
// for endpoints a discovery document names.
func checkURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		shown := raw
		if strings.Contains(raw, "@") {
			shown = "(hidden: it may hold a password)"
		}
		return nil, &URLError{URL: shown, Reason: "it cannot be parsed; use a URL like https://idcs-<id>.identity.oraclecloud.com"}
	}
	if u.User != nil {
		return nil, &URLError{URL: u.Redacted(), Reason: "it must not hold a user name or password"}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme == "" || u.Host == "" {
		return nil, &URLError{URL: u.Redacted(), Reason: "it needs a scheme and a host, like https://idcs-<id>.identity.oraclecloud.com"}
	}
	u.Host = strings.ToLower(u.Host)
	switch u.Scheme {
	case "https":
		return u, nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return u, nil
		}
		return nil, &URLError{URL: u.Redacted(), Reason: "plain http:// is allowed only for loopback hosts (127.0.0.1, ::1, localhost); use https://", Err: ErrInsecureURL}
	default:
		return nil, &URLError{URL: u.Redacted(), Reason: "the scheme must be https://"}
	}
}

// isLoopbackHost reports whether host names this machine only.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Discoverer fetches and caches discovery documents. Its zero value works:
// http.DefaultClient, no disk cache, DefaultDiscoveryTTL. A Discoverer is safe
// for concurrent use.
type Discoverer struct {
	HTTP     *http.Client
	CacheDir string        // "" = memory only; else files 0600 in a 0700 directory, written atomically
	TTL      time.Duration // default DefaultDiscoveryTTL; a shorter Cache-Control max-age wins
	Now      func() time.Time

	mu  sync.Mutex
	mem map[string]cacheEntry
}

// cacheEntry is one cached document. The document is kept as the server sent
// it, so a later version of idcsctl can read fields this one ignores.
type cacheEntry struct {
	Domain    string          `json:"domain"`
	FetchedAt time.Time       `json:"fetched_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	Document  json.RawMessage `json:"document"`
}

func (e cacheEntry) metadata() (*Metadata, error) {
	var md Metadata
	if err := json.Unmarshal(e.Document, &md); err != nil {
		return nil, err
	}
	if err := md.validate(); err != nil {
		return nil, err
	}
	return &md, nil
}

// Discover returns the domain's metadata: from the cache while it is fresh,
// else from <domain>/.well-known/openid-configuration. The document's issuer
// is taken as declared and not compared with the domain URL, because IDCS
// declares https://identity.oraclecloud.com/ while serving the document from
// the domain; every ID token is later checked against that declared issuer.
//
// When the fetch fails for a reason that may pass (a network error, a 5xx or
// 429 answer) and an expired cache entry exists, Discover returns the expired
// entry and no error: endpoints rarely move, and a working sign-in beats a
// failed one. A 4xx answer or a bad document is never papered over this way.
// Failing to write the cache is not an error either, since the cache only
// saves time.
func (d *Discoverer) Discover(ctx context.Context, domain string) (*Metadata, error) {
	u, err := CheckDomainURL(domain)
	if err != nil {
		return nil, err
	}
	key := u.String()
	now := d.now()
	cached, hasCached := d.load(key)
	var stale *Metadata
	if hasCached {
		if md, err := cached.metadata(); err == nil {
			if now.Before(cached.ExpiresAt) {
				return md, nil
			}
			stale = md
		}
	}

	doc, ttl, err := d.fetch(ctx, u)
	if err != nil {
		var te transientError
		if stale != nil && errors.As(err, &te) {
			return stale, nil
		}
		return nil, err
	}
	entry := cacheEntry{Domain: key, FetchedAt: now, ExpiresAt: now.Add(ttl), Document: doc}
	md, err := entry.metadata()
	if err != nil {
		return nil, fmt.Errorf("the discovery document of %s is unusable: %w", key, err)
	}
	if ttl > 0 {
		d.save(entry)
	}
	return md, nil
}

// Cached returns the cached document of the domain without any network
// access, fresh or expired, for commands that must not wait on the network.
// It reports false when nothing usable is cached.
func (d *Discoverer) Cached(domain string) (*Metadata, bool) {
	u, err := CheckDomainURL(domain)
	if err != nil {
		return nil, false
	}
	e, ok := d.load(u.String())
	if !ok {
		return nil, false
	}
	md, err := e.metadata()
	if err != nil {
		return nil, false
	}
	return md, true
}

// transientError marks a discovery failure that may pass, for which an
// expired cache entry is better than nothing.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// fetch downloads the document and says how long it may be cached.
func (d *Discoverer) fetch(ctx context.Context, domain *url.URL) (json.RawMessage, time.Duration, error) {
	where := domain.String() + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("build the discovery request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient(d.HTTP).Do(req)
	if err != nil {
		return nil, 0, transientError{fmt.Errorf("fetch the discovery document: %w", err)}
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body)
	if err != nil {
		if isCut(err) { // already names the URL
			return nil, 0, transientError{err}
		}
		return nil, 0, transientError{fmt.Errorf("read the discovery document from %s: %w", where, err)}
	}
	ct := contentType(resp)
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("the discovery document at %s answered %s (%s); check the domain URL", where, resp.Status, ct)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, 0, transientError{err}
		}
		return nil, 0, err
	}
	var probe map[string]any
	if err := json.Unmarshal(body, &probe); err != nil {
		if isJSON(ct) {
			return nil, 0, fmt.Errorf("the discovery document at %s is not valid JSON: %w", where, err)
		}
		return nil, 0, fmt.Errorf("the discovery document at %s is %s, not JSON; check the domain URL (like https://idcs-<id>.identity.oraclecloud.com)", where, ct)
	}
	return body, d.ttl(resp.Header.Get("Cache-Control")), nil
}

// ttl honours a Cache-Control max-age shorter than the configured TTL, and
// no-store.
func (d *Discoverer) ttl(cacheControl string) time.Duration {
	ttl := d.TTL
	if ttl <= 0 {
		ttl = DefaultDiscoveryTTL
	}
	for directive := range strings.SplitSeq(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			secs, err := strconv.ParseInt(strings.Trim(value, `"`), 10, 64)
			if err == nil && secs >= 0 && time.Duration(secs)*time.Second < ttl {
				ttl = time.Duration(secs) * time.Second
			}
		}
	}
	return ttl
}

func (d *Discoverer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// load finds an entry in memory, then on disk. A corrupt or foreign file is
// treated as absent: the cache must never stop a sign-in.
func (d *Discoverer) load(key string) (cacheEntry, bool) {
	d.mu.Lock()
	e, ok := d.mem[key]
	d.mu.Unlock()
	if ok || d.CacheDir == "" {
		return e, ok
	}
	data, err := os.ReadFile(d.cachePath(key))
	if err != nil {
		return cacheEntry{}, false
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Domain != key {
		return cacheEntry{}, false
	}
	d.remember(e)
	return e, true
}

func (d *Discoverer) remember(e cacheEntry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mem == nil {
		d.mem = make(map[string]cacheEntry)
	}
	d.mem[e.Domain] = e
}

// save keeps the entry in memory and, with a CacheDir, on disk. Disk errors
// are dropped on purpose: see Discover.
func (d *Discoverer) save(e cacheEntry) {
	d.remember(e)
	if d.CacheDir == "" {
		return
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return
	}
	_ = writeCache(d.cachePath(e.Domain), data)
}

// cachePath names the file by a hash of the domain URL, so any URL gives a
// safe file name.
func (d *Discoverer) cachePath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(d.CacheDir, "discovery-"+hex.EncodeToString(sum[:16])+".json")
}

// writeCache writes one discovery cache entry, in a private folder made
// when it is missing.
func writeCache(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// httpClient is the caller's client, or the default one whose requests are
// bounded by their contexts.
func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return http.DefaultClient
}

// readLimited reads at most maxBody bytes and says so when there was more.
func readLimited(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the answer is larger than %d bytes", maxBody)
	}
	return body, nil
}

// contentType is the response's media type without parameters, for messages.
func contentType(resp *http.Response) string {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return "no content type"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return Printable(ct, 64)
	}
	return mt
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}
