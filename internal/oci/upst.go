package oci

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
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

// ParseUPST reads the claims of a UPST, a JWT in compact form.
func ParseUPST(tok string) (*Claims, error) {
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: it is not a JWT", ErrUPSTClaims)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
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
	if !safeValue(c.Tenant) {
		return nil, fmt.Errorf("%w: the tenant claim is not an OCID", ErrUPSTClaims)
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
