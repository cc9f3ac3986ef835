package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// UserInfo calls the userinfo endpoint with the access token and returns its
// claims. A 401 gives a *TokenRejectedError, which matches ErrUnauthorized:
// refresh the token or sign in again.
func (c *Client) UserInfo(ctx context.Context, accessToken string) (map[string]any, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	const endpoint = "userinfo"
	if c.Metadata.UserinfoEndpoint == "" {
		return nil, ErrNoUserinfo
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Metadata.UserinfoEndpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("build the userinfo request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	body, resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("%s request failed: %w", endpoint, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, &TokenRejectedError{Endpoint: endpoint, Code: challengeError(resp.Header.Get("WWW-Authenticate"))}
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("the %s endpoint answered %s", endpoint, resp.Status)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil || claims == nil {
		return nil, notJSON(endpoint, resp)
	}
	return claims, nil
}

// challengeError reads error="..." from a Bearer challenge (RFC 6750 3).
func challengeError(challenge string) string {
	_, params, ok := strings.Cut(challenge, " ")
	if !ok {
		return ""
	}
	for p := range strings.SplitSeq(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(k, "error") {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// Revoke asks the provider to revoke a token (RFC 7009). hint is
// "refresh_token", "access_token" or "". A provider without a revocation
// endpoint gives ErrNoRevocation. Revoking a token the provider no longer
// knows succeeds, as RFC 7009 says.
func (c *Client) Revoke(ctx context.Context, token, hint string) error {
	if err := c.check(); err != nil {
		return err
	}
	const endpoint = "revocation"
	if c.Metadata.RevocationEndpoint == "" {
		return ErrNoRevocation
	}
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	if c.ClientSecret == "" {
		form.Set("client_id", c.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Metadata.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("build the revocation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	body, resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("%s request failed: %w", endpoint, err)
	}
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return endpointError(endpoint, req, resp, body)
}
