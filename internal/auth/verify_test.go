package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestVerifyIDToken(t *testing.T) {
	p := newTestProvider(t)
	now := p.clock.Now()
	hs256 := jose.SigningKey{Algorithm: jose.HS256, Key: []byte("a-client-secret-used-as-hmac-key!")}
	es256, _ := ecKey(t)

	tests := []struct {
		name   string
		token  func(claims map[string]any) string
		tamper func(claims map[string]any)
		nonce  string
		want   string // VerifyError reason; "" = passes
	}{
		{name: "IDCS issuer differs from the domain URL and passes", nonce: "n-1"},
		{name: "nonce not checked when not given"},
		{name: "audience as a plain string passes", tamper: func(c map[string]any) { c["aud"] = p.ClientID }},
		{name: "signed by another key", token: func(c map[string]any) string { return signJWT(t, otherRSAKey(t), c) }, want: ReasonSignature},
		{name: "signed by an EC key the JWKS lacks", token: func(c map[string]any) string { return signJWT(t, es256, c) }, want: ReasonSignature},
		{name: "alg none", token: func(c map[string]any) string { return unsignedJWT(t, c) }, want: ReasonAlg},
		{name: "HS256 with a shared secret", token: func(c map[string]any) string { return signJWT(t, hs256, c) }, want: ReasonAlg},
		{name: "not a JWT", token: func(map[string]any) string { return "not.a.jwt" }, want: ReasonMalformed},
		{name: "wrong audience", tamper: func(c map[string]any) { c["aud"] = []string{"another-app"} }, want: ReasonAudience},
		{name: "wrong issuer", tamper: func(c map[string]any) { c["iss"] = p.URL }, want: ReasonIssuer},
		{name: "issuer without the trailing slash", tamper: func(c map[string]any) { c["iss"] = strings.TrimSuffix(idcsIssuer, "/") }, want: ReasonIssuer},
		{name: "wrong nonce", nonce: "n-1", tamper: func(c map[string]any) { c["nonce"] = "n-2" }, want: ReasonNonce},
		{name: "missing nonce", nonce: "n-1", tamper: func(c map[string]any) { delete(c, "nonce") }, want: ReasonNonce},
		{name: "expired", tamper: func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() }, want: ReasonExpired},
		{name: "issued far in the future", tamper: func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }, want: ReasonIssuedAt},
		{name: "issued a little in the future passes", tamper: func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }},
		{name: "not valid yet", tamper: func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }, want: ReasonNotBefore},
		{name: "several audiences and no azp", tamper: func(c map[string]any) { c["aud"] = []string{p.ClientID, "another-app"} }, want: ReasonAzp},
		{name: "several audiences with azp of this client pass", tamper: func(c map[string]any) { c["aud"] = []string{p.ClientID, "another-app"}; c["azp"] = p.ClientID }},
		{name: "one audience with azp of this client passes", tamper: func(c map[string]any) { c["azp"] = p.ClientID }},
		{name: "azp of another client", tamper: func(c map[string]any) { c["azp"] = "another-app" }, want: ReasonAzp},
		{name: "azp not a string", tamper: func(c map[string]any) { c["azp"] = []string{p.ClientID} }, want: ReasonAzp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := p.claims("")
			if tt.nonce != "" {
				claims["nonce"] = "n-1"
			}
			if tt.tamper != nil {
				tt.tamper(claims)
			}
			raw := p.sign(claims)
			if tt.token != nil {
				raw = tt.token(claims)
			}
			c := p.client()
			got, err := c.VerifyIDToken(testCtx(t), raw, tt.nonce)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("VerifyIDToken: %v", err)
				}
				if got.Subject != "user@example.com" || got.Issuer != idcsIssuer {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Reason != tt.want {
				t.Fatalf("err = %v, want reason %q", err, tt.want)
			}
			if strings.Contains(err.Error(), raw) {
				t.Error("the error quotes the token")
			}
		})
	}
}

func TestVerifyChecksAtHash(t *testing.T) {
	p := newTestProvider(t)
	claims := p.claims("")
	claims["at_hash"] = atHash("the-real-access-token")
	raw := p.sign(claims)
	c := p.client()
	if _, err := c.verify(testCtx(t), raw, "", "the-real-access-token"); err != nil {
		t.Fatalf("matching at_hash: %v", err)
	}
	_, err := c.verify(testCtx(t), raw, "", "a-swapped-access-token")
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Reason != ReasonAtHash {
		t.Fatalf("err = %v, want an at_hash failure", err)
	}
}

func TestVerifyReportsUnreachableKeys(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		wantHint bool
	}{
		{"gateway error", http.StatusBadGateway, false},
		{"IDCS refusing anonymous access", http.StatusUnauthorized, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProvider(t)
			down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "<html>secret-looking page</html>", tt.status)
			}))
			defer down.Close()
			c := p.client()
			c.Metadata.JWKSURI = down.URL + "/jwks"
			_, err := c.VerifyIDToken(testCtx(t), p.sign(p.claims("")), "")
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Reason != ReasonJWKS {
				t.Fatalf("err = %v, want a JWKS failure", err)
			}
			if strings.Contains(err.Error(), "secret-looking") {
				t.Errorf("the error quotes the JWKS answer: %v", err)
			}
			if hint := strings.Contains(err.Error(), "Access signing certificate"); hint != tt.wantHint {
				t.Errorf("hint shown = %v, want %v: %v", hint, tt.wantHint, err)
			}
		})
	}
}
