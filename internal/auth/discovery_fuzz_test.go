package auth

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fuzzAnswer is the answer a fuzz server gives next: the fuzz function
// sets it, the handler reads it. Fuzz inputs run one at a time in a worker.
type fuzzAnswer struct {
	mu          sync.Mutex
	status      int
	contentType string
	header      string // Cache-Control
	body        string
}

func (a *fuzzAnswer) set(status int, contentType, header, body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// net/http refuses to write a status outside 100-999, and 1xx is an
	// interim answer: fold the fuzzed status into 200-599.
	if status < 200 || status > 599 {
		status = 200 + int(uint(status)%400)
	}
	a.status = status
	a.contentType, a.header, a.body = contentType, header, body
}

func (a *fuzzAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	status, ct, header, body := a.status, a.contentType, a.header, a.body
	a.mu.Unlock()
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	if header != "" {
		w.Header().Set("Cache-Control", header)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// discoverySeed is a document whose endpoints are under $BASE, which the
// fuzz function replaces with the server's URL so seeds can be valid.
const discoverySeed = `{"issuer":"https://identity.oraclecloud.com/",` +
	`"authorization_endpoint":"$BASE/oauth2/v1/authorize",` +
	`"token_endpoint":"$BASE/oauth2/v1/token",` +
	`"userinfo_endpoint":"$BASE/oauth2/v1/userinfo",` +
	`"jwks_uri":"$BASE/admin/v1/SigningCert/jwk",` +
	`"revocation_endpoint":"$BASE/oauth2/v1/revoke",` +
	`"end_session_endpoint":"$BASE/oauth2/v1/userlogout",` +
	`"device_authorization_endpoint":"$BASE/oauth2/v1/device",` +
	`"scopes_supported":["openid","urn:opc:idm:t.user.me"],` +
	`"code_challenge_methods_supported":["S256"]}`

// FuzzDiscover serves fuzzed discovery answers (status, media type,
// Cache-Control, body) to Discoverer.Discover. It must never panic; a
// document it accepts must name an issuer and the endpoints a sign-in needs,
// every one https:// or loopback http://, and must read back the same from
// the cache; a refusal must not carry control characters to the terminal.
func FuzzDiscover(f *testing.F) {
	f.Add(200, "application/json", "max-age=3600", discoverySeed)
	f.Add(200, "application/json; charset=utf-8", "no-store", discoverySeed)
	f.Add(200, "text/html", "", "<html><body>Sign in</body></html>")
	f.Add(200, "application/json", "", `{"issuer":"https://identity.oraclecloud.com/"}`)
	f.Add(200, "application/json", "", strings.ReplaceAll(discoverySeed, "$BASE", "http://idcs.example.com"))
	f.Add(200, "application/json", "", strings.ReplaceAll(discoverySeed, "$BASE", "https://user:pw@idcs.example.com"))
	f.Add(200, "application/json", "", strings.Replace(discoverySeed, "$BASE/oauth2/v1/token", "ftp://x\u009b31m", 1))
	f.Add(200, "application/json", "", discoverySeed[:len(discoverySeed)/2])
	f.Add(200, "application/json", "", `[]`)
	f.Add(200, "application/json", "", `{"issuer":1}`)
	f.Add(200, "application/problem+json", "max-age=\"5\"", `null`)
	f.Add(404, "text/plain", "", "not found")
	f.Add(503, "application/json", "", `{"error":"temporarily_unavailable"}`)
	f.Add(429, "", "", "")
	f.Add(200, "\x1b[2J", "", "\x1b[2J")

	ans := &fuzzAnswer{}
	srv := httptest.NewServer(ans)
	f.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Timeout = 10 * time.Second
	f.Fuzz(func(t *testing.T, status int, contentType, cacheControl, body string) {
		ans.set(status, contentType, cacheControl, strings.ReplaceAll(body, "$BASE", srv.URL))
		d := &Discoverer{HTTP: hc, Now: func() time.Time { return fuzzNow }}
		md, err := d.Discover(t.Context(), srv.URL)
		if err != nil {
			if hasControl(err.Error()) {
				t.Fatalf("the error holds control characters: %q", err.Error())
			}
			return
		}
		if err := md.validate(); err != nil {
			t.Fatalf("accepted a document that does not validate: %v", err)
		}
		for name, u := range map[string]string{"authorization": md.AuthorizationEndpoint, "token": md.TokenEndpoint, "jwks": md.JWKSURI} {
			if _, err := checkURL(u); err != nil {
				t.Fatalf("accepted a document whose %s endpoint is refused: %v", name, err)
			}
		}
		if cached, ok := d.Cached(srv.URL); ok && !reflect.DeepEqual(cached, md) {
			t.Fatalf("the cache gives another document:\n got %+v\nwant %+v", cached, md)
		}
	})
}

// TestProviderAnswersOverOneMiBAreRefused proves a provider cannot make
// idcsctl read without end: a discovery document or a token answer over
// 1 MiB is refused with a clear error, its text not quoted.
func TestProviderAnswersOverOneMiBAreRefused(t *testing.T) {
	huge := `{"issuer":"` + strings.Repeat("x", 2<<20) + `"}`
	ans := &fuzzAnswer{}
	ans.set(200, "application/json", "", huge)
	srv := httptest.NewServer(ans)
	defer srv.Close()

	_, err := (&Discoverer{HTTP: srv.Client()}).Discover(testCtx(t), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("discovery: err = %.200v, want it to say the answer is too large", err)
	}
	if err != nil && strings.Contains(err.Error(), "xxxxxxxx") {
		t.Error("discovery: the error quotes the answer")
	}

	c := &Client{
		Metadata: &Metadata{Issuer: idcsIssuer, AuthorizationEndpoint: srv.URL, TokenEndpoint: srv.URL, JWKSURI: srv.URL},
		ClientID: fuzzClientID,
		HTTP:     srv.Client(),
	}
	ans.set(200, "application/json", "", `{"access_token":"`+strings.Repeat("x", 2<<20)+`"}`)
	_, err = c.Refresh(testCtx(t), fuzzSentRT)
	if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("token: err = %.200v, want the cut answer refused as not valid JSON", err)
	}
	if err != nil && strings.Contains(err.Error(), "xxxxxxxx") {
		t.Error("token: the error quotes the answer")
	}
}
