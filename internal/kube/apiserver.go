package kube

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AuthenticationConfigAPIVersion is the version of the API server's
// structured authentication configuration idcsctl writes: served from
// Kubernetes 1.30 (where issuer.discoveryURL came in) and still read by
// later releases, which also serve apiserver.config.k8s.io/v1 (1.34).
const AuthenticationConfigAPIVersion = "apiserver.config.k8s.io/v1beta1"

// OIDCSettings are what an API server needs to accept a profile's ID tokens.
type OIDCSettings struct {
	// Issuer is the iss of the tokens: for IDCS https://identity.oraclecloud.com/.
	Issuer string
	// DiscoveryURL is the domain's discovery document, when it is not at
	// the issuer's own /.well-known/openid-configuration (IDCS).
	DiscoveryURL string
	// ClientID is the audience of the ID tokens.
	ClientID string
	// UsernameClaim and GroupsClaim name the claims that become the
	// Kubernetes user and groups; GroupsClaim is "" when the ID tokens carry
	// no groups.
	UsernameClaim, GroupsClaim string
	// Prefix goes before user and group names, so that they cannot be
	// taken for Kubernetes' own (system:...).
	Prefix string
}

// AuthenticationConfiguration is the kube-apiserver --authentication-config
// file (Kubernetes' AuthenticationConfiguration) with one JWT authenticator.
type AuthenticationConfiguration struct {
	APIVersion string             `yaml:"apiVersion" json:"apiVersion"`
	Kind       string             `yaml:"kind" json:"kind"`
	JWT        []JWTAuthenticator `yaml:"jwt" json:"jwt"`
}

// JWTAuthenticator is one issuer the API server trusts.
type JWTAuthenticator struct {
	Issuer        Issuer        `yaml:"issuer" json:"issuer"`
	ClaimMappings ClaimMappings `yaml:"claimMappings" json:"claimMappings"`
}

// Issuer says whose tokens are accepted and where their keys are found.
type Issuer struct {
	URL          string   `yaml:"url" json:"url"`
	DiscoveryURL string   `yaml:"discoveryURL,omitempty" json:"discoveryURL,omitempty"`
	Audiences    []string `yaml:"audiences" json:"audiences"`
}

// ClaimMappings turn claims into the Kubernetes user.
type ClaimMappings struct {
	Username PrefixedClaim  `yaml:"username" json:"username"`
	Groups   *PrefixedClaim `yaml:"groups,omitempty" json:"groups,omitempty"`
}

// PrefixedClaim is a claim and the prefix put before its values; the API
// server requires the prefix to be given, even as "".
type PrefixedClaim struct {
	Claim  string `yaml:"claim" json:"claim"`
	Prefix string `yaml:"prefix" json:"prefix"`
}

// AuthenticationConfiguration is the settings as the API server's file.
func (s OIDCSettings) AuthenticationConfiguration() AuthenticationConfiguration {
	j := JWTAuthenticator{
		Issuer:        Issuer{URL: s.Issuer, DiscoveryURL: s.DiscoveryURL, Audiences: []string{s.ClientID}},
		ClaimMappings: ClaimMappings{Username: PrefixedClaim{Claim: s.UsernameClaim, Prefix: s.Prefix}},
	}
	if s.GroupsClaim != "" {
		j.ClaimMappings.Groups = &PrefixedClaim{Claim: s.GroupsClaim, Prefix: s.Prefix}
	}
	return AuthenticationConfiguration{APIVersion: AuthenticationConfigAPIVersion, Kind: "AuthenticationConfiguration", JWT: []JWTAuthenticator{j}}
}

// YAML is the API server's file, with comments that say where it goes and
// what it needs.
func (s OIDCSettings) YAML() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# The API server's OpenID Connect settings for this profile: save as a file and\n")
	b.WriteString("# start kube-apiserver with --authentication-config=FILE (Kubernetes 1.30 or later;\n")
	b.WriteString("# discoveryURL needs 1.30). See docs/kubernetes.md.\n")
	if s.DiscoveryURL != "" {
		b.WriteString("# The domain's tokens name the issuer below, while its discovery document and keys\n")
		b.WriteString("# are at the domain URL: discoveryURL says where. The domain must let clients read\n")
		b.WriteString("# its signing keys without a token.\n")
	}
	if s.GroupsClaim == "" {
		b.WriteString("# The profile's ID token has no groups claim, so no groups are mapped.\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(s.AuthenticationConfiguration()); err != nil {
		return nil, fmt.Errorf("encode the authentication configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DiscoveryURLFor is the discovery URL to give an API server for a domain
// whose tokens name issuer: "" when the issuer's own discovery document is
// the domain's, which the API server finds by itself.
func DiscoveryURLFor(domain, issuer string) string {
	if strings.TrimRight(domain, "/") == strings.TrimRight(issuer, "/") {
		return ""
	}
	return strings.TrimRight(domain, "/") + "/.well-known/openid-configuration"
}
