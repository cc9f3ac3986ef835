package oci

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/idcsctl/idcsctl/internal/auth"
)

// The parameters of the identity domain's token exchange for a UPST
// ("Token Exchange Grant Type: Exchanging a JSON Web Token for a UPST").
const (
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeUPST      = "urn:oci:token-type:oci-upst"
	SubjectTypeJWT     = "jwt"
)

// ExchangeRequest is one exchange of a domain JWT for a UPST.
type ExchangeRequest struct {
	HTTP          *http.Client
	TokenEndpoint string
	// ClientID and ClientSecret authenticate the confidential application
	// with HTTP Basic; the exchange refuses public applications.
	ClientID, ClientSecret string
	// SubjectToken is the domain access token (a JWT) to exchange.
	SubjectToken string
	// PublicKey is the session key the UPST is bound to.
	PublicKey *rsa.PublicKey
}

// maxAnswer bounds the exchange's answer; a UPST is a few kilobytes.
const maxAnswer = 1 << 20

// RefusedError is the domain's refusal of the exchange: its OAuth error
// code and description, with every secret of the request replaced. It is
// not an *auth.ProviderError on purpose: a refused exchange is about the
// domain's set-up (its Identity Propagation Trust, the application), never
// a dead sign-in, and must not be worded or classified as one.
type RefusedError struct {
	Code        string // RFC 6749 "error": invalid_grant, invalid_client, ...
	Description string // "error_description", redacted
	Status      int    // the HTTP status of the answer
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("the domain refused to exchange the sign-in for an OCI session token (HTTP %d): %s", e.Status, auth.Printable(e.Code, 64))
	if e.Description != "" {
		msg += ": " + auth.Printable(e.Description, 300)
	}
	return msg
}

// exchangeSecrets are the secrets an exchange request carries, in the forms
// a domain quoting the request back may show them: the client secret
// (plain, and form-encoded as HTTP Basic sends it), the Basic credentials
// as sent (base64 of "client_id:client_secret", with and without its
// padding; auth.Redact adds each value's URL-encoded form) and the
// subject token.
func exchangeSecrets(req *http.Request, r ExchangeRequest) []string {
	out := []string{r.ClientSecret, url.QueryEscape(r.ClientSecret), r.SubjectToken}
	if cred, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Basic "); ok {
		out = append(out, cred, strings.TrimRight(cred, "="))
	}
	return out
}

// Exchange trades the subject token for a UPST. A refusal comes back as a
// *RefusedError with the domain's own code and description, redacted.
func Exchange(ctx context.Context, r ExchangeRequest) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(r.PublicKey)
	if err != nil {
		return "", fmt.Errorf("encode the session public key: %w", err)
	}
	form := url.Values{
		"grant_type":           {GrantTokenExchange},
		"requested_token_type": {TokenTypeUPST},
		"subject_token":        {r.SubjectToken},
		"subject_token_type":   {SubjectTypeJWT},
		"public_key":           {base64.StdEncoding.EncodeToString(der)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("build the token exchange request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 2.3.1: the client id and secret are form-encoded before
	// HTTP Basic joins them with ':' ("a+b/c%d:e" must not split or decode
	// differently).
	req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("exchange the domain token for an OCI session token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return "", fmt.Errorf("read the token exchange answer: %w", err)
	}
	if len(body) > maxAnswer {
		return "", errors.New("the token exchange answer is larger than 1 MiB")
	}
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isJSON := media == "application/json" || strings.HasSuffix(media, "+json")
	if resp.StatusCode != http.StatusOK {
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if isJSON && json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			secrets := exchangeSecrets(req, r)
			return "", &RefusedError{Code: auth.Redact(oe.Error, secrets...), Description: auth.Redact(oe.Description, secrets...), Status: resp.StatusCode}
		}
		return "", fmt.Errorf("the token exchange answered HTTP %d without an OAuth error", resp.StatusCode)
	}
	var ok struct {
		Token string `json:"token"`
	}
	if !isJSON || json.Unmarshal(body, &ok) != nil || ok.Token == "" {
		return "", errors.New("the token exchange answered 200 without a \"token\" in JSON")
	}
	return ok.Token, nil
}
