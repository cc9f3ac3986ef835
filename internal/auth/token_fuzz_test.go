package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Secret-looking values of the token fuzz target. A fuzzed body names them
// with placeholders ($AT, $RT, $IDT); the request carries the others.
const (
	fuzzAccess   = "at-FUZZ-5ecret-8d1f0b7c2e9a4f63"
	fuzzRefresh  = "rt-FUZZ-5ecret-4a7e1c9d0b3f8e26"
	fuzzSentRT   = "rt-SENT-5ecret-9c2b7e4d1a6f0e83"
	fuzzCode     = "code-SENT-5ecret-1e8f3a6c9b2d7e40"
	fuzzVerifier = "verifier-SENT-5ecret-7b0e2d9c4f1a6e38-0123456789abcdef"
)

// tokenSeeds are token endpoint answers: status, media type, body.
var tokenSeeds = []struct {
	status      int
	contentType string
	body        string
}{
	{200, "application/json", `{"access_token":"$AT","token_type":"Bearer","expires_in":3600,"refresh_token":"$RT","id_token":"$IDT","scope":"openid"}`},
	{200, "application/json", `{"access_token":"$AT","token_type":"Bearer","expires_in":"3600"}`},
	{200, "application/json", `{"access_token":"$AT","token_type":"Bearer","expires_in":-5,"id_token":"not.a.jwt"}`},
	{200, "application/json", `{"access_token":"$AT","token_type":"Bearer","expires_in":1e400}`},
	{200, "application/json", `{"access_token":"$AT","token_type":"Bearer","expires_in":9223372036854775807}`},
	// Regressions: 292 years overflowed into an expiry in the past, and a
	// form-encoded expires_in was ignored, before extraSeconds was fixed.
	{200, "application/json", `{"access_token":"$AT","token_type":"Bearer","expires_in":9223372037}`},
	{200, "application/json", `{"access_token":"$AT","token_type":"Bearer","expires_in":"9223372037"}`},
	{200, "application/json", `{"access_token":"$AT","id_token":"$IDT","refresh_token":{"nested":"$RT"}}`},
	{200, "application/json", `{"token_type":"Bearer","refresh_token":"$RT"}`},
	{200, "application/json", `{"access_token":"$AT","refresh_token":"$RT`},
	{200, "text/html", `<html>$AT $RT</html>`},
	{200, "application/x-www-form-urlencoded", `access_token=$AT&refresh_token=$RT&expires_in=60`},
	{200, "text/plain", `access_token=$AT&id_token=$IDT`},
	{400, "application/json", `{"error":"invalid_grant","error_description":"The refresh token is invalid or expired"}`},
	{400, "application/json", `{"error":"invalid_grant","error_description":"bad \u001b[31m$RT"}`},
	{401, "application/x-www-form-urlencoded", `error=invalid_client&error_description=no+$AT`},
	{500, "application/json", `{"message":"$AT"}`},
	{502, "text/html", `<html>Bad gateway $RT</html>`},
	{200, "application/json", `null`},
	{200, "application/json", `[]`},
	{200, "", ``},
}

// FuzzTokenResponse serves fuzzed token endpoint answers to Client.Refresh
// and to the code exchange of a sign-in. Neither may panic; a failure must
// never show a secret the answer or the request carried, unless the
// provider itself put it in its error fields (which are shown by design),
// and must not carry control characters; a success must hold an access
// token, and an ID token only once verified (always one for a sign-in).
func FuzzTokenResponse(f *testing.F) {
	for _, s := range tokenSeeds {
		f.Add(false, s.status, s.contentType, s.body)
		f.Add(true, s.status, s.contentType, s.body)
	}

	ans := &fuzzAnswer{}
	mux := http.NewServeMux()
	mux.Handle("POST /token", ans)
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{fuzzPublicJWK()}})
	})
	srv := httptest.NewServer(mux)
	f.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Timeout = 10 * time.Second
	c := &Client{
		Metadata: &Metadata{
			Issuer:                idcsIssuer,
			AuthorizationEndpoint: srv.URL + "/authorize",
			TokenEndpoint:         srv.URL + "/token",
			JWKSURI:               srv.URL + "/jwks",
		},
		ClientID: fuzzClientID,
		HTTP:     hc,
		Now:      func() time.Time { return fuzzNow },
	}
	idt := fuzzSign(f, fuzzClaims())
	secrets := []string{fuzzAccess, fuzzRefresh, idt, fuzzSentRT, fuzzCode, fuzzVerifier}

	f.Fuzz(func(t *testing.T, exchange bool, status int, contentType, body string) {
		body = strings.NewReplacer("$AT", fuzzAccess, "$RT", fuzzRefresh, "$IDT", idt).Replace(body)
		ans.set(status, contentType, "no-store", body)
		var (
			res *Result
			err error
		)
		if exchange {
			fl := flow{verifier: fuzzVerifier, state: "s", nonce: fuzzNonce}
			res, err = c.exchange(t.Context(), c.oauth2Config("http://127.0.0.1:8000/callback"), fuzzCode, fl)
		} else {
			res, err = c.Refresh(t.Context(), fuzzSentRT)
		}
		if err != nil {
			msg := err.Error()
			shown := providerText(body)
			for _, s := range secrets {
				if strings.Contains(msg, s) && !strings.Contains(shown, s) {
					t.Fatalf("the error shows a secret (%.12s...): %s", s, msg)
				}
			}
			if hasControl(msg) {
				t.Fatalf("the error holds control characters: %q", msg)
			}
			return
		}
		switch {
		case res.AccessToken == "":
			t.Fatal("a success without an access token")
		case res.IDToken != "" && (res.Claims == nil || res.Claims.Issuer != idcsIssuer):
			t.Fatalf("an ID token came back without verified claims: %+v", res.Claims)
		case exchange && res.IDToken == "":
			t.Fatal("a sign-in succeeded without an ID token")
		case exchange && res.Claims.Nonce != fuzzNonce:
			t.Fatalf("a sign-in accepted nonce %q", res.Claims.Nonce)
		case expiresIn(body) > 0 && !res.Expiry.After(fuzzNow):
			t.Fatalf("expires_in %d gave an expiry of %s, not after now (%s)", expiresIn(body), res.Expiry, fuzzNow)
		}
	})
}

