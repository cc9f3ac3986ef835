package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// IDCS names its tenant signing key "SIGNING_KEY" in the JWKS and in every
// token header.
const signingKeyID = "SIGNING_KEY"

// The tenant the emulator pretends to be. IDCS tenant names are "idcs-" and
// 32 hex digits; the other values are what tokens of a tenant in Ashburn carry.
const (
	tenantName  = "idcs-e1a5c0de0e1a5c0de0e1a5c0de0e1a5c"
	regionName  = "us-ashburn-idcs-1"
	domainHome  = "us-ashburn-1"
	domainName  = "Default"
	domainOCID  = "ocid1.domain.oc1..aaaaaaaaemulatoremulatoremulatoremulatoremulatoremulator"
	tenancyOCID = "ocid1.tenancy.oc1..aaaaaaaaemulatoremulatoremulatoremulatoremulatoremulatorx"
	caGUID      = "cacct-0e1a5c0de0e1a5c0de0e1a5c0de0e1a5"
	userTZ      = "America/Chicago"
	userLocale  = "en"
)

// signingKey is the tenant's RSA key with its self-signed certificate, which
// IDCS publishes in x5c and whose thumbprints it puts in token headers.
type signingKey struct {
	signer crypto.Signer
	pub    *rsa.PublicKey
	cert   []byte
	x5t    string
	x5t256 string
	header string // the encoded JWS header every token shares
}

func newSigningKey(signer crypto.Signer, now time.Time) (*signingKey, error) {
	if signer == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("emulator: generate signing key: %w", err)
		}
		signer = key
	}
	pub, ok := signer.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("emulator: the signer holds a %T key; IDCS signs with RS256, so it must be an RSA key", signer.Public())
	}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("emulator: the signer's RSA key has %d bits; use 2048 or more", pub.N.BitLen())
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("emulator: certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "SIGNING_KEY", Organization: []string{tenantName}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("emulator: self-sign the signing certificate: %w", err)
	}
	s1 := sha1.Sum(der)
	s256 := sha256.Sum256(der)
	k := &signingKey{
		signer: signer,
		pub:    pub,
		cert:   der,
		x5t:    b64(s1[:]),
		x5t256: b64(s256[:]),
	}
	header, err := json.Marshal(struct {
		X5t256 string `json:"x5t#S256"`
		X5t    string `json:"x5t"`
		Kid    string `json:"kid"`
		Alg    string `json:"alg"`
	}{k.x5t256, k.x5t, signingKeyID, "RS256"})
	if err != nil {
		return nil, fmt.Errorf("emulator: encode token header: %w", err)
	}
	k.header = b64(header)
	return k, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign makes an RS256 JWS in compact form.
func (k *signingKey) sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	input := k.header + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := k.signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return input + "." + b64(sig), nil
}

// verify checks that raw is a JWS this emulator signed and returns its claims.
func (k *signingKey) verify(raw string) (map[string]any, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a compact JWS")
	}
	if subtle.ConstantTimeCompare([]byte(parts[0]), []byte(k.header)) != 1 {
		return nil, errors.New("not signed by this tenant's key")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("signature is not base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(k.pub, crypto.SHA256, digest[:], sig); err != nil {
		return nil, errors.New("signature does not verify")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("payload is not base64url")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, errors.New("payload is not a JSON object")
	}
	return claims, nil
}

