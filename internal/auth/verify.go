package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// signingAlgs are the ID token algorithms idcsctl accepts: asymmetric ones
// only. "none" and the HMAC family are refused, since a client secret must
// never be what proves a token.
func signingAlgs() []string {
	return []string{
		oidc.RS256, oidc.RS384, oidc.RS512,
		oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512,
		oidc.EdDSA,
	}
}

// parseAlgs lets the header be read whatever it claims, so that a refused
// algorithm is reported as such rather than as a malformed token.
func parseAlgs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512,
		jose.PS256, jose.PS384, jose.PS512, jose.EdDSA, jose.HS256, jose.HS384, jose.HS512, "none",
	}
}

// iatLeeway is how far in the future an ID token's iat may be, for clocks
// that disagree a little.
const iatLeeway = 5 * time.Minute

// VerifyIDToken verifies an ID token the way a sign-in does: signature with
// a key of the domain's JWKS, an accepted algorithm, iss equal to the issuer
// the discovery document declares, aud holding the client id, not expired, not
// issued in the future, and, unless nonce is "", the nonce. Failures are
// *VerifyError values naming the check.
//
// go-oidc does not look at iat; idcsctl refuses a token issued more than five
// minutes in the future, as OpenID Connect Core 3.1.3.7 allows.
func (c *Client) VerifyIDToken(ctx context.Context, raw, nonce string) (*Claims, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	return c.verify(ctx, raw, nonce, "")
}

// verify is VerifyIDToken that also checks at_hash when accessToken is set
// and the token has one.
func (c *Client) verify(ctx context.Context, raw, nonce, accessToken string) (*Claims, error) {
	jws, err := jose.ParseSignedCompact(raw, parseAlgs())
	if err != nil {
		return nil, &VerifyError{Reason: ReasonMalformed, Err: errors.New("it is not a signed JWT")}
	}
	if len(jws.Signatures) != 1 {
		return nil, &VerifyError{Reason: ReasonMalformed, Err: fmt.Errorf("it has %d signatures, not one", len(jws.Signatures))}
	}
	if alg := jws.Signatures[0].Header.Algorithm; !slices.Contains(signingAlgs(), alg) {
		return nil, &VerifyError{Reason: ReasonAlg, Err: fmt.Errorf("it is signed with %q, which idcsctl does not accept", Printable(alg, 32))}
	}
	// The claims are read before the signature is checked only to name the
	// check that failed; nothing is trusted until go-oidc has passed them.
	var unverified struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	_ = json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &unverified)

	ctx = oidc.ClientContext(ctx, httpClient(c.HTTP))
	verifier := oidc.NewVerifier(c.Metadata.Issuer, c.keySet(), &oidc.Config{
		ClientID:             c.ClientID,
		SupportedSigningAlgs: signingAlgs(),
		Now:                  c.now,
	})
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return nil, c.classify(err, unverified.Issuer, unverified.Audience)
	}
	if now := c.now(); idt.IssuedAt.After(now.Add(iatLeeway)) {
		return nil, &VerifyError{Reason: ReasonIssuedAt, Err: fmt.Errorf("it was issued at %s, in the future; check this computer's clock", idt.IssuedAt.UTC().Format(time.RFC3339))}
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, &VerifyError{Reason: ReasonNonce, Err: errors.New("its nonce is not the one this sign-in sent; the answer may be replayed, sign in again")}
	}
	if accessToken != "" && idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, &VerifyError{Reason: ReasonAtHash, Err: errors.New("its at_hash does not match the access token")}
		}
	}
	claims := &Claims{
		Subject:  idt.Subject,
		Issuer:   idt.Issuer,
		Audience: idt.Audience,
		Expiry:   idt.Expiry,
		IssuedAt: idt.IssuedAt,
		Nonce:    idt.Nonce,
	}
	if err := idt.Claims(&claims.Raw); err != nil {
		return nil, &VerifyError{Reason: ReasonMalformed, Err: errors.New("its claims are not a JSON object")}
	}
	if err := checkAuthorizedParty(claims.Raw, idt.Audience, c.ClientID); err != nil {
		return nil, err
	}
	// Claims are shown to people: no escape sequence may reach a terminal.
	str := func(k string) string { s, _ := claims.Raw[k].(string); return Printable(s, 256) }
	claims.Name = str("name")
	claims.PreferredUsername = str("preferred_username")
	claims.Email = str("email")
	claims.UserDisplayName = str("user_displayname")
	claims.UserID = str("user_id")
	return claims, nil
}