// expiresIn is the answer's expires_in when it is a whole number of
// seconds, as a JSON number, a JSON string or a form value; else 0.
func expiresIn(body string) int64 {
	// A map, not a struct: idcsctl reads the exact key, while a struct
	// field would also match "EXPIRES_IN".
	var j map[string]json.RawMessage
	raw := ""
	if json.Unmarshal([]byte(body), &j) == nil {
		raw = strings.Trim(string(j["expires_in"]), `"`)
	} else if q, err := url.ParseQuery(body); err == nil {
		raw = q.Get("expires_in")
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// providerText is what a provider may show through its error fields, in
// either encoding x/oauth2 reads, as Printable() would keep it.
func providerText(body string) string {
	var parts []string
	// A struct, as x/oauth2 reads it: its keys match whatever their case,
	// and a field of the wrong type leaves the others read.
	var j struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	_ = json.Unmarshal([]byte(body), &j)
	for _, s := range []string{j.Error, j.Description, j.URI} {
		parts = append(parts, Printable(s, len(s)))
	}
	if q, err := url.ParseQuery(body); err == nil {
		for _, k := range []string{"error", "error_description", "error_uri"} {
			parts = append(parts, Printable(q.Get(k), len(q.Get(k))))
		}
	}
	return strings.Join(parts, "\n")
}

// TestTokenEndpointThatNeverAnswersIsBoundedByTheContext proves a token
// endpoint that accepts the request and never answers cannot hold a refresh
// or a sign-in's code exchange past its context: the command's deadline
// (login's --timeout, Ctrl-C) ends the wait, and the error says so.
func TestTokenEndpointThatNeverAnswersIsBoundedByTheContext(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	defer srv.Close()
	defer close(hang)
	c := &Client{
		Metadata: &Metadata{Issuer: idcsIssuer, AuthorizationEndpoint: srv.URL + "/authorize", TokenEndpoint: srv.URL + "/token", JWKSURI: srv.URL + "/jwks"},
		ClientID: fuzzClientID,
		HTTP:     srv.Client(),
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want error
	}{
		{"refresh", func(ctx context.Context) error {
			_, err := c.Refresh(ctx, fuzzSentRT)
			return err
		}, context.DeadlineExceeded},
		{"code exchange", func(ctx context.Context) error {
			_, err := c.exchange(ctx, c.oauth2Config("http://127.0.0.1:8000/callback"), fuzzCode, flow{verifier: fuzzVerifier, nonce: fuzzNonce})
			if !errors.Is(err, ErrNoTokenAnswer) {
				return fmt.Errorf("err = %v, want it to say the token endpoint did not answer", err)
			}
			if errors.Is(err, ErrTimeout) {
				return fmt.Errorf("err = %v: the provider not answering is no sign-in timeout", err)
			}
			return err
		}, ErrNoTokenAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- tt.call(ctx) }()
			select {
			case err := <-done:
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				for _, s := range []string{fuzzSentRT, fuzzCode, fuzzVerifier} {
					if strings.Contains(err.Error(), s) {
						t.Errorf("the error shows a secret: %v", err)
					}
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the call outlived its context by 10s")
			}
		})
	}
}