// jwk is one key of /admin/v1/SigningCert/jwk, in IDCS's shape.
type jwk struct {
	Kty    string   `json:"kty"`
	X5t256 string   `json:"x5t#S256"`
	E      string   `json:"e"`
	X5t    string   `json:"x5t"`
	Kid    string   `json:"kid"`
	X5c    []string `json:"x5c"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	N      string   `json:"n"`
}

func (k *signingKey) jwk() jwk {
	return jwk{
		Kty:    "RSA",
		X5t256: k.x5t256,
		E:      b64(big.NewInt(int64(k.pub.E)).Bytes()),
		X5t:    k.x5t,
		Kid:    signingKeyID,
		X5c:    []string{base64.StdEncoding.EncodeToString(k.cert)},
		Use:    "sig",
		Alg:    "RS256",
		N:      b64(k.pub.N.Bytes()),
	}
}

func (e *Emulator) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=3600")
	writeJSON(w, http.StatusOK, map[string]any{"keys": []jwk{e.keys.jwk()}})
}

// randomToken returns n random bytes as base64url. crypto/rand.Read never
// fails (it aborts the program instead), so there is no error to return.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}

// hashToken is the key a secret is stored under, so the maps never hold a
// usable token.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// grant is one authorization: a user's consent to a client for scopes (from
// a code or a device code), or a client's own (client_credentials). Every
// token issued from it dies with it.
type grant struct {
	client    *Client
	user      *User // nil for client_credentials
	scopes    []string
	authTime  time.Time
	sessionID string
	gtp       string // IDCS's grant type claim: "azc", "dc", "cc"
	revoked   bool
}

type refreshRecord struct {
	grant   *grant
	expires time.Time
	used    bool // rotated away
}

type accessRecord struct {
	grant   *grant
	scopes  []string
	issued  time.Time
	expires time.Time
	jti     string
	revoked bool
}

// tokenResponse is the token endpoint's success body (RFC 6749 5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// issue signs the tokens of one token response for g and records them. An
// ID token comes when openid was granted; nonce goes into it when not "".
// A refresh token comes when withRefresh.
func (e *Emulator) issue(base string, g *grant, scopes []string, nonce string, withRefresh bool) (tokenResponse, error) {
	ttl, _ := e.settings()
	now := e.now()
	exp := now.Add(ttl)
	jti := randomToken(16)
	at, err := e.keys.sign(e.accessClaims(base, g, scopes, now, exp, jti))
	if err != nil {
		return tokenResponse{}, err
	}
	resp := tokenResponse{
		AccessToken: at,
		TokenType:   "Bearer",
		ExpiresIn:   int64(ttl.Round(time.Second) / time.Second),
		Scope:       strings.Join(scopes, " "),
	}
	if g.user != nil && hasScope(scopes, "openid") {
		it, err := e.keys.sign(e.idClaims(base, g, now, exp, nonce, at))
		if err != nil {
			return tokenResponse{}, err
		}
		resp.IDToken = it
	}
	// IDCS refresh tokens are opaque and long; 375 random bytes make 500
	// characters, so stores meet a realistic size.
	if withRefresh {
		resp.RefreshToken = randomToken(375)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.access[hashToken(at)] = &accessRecord{grant: g, scopes: scopes, issued: now, expires: exp, jti: jti}
	if withRefresh {
		e.refresh[hashToken(resp.RefreshToken)] = &refreshRecord{grant: g, expires: now.Add(e.refreshTTL)}
	}
	return resp, nil
}

// accessClaims are the claims of an IDCS access token ("Access Token" in the
// IDCS REST API guide): the token type, the subject and its kind, the user
// and the client, the tenant, and the scopes. They make tokens of about
// 2.5 KB, as real ones are.
func (e *Emulator) accessClaims(base string, g *grant, scopes []string, now, exp time.Time, jti string) map[string]any {
	c := map[string]any{
		"iss":               e.issuerFor(base),
		"aud":               []string{base, "urn:opc:lbaas:logicalguid=" + tenantName},
		"exp":               exp.Unix(),
		"iat":               now.Unix(),
		"jti":               jti,
		"tok_type":          "AT",
		"scope":             strings.Join(scopes, " "),
		"client_id":         g.client.ID,
		"client_name":       g.client.Name,
		"client_guid":       stableID("client", g.client.ID),
		"client_ocid":       "ocid1.domainapp.oc1.iad.amaaaaaa" + stableID("client-ocid", g.client.ID),
		"client_tenantname": tenantName,
		"tenant":            tenantName,
		"tenant_iss":        base,
		"region_name":       regionName,
		"domain":            domainName,
		"domain_home":       domainHome,
		"domain_id":         domainOCID,
		"ca_guid":           caGUID,
		"ca_name":           "emulator",
		"ca_ocid":           tenancyOCID,
		"gtp":               g.gtp,
		"opc":               false,
		"primTenant":        true,
	}
	if g.user == nil {
		c["sub"] = g.client.ID
		c["sub_type"] = "client"
		return c
	}
	u := g.user
	c["sub"] = u.UserName
	c["sub_type"] = "user"
	c["sub_mappingattr"] = "userName"
	c["user_id"] = u.ID
	c["user_ocid"] = "ocid1.user.oc1..aaaaaaaa" + stableID("user-ocid", u.ID)
	c["user_displayname"] = u.DisplayName
	c["user_tenantname"] = tenantName
	c["user.tenant.name"] = tenantName
	c["user_tz"] = userTZ
	c["user_locale"] = userLocale
	c["user_lang"] = userLocale
	c["sid"] = g.sessionID
	c["sidle"] = 480
	return c
}

// idClaims are the claims of an IDCS identity token ("Identity Token" in the
// IDCS REST API guide). Its aud holds the client id and the IDCS issuer, as
// IDCS's does; azp names the client, as OpenID Connect Core 2 asks when aud
// has several values.
func (e *Emulator) idClaims(base string, g *grant, now, exp time.Time, nonce, accessToken string) map[string]any {
	u := g.user
	sum := sha256.Sum256([]byte(accessToken))
	iss := e.issuerFor(base)
	c := map[string]any{
		"iss":               iss,
		"sub":               u.UserName,
		"aud":               []string{iss, g.client.ID},
		"azp":               g.client.ID,
		"exp":               exp.Unix(),
		"iat":               now.Unix(),
		"auth_time":         g.authTime.Unix(),
		"jti":               randomToken(16),
		"at_hash":           b64(sum[:len(sum)/2]),
		"tok_type":          "IT",
		"sub_type":          "user",
		"sub_mappingattr":   "userName",
		"user_id":           u.ID,
		"user_displayname":  u.DisplayName,
		"user_tenantname":   tenantName,
		"user.tenant.name":  tenantName,
		"user_tz":           userTZ,
		"user_locale":       userLocale,
		"user_lang":         userLocale,
		"client_id":         g.client.ID,
		"client_name":       g.client.Name,
		"client_tenantname": tenantName,
		"tenant":            tenantName,
		"tenant_iss":        base,
		"domain":            domainName,
		"domain_home":       domainHome,
		"ca_guid":           caGUID,
		"sid":               g.sessionID,
		"sidle":             480,
		"idp_name":          "localIDP",
		"idp_type":          "LOCAL",
		"idp_guid":          "localIDP",
		"amr":               []string{"USERNAME_PASSWORD"},
		"authn_strength":    "2",
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return c
}

// tokenProblem says why an access token is refused, for WWW-Authenticate.
type tokenProblem string

// lookupAccess finds a live access token, or says why it is not one.
func (e *Emulator) lookupAccess(tok string) (*accessRecord, tokenProblem) {
	if tok == "" {
		return nil, "The access token is missing."
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rec, ok := e.access[hashToken(tok)]
	switch {
	case !ok:
		return nil, "The access token is invalid."
	case rec.revoked || rec.grant.revoked:
		return nil, "The access token has been revoked."
	case !e.now().Before(rec.expires):
		return nil, "The access token has expired."
	}
	return rec, ""
}

func hasScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}