// checkAuthorizedParty applies OpenID Connect Core 3.1.3.7 (4 and 5), which
// go-oidc leaves out: an ID token with several audiences must name the
// client it was issued to in azp, and an azp must be this client. A token
// another application asked for, shared with this one through a second
// audience, is not a sign-in to this application.
func checkAuthorizedParty(raw map[string]any, aud []string, clientID string) error {
	v, present := raw["azp"]
	azp, isString := v.(string)
	switch {
	case present && !isString:
		return &VerifyError{Reason: ReasonAzp, Err: errors.New("its azp claim is not a string")}
	case present && azp != clientID:
		return &VerifyError{Reason: ReasonAzp, Err: fmt.Errorf("it was issued to %q (azp), not to client %q", Printable(azp, 100), clientID)}
	case !present && len(aud) > 1:
		return &VerifyError{Reason: ReasonAzp, Err: fmt.Errorf("it names %d audiences but no azp, so nothing says it was issued to client %q", len(aud), clientID)}
	}
	return nil
}

// classify maps a go-oidc failure to the check that failed. go-oidc checks
// the signature first, then iss, aud and exp, and only its expiry error is
// typed: a signature failure is recognised by its stable message prefix, and
// iss and aud by comparing the (then signature-checked) claims ourselves.
func (c *Client) classify(err error, iss string, aud json.RawMessage) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return &VerifyError{Reason: ReasonExpired, Err: fmt.Errorf("it expired at %s", expired.Expiry.UTC().Format(time.RFC3339))}
	case strings.Contains(msg, "fetching keys") && c.jwksCut() != nil:
		return &VerifyError{Reason: ReasonJWKS, Err: fmt.Errorf("could not fetch the domain's signing keys: %w", c.jwksCut())}
	case strings.Contains(msg, "fetching keys"):
		// The message would quote the JWKS answer; name the URL instead.
		return &VerifyError{Reason: ReasonJWKS, Err: fmt.Errorf("could not fetch the domain's signing keys from %s%s", c.Metadata.JWKSURI, jwksHint(msg))}
	case strings.Contains(msg, "failed to verify signature"):
		return &VerifyError{Reason: ReasonSignature, Err: errors.New("no signing key of the domain verifies it")}
	case strings.Contains(msg, "malformed jwt") || strings.Contains(msg, "unmarshal claims"):
		return &VerifyError{Reason: ReasonMalformed, Err: errors.New("its claims cannot be read")}
	case iss != c.Metadata.Issuer:
		return &VerifyError{Reason: ReasonIssuer, Err: fmt.Errorf("it was issued by %q, not by the domain's issuer %q", Printable(iss, 200), c.Metadata.Issuer)}
	case !audienceHas(aud, c.ClientID):
		return &VerifyError{Reason: ReasonAudience, Err: fmt.Errorf("it was issued to another application, not to client %q", c.ClientID)}
	case strings.Contains(msg, "nbf"):
		return &VerifyError{Reason: ReasonNotBefore, Err: errors.New("it is not valid yet; check this computer's clock")}
	default:
		return &VerifyError{Reason: ReasonMalformed, Err: err}
	}
}

// audienceHas reads aud as a string or a list of strings.
func audienceHas(raw json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == clientID
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, clientID)
}

// keySet is the domain's JWKS, shared by every verification of this client
// so keys are fetched once and again only when an unknown key id shows up.
func (c *Client) keySet() *oidc.RemoteKeySet {
	c.keysMu.Lock()
	defer c.keysMu.Unlock()
	if c.keys == nil || c.keysURI != c.Metadata.JWKSURI {
		// The key set fetches with this context, never with a
		// verification's: only the HTTP client's own deadline and size cap
		// (BoundedClient) bound the fetch. The recorder keeps why a fetch
		// was cut, which go-oidc reports only as text.
		rec := &answerRecorder{base: httpClient(c.HTTP).Transport}
		hc := *httpClient(c.HTTP)
		hc.Transport = rec
		ctx := oidc.ClientContext(context.Background(), &hc)
		c.keys = oidc.NewRemoteKeySet(ctx, c.Metadata.JWKSURI)
		c.keysRec = rec
		c.keysURI = c.Metadata.JWKSURI
	}
	return c.keys
}

// jwksCut is why the last JWKS fetch was cut short (deadline, size), or nil.
func (c *Client) jwksCut() error {
	c.keysMu.Lock()
	rec := c.keysRec
	c.keysMu.Unlock()
	if rec == nil {
		return nil
	}
	return rec.lastCut()
}

// jwksHint explains IDCS's usual reason for refusing the JWKS: by default an
// identity domain serves its signing certificate only to signed-in clients.
func jwksHint(msg string) string {
	if strings.Contains(msg, "401") || strings.Contains(msg, "403") {
		return "; it refused access: allow clients to access the signing certificate without signing in (\"Access signing certificate\" in the identity domain's settings)"
	}
	return ""
}
