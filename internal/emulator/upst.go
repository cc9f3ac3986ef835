package emulator

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The token exchange grant of identity domains ("Token Exchange Grant Type:
// Exchanging a JSON Web Token for a UPST"): a confidential application trades
// a JWT the domain trusts for an OCI user principal session token (UPST)
// bound to a public key the caller made.
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// TokenTypeUPST is the requested_token_type of the exchange.
	TokenTypeUPST = "urn:oci:token-type:oci-upst"
	// SubjectTypeJWT is the subject_token_type the documentation asks for
	// (the short form, not RFC 8693's URN).
	SubjectTypeJWT = "jwt"
	// UPSTIssuer is the iss of every UPST: OCI's authentication service,
	// not the identity domain.
	UPSTIssuer = "authService.oracle.com"
	// TenancyOCID is the tenancy of the emulated domain; every UPST names it.
	TenancyOCID = tenancyOCID
	// maxUPSTTTL is the longest a UPST lives, as OCI documents.
	maxUPSTTTL = time.Hour
)

// Trust is an Identity Propagation Trust: which issuer's JWTs the domain
// accepts for the exchange, and from which applications. An administrator
// creates one (type JWT) under the domain's /admin/v1/IdentityPropagationTrusts.
type Trust struct {
	// Name is shown in errors only.
	Name string
	// Issuer is the iss the subject token must carry; "" means the
	// emulator's own issuer.
	Issuer string
	// ClientIDs are the values of the client claim (client_id) the trust
	// accepts: the applications whose tokens may be exchanged.
	ClientIDs []string
	// SubjectType is the kind of subject the trust maps: "user" (the
	// token's sub is a user name of the domain) or "client".
	SubjectType string
	// Inactive trusts are ignored, as IDCS ignores a trust with active
	// false.
	Inactive bool
}

// DemoTrust is the trust an emulator starts with: the emulator's own user
// tokens, from the demo confidential application.
var DemoTrust = Trust{Name: "idcsctl-demo", ClientIDs: []string{DemoConfidentialClientID}, SubjectType: "user"}

// upstRecord is what the emulator remembers of a UPST it issued, so the
// OCI-like API can verify request signatures with the session key.
type upstRecord struct {
	key     *rsa.PublicKey
	user    *User
	expires time.Time
}

// SetTrusts replaces the domain's Identity Propagation Trusts; none means
// every exchange is refused.
func (e *Emulator) SetTrusts(trusts ...Trust) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.trusts = slices.Clone(trusts)
}

