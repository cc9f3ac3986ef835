package oci

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
)

// ErrUPSTClaims means a UPST lacks the claims a session needs (subject,
// tenancy, expiry), so nothing can be written that OCI tools would use.
var ErrUPSTClaims = errors.New("the OCI session token lacks the expected claims")

// Claims are what idcsctl reads from a UPST. It does not verify the
// signature: only OCI can, and a forged token gets nothing from OCI.
type Claims struct {
	Subject string    // the user's OCID
	Tenancy string    // "tenant": the tenancy OCID
	Expiry  time.Time // "exp"
	Issued  time.Time // "iat", zero when absent
}

// MaxLifetime is the longest a UPST lives, as OCI documents (60 minutes).
// A UPST that claims to live longer is refused: idcsctl exchanges anew at
// least this often, whatever the token says.
const MaxLifetime = time.Hour

// clockSkew is how far the domain's clock may run ahead of this machine's
// before a UPST's expiry counts as later than OCI allows.
const clockSkew = 5 * time.Minute

// ParseUPST reads the claims of a UPST, a JWT in compact form: three
// base64url parts and nothing else (no white space, no text after it, as
// the token file is what every OCI tool reads), with a tenancy OCID.
func ParseUPST(tok string) (*Claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: it is not a JWT", ErrUPSTClaims)
	}
	for _, p := range parts {
		if !isBase64URL(p) {
			return nil, fmt.Errorf("%w: it is not a JWT alone (text around it, or characters no JWT has)", ErrUPSTClaims)
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: its payload is not base64url", ErrUPSTClaims)
	}
	var c struct {
		Sub    string   `json:"sub"`
		Tenant string   `json:"tenant"`
		Exp    *float64 `json:"exp"`
		Iat    *float64 `json:"iat"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: its payload is not a JSON object", ErrUPSTClaims)
	}
	var missing []string
	if c.Sub == "" {
		missing = append(missing, "sub")
	}
	if c.Tenant == "" {
		missing = append(missing, "tenant")
	}
	if c.Exp == nil || *c.Exp <= 0 {
		missing = append(missing, "exp")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: no %s", ErrUPSTClaims, strings.Join(missing, ", "))
	}
	if !IsTenancyOCID(c.Tenant) {
		return nil, fmt.Errorf("%w: the tenant claim %q is not a tenancy OCID (ocid1.tenancy.<realm>..<id>)", ErrUPSTClaims, auth.Printable(c.Tenant, 80))
	}
	out := &Claims{Subject: c.Sub, Tenancy: c.Tenant, Expiry: time.Unix(int64(*c.Exp), 0)}
	if c.Iat != nil {
		out.Issued = time.Unix(int64(*c.Iat), 0)
	}
	return out, nil
}

// safeValue reports whether v can go into an OCI config line as it is: no
// line breaks or other control characters, no leading or trailing space.
func safeValue(v string) bool {
	if v == "" || strings.TrimSpace(v) != v {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// CheckLifetime refuses a UPST that is of no use or claims more than OCI
// grants: one that has expired already, and one whose expiry is later than
// OCI's MaxLifetime allows (after its issue time, when it has one, and
// after now, with some allowance for the domain's clock).
func (c *Claims) CheckLifetime(now time.Time) error {
	switch {
	case !now.Before(c.Expiry):
		return fmt.Errorf("the domain issued an OCI session token that expired already (at %s, and it is %s here): check this machine's clock", c.Expiry.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case !c.Issued.IsZero() && c.Expiry.Sub(c.Issued) > MaxLifetime:
		return fmt.Errorf("the domain issued an OCI session token that claims to live %s, longer than the %s OCI allows: it was not written", c.Expiry.Sub(c.Issued).Round(time.Second), MaxLifetime)
	case c.Expiry.Sub(now) > MaxLifetime+clockSkew:
		return fmt.Errorf("the domain issued an OCI session token that expires at %s, later than the %s OCI allows from now: it was not written (check this machine's clock)", c.Expiry.UTC().Format(time.RFC3339), MaxLifetime)
	}
	return nil
}

// Margin is how long before its expiry the UPST is exchanged anew, given
// the margin asked for: at most a quarter of its lifetime, so that a short
// UPST (a domain's policy, a test) is not exchanged on every use, and
// processes that share it renew it once per lifetime between them.
func (c *Claims) Margin(asked time.Duration) time.Duration {
	if c.Issued.IsZero() || !c.Issued.Before(c.Expiry) {
		return asked
	}
	return min(asked, c.Expiry.Sub(c.Issued)/4)
}

// IsTenancyOCID reports whether s is a tenancy OCID:
// ocid1.tenancy.<realm>.[region][.future].<unique id>, each part of
// lower-case letters, digits, '-' or '_' (the realm and the id not empty).
// Nothing else may reach the OCI config's tenancy key.
func IsTenancyOCID(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 5 || len(parts) > 6 || parts[0] != "ocid1" || parts[1] != "tenancy" {
		return false
	}
	for i, p := range parts[2:] {
		if p == "" && (i == 0 || i == len(parts)-3) {
			return false // the realm and the unique id
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return len(s) <= 255
}

// isBase64URL reports whether s is non-empty base64url without padding.
func isBase64URL(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
