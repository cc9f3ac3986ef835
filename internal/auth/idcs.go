package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
)

// IDCSIssuer is the issuer every IDCS / OCI IAM identity domain declares
// in its discovery document and its tokens, whatever URL serves them.
const IDCSIssuer = "https://identity.oraclecloud.com/"

// idcsDevicePath is where Oracle documents the device authorization
// endpoint ("Device Code Grant Type"), which a domain's discovery document
// does not name.
const idcsDevicePath = "/oauth2/v1/device"

// ErrNoDeviceEndpoint means the provider offers no device authorization
// endpoint that idcsctl knows of.
var ErrNoDeviceEndpoint = errors.New("the domain's discovery document names no device authorization endpoint, and the provider is not an IDCS identity domain (whose endpoint is /oauth2/v1/device), so --device cannot be used; --paste signs in without a browser on this machine")

// IsIDCS reports whether the document declares IDCS's issuer.
func (m *Metadata) IsIDCS() bool { return m.Issuer == IDCSIssuer }

// IsIDCS reports whether the provider is an IDCS identity domain: its
// discovery document declares IDCS's issuer, or, for a document that does
// not, <domain>/.well-known/idcs-configuration answers with IDCS's own
// discovery document. The second asks the network, once per Client.
func (c *Client) IsIDCS(ctx context.Context) bool {
	if c.Metadata != nil && c.Metadata.IsIDCS() {
		return true
	}
	if c.Domain == "" {
		return false
	}
	c.idcsOnce.Do(func() { c.idcs = probeIDCSConfiguration(ctx, c.HTTP, c.Domain) })
	return c.idcs
}

// probeTimeout bounds the idcs-configuration request: it only decides
// between two answers, and a slow or silent domain means "not IDCS".
const probeTimeout = 5 * time.Second

// probeIDCSConfiguration asks the domain for IDCS's own discovery document
// ("Retrieve IDCS Discovery Doc"), a JSON object that nests the OpenID
// configuration under "openid-configuration".
func probeIDCSConfiguration(ctx context.Context, hc *http.Client, domain string) bool {
	u, err := CheckDomainURL(domain)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+"/.well-known/idcs-configuration", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient(hc).Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	body, err := readLimited(resp.Body)
	if err != nil {
		return false
	}
	var doc struct {
		OpenID map[string]any `json:"openid-configuration"`
	}
	return json.Unmarshal(body, &doc) == nil && doc.OpenID != nil
}

// deviceEndpoint is where a device sign-in starts: the endpoint discovery
// names; else, on an IDCS identity domain, whose discovery names none
// although it serves the grant, <domain>/oauth2/v1/device; else
// ErrNoDeviceEndpoint.
func (c *Client) deviceEndpoint(ctx context.Context) (string, error) {
	if ep := c.Metadata.DeviceAuthorizationEndpoint; ep != "" {
		return ep, nil
	}
	if c.Domain != "" && c.IsIDCS(ctx) {
		if u, err := CheckDomainURL(c.Domain); err == nil {
			return u.String() + idcsDevicePath, nil
		}
	}
	return "", ErrNoDeviceEndpoint
}

// DeviceEndpoint is the endpoint a device sign-in would use, or
// ErrNoDeviceEndpoint; see DeviceLogin.
func (c *Client) DeviceEndpoint(ctx context.Context) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	return c.deviceEndpoint(ctx)
}

// standardScopes are the OpenID Connect scopes idcsctl asks a provider
// that is not IDCS for, when the profile names none.
var standardScopes = []string{"openid", "profile", "email"}

// DefaultScopes are the scopes to ask for when the profile names none:
// idcsDefaults on a provider that declares IDCS's issuer (IDCS grants
// urn:opc:idm:t.user.me although it does not list it); on any other the
// standard OpenID Connect scopes its discovery document lists (all of them
// when it lists none), since a provider like Dex refuses a scope it does
// not know. It asks no network: see IsIDCS for a domain that declares
// another issuer.
func (m *Metadata) DefaultScopes(idcsDefaults []string) []string {
	if m.IsIDCS() {
		return slices.Clone(idcsDefaults)
	}
	listed := m.ScopesSupported
	var out []string
	for _, s := range standardScopes {
		if s == "openid" || len(listed) == 0 || slices.Contains(listed, s) {
			out = append(out, s)
		}
	}
	return out
}

// UnlistedScopes are the scopes of want that the provider's discovery
// document does not list, for a warning: a provider may refuse them. IDCS
// lists few of the scopes it grants, so its urn:opc: scopes are never
// reported on IDCS; a provider that lists no scopes at all has nothing to
// compare with.
func (c *Client) UnlistedScopes(ctx context.Context, want []string) []string {
	listed := c.Metadata.ScopesSupported
	if len(listed) == 0 {
		return nil
	}
	idcs := c.IsIDCS(ctx)
	var out []string
	for _, s := range want {
		if slices.Contains(listed, s) || idcs && strings.HasPrefix(s, "urn:opc:") {
			continue
		}
		out = append(out, s)
	}
	return out
}
