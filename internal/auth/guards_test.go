package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The tests in this file pin promises of docs/security.md and docs/login.md
// that a small change to the code could break without any other test
// noticing (bench/mutants.sh names them).

// A 5xx is the domain failing, not refusing: even with an OAuth error
// document it opens the browser after a warning, as a 429 does. Only a 4xx
// error document is a refusal that ends the sign-in.
func TestPrecheckServerErrorsAreNeverRefusals(t *testing.T) {
	authURL, _ := url.Parse("https://idcs-1.identity.oraclecloud.com/oauth2/v1/authorize?client_id=app")
	for _, tc := range []struct {
		status      int
		media, body string
	}{
		{500, "application/json", `{"error":"server_error","error_description":"internal error"}`},
		{503, "application/json", `{"error":"temporarily_unavailable"}`},
		{502, "application/json", `{"error":"invalid_client"}`},
		{500, "text/html", "<title>Invalid redirect URI</title><p>The client is unknown.</p>"},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, strings.ReplaceAll(tc.media, "/", " ")), func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {tc.media}}}
			v := judgeAuthorizeAnswer(resp, []byte(tc.body), authURL, "http://127.0.0.1:8000/callback", "app")
			if v.refused != nil {
				t.Errorf("refused (%v): a failing domain ends the sign-in", v.refused)
			}
			if !strings.Contains(v.warning, fmt.Sprint(tc.status)) {
				t.Errorf("warning %q does not name the status", v.warning)
			}
		})
	}
}

// The same seen from a sign-in: the pre-check's 503 with an OAuth error
// document does not end the sign-in before the browser opens.
func TestPrecheckServiceUnavailableOpensTheBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"temporarily_unavailable","error_description":"try later"}`))
	}))
	defer srv.Close()
	c := &Client{ClientID: "app", HTTP: srv.Client()}
	var stderr strings.Builder
	if err := c.checkAuthorizeRequest(context.Background(), &stderr, srv.URL+"/oauth2/v1/authorize?client_id=app", "http://127.0.0.1:8000/callback"); err != nil {
		t.Fatalf("the pre-check ended the sign-in: %v", err)
	}
	if !strings.Contains(stderr.String(), "HTTP 503") || !strings.Contains(stderr.String(), "opening the browser anyway") {
		t.Errorf("stderr %q, want one warning naming HTTP 503", stderr.String())
	}
}

// A domain that quotes the client secret back decoded (as it read it, not
// as it travelled form-encoded in the Basic header) gets it redacted too.
func TestTokenEndpointQuotingTheDecodedSecretIsRedacted(t *testing.T) {
	const secret = "pa+ss/wo%rd=="
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, _ := r.BasicAuth()
		decoded, err := url.QueryUnescape(pass)
		if err != nil {
			decoded = "undecodable"
		}
		desc, _ := json.Marshal("client secret " + decoded + " is not valid for this client")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":` + string(desc) + `}`))
	}))
	defer srv.Close()
	c := &Client{Metadata: &Metadata{TokenEndpoint: srv.URL}, ClientID: "cid", ClientSecret: secret, HTTP: srv.Client()}
	_, err := c.Refresh(context.Background(), "the-refresh-token")
	if err == nil {
		t.Fatal("refresh succeeded")
	}
	if strings.Contains(err.Error(), "pa+ss") || strings.Contains(err.Error(), "undecodable") {
		t.Errorf("error quotes the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "client secret "+redactedText+" is not valid") {
		t.Errorf("error does not show where the secret was: %v", err)
	}
}

// redact covers a secret in each form a provider may quote it: plain,
// form-encoded, and inside text; values shorter than minSecretLen are left.
func TestRedactForms(t *testing.T) {
	const secret = "s3cr+t/v@lue"
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "got " + secret + ".", "got " + redactedText + "."},
		{"form-encoded", "got client_secret=" + url.QueryEscape(secret), "got client_secret=" + redactedText},
		{"twice", secret + " " + secret, redactedText + " " + redactedText},
		{"not there", "nothing secret", "nothing secret"},
	} {
		if got := Redact(tc.in, secret); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := Redact("code ab12 and abcde", "ab12", "abcde"); got != "code ab12 and abcde" {
		t.Errorf("values shorter than %d are redacted: %q", minSecretLen, got)
	}
	if got := Redact("code abcdef1", "abcdef"); got != "code "+redactedText+"1" {
		t.Errorf("a %d-character secret is left: %q", minSecretLen, got)
	}
}

// An access token that is a JWT, with no expires_in in the answer, expires
// at its exp, capped like expires_in; an exp that is no time at all is
// read as a missing one.
func TestExpiryOfAJWTAccessTokenIsCapped(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &Client{Now: func() time.Time { return now }}
	jwt := func(exp any) string {
		payload, _ := json.Marshal(map[string]any{"exp": exp})
		return "e30." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
	}
	limit := now.Add(maxExpiresIn * time.Second)
	for name, tc := range map[string]struct {
		access string
		want   time.Time
	}{
		"exp in the year 3000: capped":   {jwt(int64(32503680000)), limit},
		"exp 1e15: capped":               {jwt(1e15), limit},
		"exp beyond int64: as missing":   {jwt(1e300), now.Add(defaultAccessTokenLifetime)},
		"exp zero: as missing":           {jwt(0), now.Add(defaultAccessTokenLifetime)},
		"exp negative: as missing":       {jwt(-5), now.Add(defaultAccessTokenLifetime)},
		"exp a word: as missing":         {jwt("soon"), now.Add(defaultAccessTokenLifetime)},
		"exp within the cap: kept":       {jwt(now.Add(90 * time.Minute).Unix()), now.Add(90 * time.Minute)},
		"exp just under the cap: kept":   {jwt(limit.Add(-time.Second).Unix()), limit.Add(-time.Second)},
		"two parts only: not a JWT (1h)": {"e30.e30", now.Add(defaultAccessTokenLifetime)},
	} {
		got := c.expiry((&oauth2.Token{AccessToken: tc.access}).WithExtra(map[string]any{}))
		if !got.Equal(tc.want) {
			t.Errorf("%s: expiry %s, want %s", name, got, tc.want)
		}
	}
}

// RFC 6749 2.3.1: every request that authenticates the client with HTTP
// Basic form-encodes the id and secret first, so a secret with '+', '/',
// '%' or ':' reaches the domain as it is: the token endpoint (through
// x/oauth2), revocation and device authorization alike.
func TestEveryBasicCredentialIsFormEncoded(t *testing.T) {
	const id, secret = "app:1", "a+b/c%d=="
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok {
			got = append(got, r.URL.Path+" "+u+":"+p)
		} else {
			got = append(got, r.URL.Path+" without Basic")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
	}))
	defer srv.Close()
	c := &Client{Metadata: &Metadata{TokenEndpoint: srv.URL + "/token", RevocationEndpoint: srv.URL + "/revoke"},
		ClientID: id, ClientSecret: secret, HTTP: srv.Client()}
	ctx := context.Background()
	_, _ = c.Refresh(ctx, "the-refresh-token")
	_ = c.Revoke(ctx, "the-refresh-token", "refresh_token")
	_, _ = c.deviceAuthorize(ctx, srv.URL+"/device", false)
	want := []string{
		"/token " + url.QueryEscape(id) + ":" + url.QueryEscape(secret),
		"/revoke " + url.QueryEscape(id) + ":" + url.QueryEscape(secret),
		"/device " + url.QueryEscape(id) + ":" + url.QueryEscape(secret),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the domain got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
