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

// Exchange trades the subject token for a UPST. A refusal comes back as an
// *auth.ProviderError with the domain's own code and description.
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
			return "", &auth.ProviderError{Code: oe.Error, Description: oe.Description, Status: resp.StatusCode, Endpoint: "token (UPST exchange)"}
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
