// Package signer signs HTTP requests as OCI's request signature scheme
// asks, with an OCI session idcsctl wrote, through the OCI Go SDK's own
// configuration provider and signer: the same code the OCI SDKs and
// Terraform sign with, not a copy of it.
//
// Only cmd/idcsctl-ocisign imports it: linking the SDK's common package
// into idcsctl would slow every start of idcsctl (docs/performance.md).
package signer

import (
	"fmt"
	"net/http"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
)

// Signer signs requests with one session.
type Signer struct {
	sdk    common.HTTPRequestSigner
	region string
	now    func() time.Time
}

// New reads section profile of the OCI config file at configPath through
// the SDK's session-token configuration provider (key_file,
// security_token_file, fingerprint, tenancy, region), as the oci CLI's
// --auth security_token does.
func New(configPath, profile string, now func() time.Time) (*Signer, error) {
	p, err := common.ConfigurationProviderForSessionTokenWithProfile(configPath, profile, "")
	if err != nil {
		return nil, fmt.Errorf("read OCI session %q of %s: %w", profile, configPath, err)
	}
	if ok, err := common.IsConfigurationProviderValid(p); !ok {
		return nil, fmt.Errorf("OCI session %q of %s is not usable: %w", profile, configPath, err)
	}
	region, err := p.Region()
	if err != nil {
		return nil, fmt.Errorf("OCI session %q of %s has no region: %w", profile, configPath, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{sdk: common.DefaultRequestSigner(p), region: region, now: now}, nil
}

// Sign sets the Date header and the Authorization signature (keyId
// ST$<token>, rsa-sha256) over date, (request-target) and host, and for
// PUT, POST and PATCH also the body's content-length, content-type and
// x-content-sha256, which it computes.
func (s *Signer) Sign(req *http.Request) error {
	req.Header.Set("Date", s.now().UTC().Format(http.TimeFormat))
	if (req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch) && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := s.sdk.Sign(req); err != nil {
		return fmt.Errorf("sign the request with the OCI session: %w", err)
	}
	return nil
}

// RealmDomain is the second-level domain of the session's region's realm
// (oraclecloud.com for oc1), under which OCI's API hosts live.
func (s *Signer) RealmDomain() string {
	return common.StringToRegion(s.region).SecondLevelDomain()
}
