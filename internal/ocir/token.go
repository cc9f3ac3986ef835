package ocir

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
)

// MaxTokenAnswer bounds the token endpoint's answer: a registry token is
// a JWT of a few kilobytes, and a registry that sends more is not OCIR.
const MaxTokenAnswer = 64 << 10

// DefaultTokenTTL is how long a registry token is taken to live when its
// answer names no expiry (neither a JWT exp nor expires_in).
const DefaultTokenTTL = 5 * time.Minute

// ErrTokenAnswer means the registry's token answer is unusable: too big,
// not JSON, or without a token. The error never carries the answer.
var ErrTokenAnswer = errors.New("the registry's token answer is not usable")

// Token is a registry token and when it expires.
type Token struct {
	Secret  string    `json:"token"`
	Expires time.Time `json:"expires_at"`
}

// Signer signs a request as OCI's request signature scheme asks, with the
// session key (oci.ExecSigner's Sign).
type Signer func(*http.Request) error

// FetchToken asks host for a registry token with a GET signed by sign.
// Errors name the host and what was wrong, never the answer's token.
func FetchToken(ctx context.Context, hc *http.Client, sign Signer, host string, now time.Time) (*Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, TokenURL(host), nil)
	if err != nil {
		return nil, fmt.Errorf("the registry token request for %s: %w", host, err)
	}
	req.Header.Set("Accept", "application/json")
	if err := sign(req); err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask %s for a registry token: %w", host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("read %s's registry token answer: %w", host, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s refused the registry token request: HTTP %d%s", host, resp.StatusCode, ociMessage(body))
	}
	return parseTokenAnswer(host, resp.Header.Get("Content-Type"), body, now)
}

// parseTokenAnswer reads {"token": "...", "expires_in": N}; the token's
// expiry is its JWT exp, else expires_in, else DefaultTokenTTL.
func parseTokenAnswer(host, contentType string, body []byte, now time.Time) (*Token, error) {
	if len(body) > MaxTokenAnswer {
		return nil, fmt.Errorf("%w: %s answered more than %d KiB", ErrTokenAnswer, host, MaxTokenAnswer>>10)
	}
	var answer struct {
		Token     string  `json:"token"`
		ExpiresIn float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		mt, _, _ := mime.ParseMediaType(contentType)
		return nil, fmt.Errorf("%w: %s answered something that is not a JSON object (%s)", ErrTokenAnswer, host, auth.Printable(mt, 60))
	}
	tok := strings.TrimSpace(answer.Token)
	if tok == "" {
		return nil, fmt.Errorf("%w: %s answered no token", ErrTokenAnswer, host)
	}
	if !printableASCII(tok) {
		return nil, fmt.Errorf("%w: %s answered a token with characters a password cannot hold", ErrTokenAnswer, host)
	}
	t := &Token{Secret: tok, Expires: now.Add(DefaultTokenTTL)}
	switch exp, ok := jwtExpiry(tok); {
	case ok:
		t.Expires = exp
	case answer.ExpiresIn > 0 && answer.ExpiresIn < 1e7:
		t.Expires = now.Add(time.Duration(answer.ExpiresIn * float64(time.Second)))
	}
	return t, nil
}

// jwtExpiry reads the exp claim of a compact JWT without verifying it:
// only the registry can, and the expiry only decides when to ask again.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(raw, &c) != nil || c.Exp <= 0 {
		return time.Time{}, false
	}
	return time.Unix(int64(c.Exp), 0), true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ociMessage is ": <message>" of an OCI error answer {"code", "message"},
// printable and short, or "" when the answer is not one.
func ociMessage(body []byte) string {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil || e.Code == "" && e.Message == "" {
		return ""
	}
	return ": " + auth.Printable(strings.TrimSpace(e.Code+" "+e.Message), 200)
}