// SetUPSTTTL changes the lifetime of UPSTs issued from now on; d <= 0 or
// above an hour restores the default of one hour, OCI's longest.
func (e *Emulator) SetUPSTTTL(d time.Duration) {
	if d <= 0 || d > maxUPSTTTL {
		d = maxUPSTTTL
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.upstTTL = d
}

// AdvanceClock moves the emulator's clock forward by d (backward for a
// negative d), so tests can expire what it issued without waiting.
func (e *Emulator) AdvanceClock(d time.Duration) { e.clockOffset.Add(int64(d)) }

// upstResponse is the exchange's success body: the UPST in "token".
type upstResponse struct {
	Token string `json:"token"`
}

// tokenExchange checks an exchange request as strictly as the documentation
// describes it and issues a UPST bound to the given public key.
func (e *Emulator) tokenExchange(c *Client, form url.Values) (upstResponse, *oauthError) {
	if c.public() {
		return upstResponse{}, badRequest("unauthorized_client", "A public application cannot exchange tokens; use a confidential application and authenticate with its client id and secret.")
	}
	if rt := form.Get("requested_token_type"); rt != TokenTypeUPST {
		return upstResponse{}, badRequest("invalid_request", fmt.Sprintf("The requested_token_type must be %s, not %q.", TokenTypeUPST, shorten(rt)))
	}
	if st := form.Get("subject_token_type"); st != SubjectTypeJWT {
		return upstResponse{}, badRequest("invalid_request", fmt.Sprintf("The subject_token_type %q is not supported; use %s.", shorten(st), SubjectTypeJWT))
	}
	subject := form.Get("subject_token")
	if subject == "" {
		return upstResponse{}, badRequest("invalid_request", "The subject_token parameter is missing.")
	}
	key, oe := sessionKey(form.Get("public_key"))
	if oe != nil {
		return upstResponse{}, oe
	}
	claims, err := e.keys.verify(subject)
	if err != nil {
		return upstResponse{}, badRequest("invalid_grant", "The subject token is not a JWT signed by a trusted issuer: "+err.Error()+".")
	}
	now := e.now()
	exp, _ := claims["exp"].(float64)
	if exp == 0 || !now.Before(time.Unix(int64(exp), 0)) {
		return upstResponse{}, badRequest("invalid_grant", "The subject token has expired.")
	}
	iss, _ := claims["iss"].(string)
	clientClaim, _ := claims["client_id"].(string)
	subType, _ := claims["sub_type"].(string)
	sub, _ := claims["sub"].(string)

	e.mu.Lock()
	trusts := slices.Clone(e.trusts)
	ttl := e.upstTTL
	user := e.usersByKey[strings.ToLower(sub)]
	e.mu.Unlock()
	var trust *Trust
	for i := range trusts {
		t := &trusts[i]
		want := t.Issuer
		if want == "" {
			want = e.issuer
		}
		if !t.Inactive && want == iss {
			trust = t
			break
		}
	}
	switch {
	case trust == nil:
		return upstResponse{}, badRequest("invalid_grant", fmt.Sprintf("No active Identity Propagation Trust accepts tokens issued by %s.", shorten(iss)))
	case !slices.Contains(trust.ClientIDs, clientClaim):
		return upstResponse{}, badRequest("invalid_grant", fmt.Sprintf("The Identity Propagation Trust %s does not accept tokens issued to the application %s.", trust.Name, shorten(clientClaim)))
	case !slices.Contains(trust.ClientIDs, c.ID):
		return upstResponse{}, badRequest("unauthorized_client", fmt.Sprintf("The application %s is not allowed by the Identity Propagation Trust %s.", c.ID, trust.Name))
	case subType != trust.SubjectType:
		return upstResponse{}, badRequest("invalid_grant", fmt.Sprintf("The Identity Propagation Trust %s maps subjects of type %s, and the subject token's is %s.", trust.Name, trust.SubjectType, shorten(subType)))
	case user == nil:
		return upstResponse{}, badRequest("invalid_grant", "The subject of the token is not a user of this domain.")
	}
	if e.upstNoClaims.Load() {
		// A knob for tests: a UPST a client cannot read its tenancy and
		// expiry from.
		tok, err := e.keys.sign(map[string]any{"iss": UPSTIssuer, "jti": randomToken(16)})
		if err != nil {
			return upstResponse{}, serverError(err)
		}
		return upstResponse{Token: tok}, nil
	}
	expires := now.Add(ttl)
	tok, err := e.keys.sign(e.upstClaims(user, c, key, now, expires))
	if err != nil {
		return upstResponse{}, serverError(err)
	}
	e.mu.Lock()
	e.upsts[hashToken(tok)] = &upstRecord{key: key, user: user, expires: expires}
	e.mu.Unlock()
	return upstResponse{Token: tok}, nil
}

// sessionKey reads the public_key parameter: a SubjectPublicKeyInfo in DER,
// base64 without PEM armour, of an RSA key of 2048 bits or more.
func sessionKey(raw string) (*rsa.PublicKey, *oauthError) {
	if raw == "" {
		return nil, badRequest("invalid_request", "The public_key parameter is missing.")
	}
	der, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, badRequest("invalid_request", "The public_key must be a base64 DER SubjectPublicKeyInfo, without PEM armour.")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, badRequest("invalid_request", "The public_key is not a DER SubjectPublicKeyInfo.")
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok || rk.N.BitLen() < 2048 {
		return nil, badRequest("invalid_request", "The public_key must be an RSA key of 2048 bits or more.")
	}
	return rk, nil
}

// upstClaims are the claims of a UPST as OCI issues them: the user's and the
// tenancy's OCIDs, the principal and token types, the session's expiry, and
// the session public key as a JWK in a string (the key OCI checks request
// signatures against).
func (e *Emulator) upstClaims(u *User, c *Client, key *rsa.PublicKey, now, exp time.Time) map[string]any {
	kid := sha256.Sum256(x509.MarshalPKCS1PublicKey(key))
	jwk, _ := json.Marshal(map[string]string{
		"kid": "ocid1.session." + b64(kid[:12]),
		"n":   b64(key.N.Bytes()),
		"e":   b64(big.NewInt(int64(key.E)).Bytes()),
		"kty": "RSA",
		"alg": "RS256",
		"use": "sig",
	})
	return map[string]any{
		"iss":             UPSTIssuer,
		"aud":             "oci",
		"sub":             userOCID(u),
		"tenant":          tenancyOCID,
		"opc-tenant":      tenancyOCID,
		"domain_ocid":     domainOCID,
		"client_id":       c.ID,
		"ptype":           "user",
		"pstype":          "natv",
		"ttype":           "upst",
		"sess_exp":        exp.UTC().Format(time.RFC1123),
		"exp":             exp.Unix(),
		"iat":             now.Unix(),
		"jti":             randomToken(16),
		"jwk":             string(jwk),
		"user_name":       u.UserName,
		"opc-certtype":    "user",
		"opc-instance":    "",
		"opc-compartment": tenancyOCID,
	}
}

func userOCID(u *User) string { return "ocid1.user.oc1..aaaaaaaa" + stableID("user-ocid", u.ID) }

// lookupUPST finds a live UPST the emulator issued.
func (e *Emulator) lookupUPST(tok string) (*upstRecord, string) {
	if _, err := e.keys.verify(tok); err != nil {
		return nil, "The security token is not valid: " + err.Error() + "."
	}
	e.mu.Lock()
	rec, ok := e.upsts[hashToken(tok)]
	e.mu.Unlock()
	switch {
	case !ok:
		return nil, "The security token is not known."
	case !e.now().Before(rec.expires):
		return nil, "The security token has expired."
	}
	return rec, ""
}
