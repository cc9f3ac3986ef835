package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestKnobsOverHTTP(t *testing.T) {
	v := newEnv(t, Options{})

	r := v.postJSON("/emulator/v1/knobs", `{"access_token_ttl_seconds":60,"rotate_refresh_tokens":true}`)
	if r.status != http.StatusOK {
		t.Fatalf("knobs: %d %s", r.status, r.body)
	}
	tok := v.login()
	if tok["expires_in"] != float64(60) {
		t.Errorf("expires_in %v after setting the TTL to 60", tok["expires_in"])
	}
	rt := str(tok, "refresh_token")
	if next := str(v.refreshWith(rt, nil).json(t), "refresh_token"); next == rt || next == "" {
		t.Errorf("rotation knob did not rotate")
	}

	tok = v.login()
	if r := v.postJSON("/emulator/v1/knobs", `{"revoke_all":true}`); r.status != http.StatusOK {
		t.Fatalf("revoke_all: %d %s", r.status, r.body)
	}
	wantOAuthError(t, v.refreshWith(str(tok, "refresh_token"), nil), http.StatusBadRequest, "invalid_grant")

	r = v.postJSON("/emulator/v1/knobs", `{"fail":{"path":"/oauth2/v1/userinfo","status":503,"body":"{\"error\":\"temporarily_unavailable\"}","times":2}}`)
	if r.status != http.StatusOK {
		t.Fatalf("fail knob: %d %s", r.status, r.body)
	}
	for i, want := range []int{503, 503, 401} {
		if got := v.getBearer("/oauth2/v1/userinfo", "x").status; got != want {
			t.Errorf("userinfo call %d: status %d, want %d", i+1, got, want)
		}
	}

	const port = "http://127.0.0.1:9999/callback"
	if r := v.postJSON("/emulator/v1/knobs", `{"add_redirect_uri":{"client_id":"`+DemoPublicClientID+`","uri":"`+port+`"}}`); r.status != http.StatusOK {
		t.Fatalf("add_redirect_uri: %d %s", r.status, r.body)
	}
	_, challenge := pkcePair()
	q := authParams(challenge)
	q.Set("redirect_uri", port)
	if r := v.get("/oauth2/v1/authorize", q); r.status != http.StatusOK {
		t.Errorf("authorize with the added redirect URI: %d", r.status)
	}

	counts := v.get("/emulator/v1/counts", nil).json(t)
	if counts["/oauth2/v1/userinfo"] != float64(3) || counts["token:refresh_token"] != float64(2) || counts["token:authorization_code"] != float64(2) {
		t.Errorf("counts %v", counts)
	}
	if _, ok := counts["/emulator/v1/knobs"]; ok {
		t.Errorf("emulator paths are counted: %v", counts)
	}

	bad := []struct{ name, body string }{
		{"misspelt knob", `{"rotate_refresh_token":true}`},
		{"negative ttl", `{"access_token_ttl_seconds":-1}`},
		{"fail on an emulator path", `{"fail":{"path":"/emulator/v1/knobs"}}`},
		{"not JSON", `rotate`},
		{"unknown client", `{"add_redirect_uri":{"client_id":"nobody","uri":"http://127.0.0.1:1/"}}`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if r := v.postJSON("/emulator/v1/knobs", tc.body); r.status < 400 || str(r.json(t), "error") == "" {
				t.Errorf("status %d: %s", r.status, r.body)
			}
		})
	}
}

func TestInjectedFailures(t *testing.T) {
	cases := []struct {
		name     string
		f        Failure
		wantCT   string
		wantBody string
		wantCode int
	}{
		{"status and JSON body", Failure{Status: 502, Body: `{"error":"server_error"}`}, "application/json", `{"error":"server_error"}`, 502},
		{"defaults", Failure{Body: "boom"}, "text/plain; charset=utf-8", "boom", 500},
		{"content type", Failure{Status: 200, Body: "<html>", ContentType: "text/html"}, "text/html", "<html>", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			v.e.InjectFailure("/.well-known/openid-configuration", tc.f)
			r := v.get("/.well-known/openid-configuration", nil)
			if r.status != tc.wantCode || r.body != tc.wantBody || r.header.Get("Content-Type") != tc.wantCT {
				t.Errorf("got %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
			}
			if r := v.get("/.well-known/openid-configuration", nil); r.status != http.StatusOK {
				t.Errorf("second request still fails: %d", r.status)
			}
		})
	}
}

func TestInjectedHangAndDelayHonourCancellation(t *testing.T) {
	for _, f := range []Failure{{Hang: true}, {Delay: time.Hour, Status: 500}} {
		name := "hang"
		if !f.Hang {
			name = "delay"
		}
		t.Run(name, func(t *testing.T) {
			v := newEnv(t, Options{})
			v.e.InjectFailure("/oauth2/v1/token", f)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.srv.URL+"/oauth2/v1/token", strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.client.Do(req)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("request error %v, want the deadline", err)
			}
			// The handler returned when the request was cancelled: the
			// server closes without waiting (httptest.Server.Close waits
			// for running handlers), and the next request is served.
			if r := v.postForm("/oauth2/v1/token", url.Values{}, "", ""); r.status != http.StatusBadRequest {
				t.Errorf("next request: %d", r.status)
			}
		})
	}
}

func TestStartServesOnLoopbackAndCloseEndsHangingRequests(t *testing.T) {
	s, err := Start(Options{Signer: testSigner(t)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q", s.URL)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(s.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"token_endpoint":"`+s.URL+`/oauth2/v1/token"`) {
		t.Errorf("discovery through Start: %s", body)
	}

	s.InjectFailure("/oauth2/v1/userinfo", Failure{Hang: true})
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get(s.URL + "/oauth2/v1/userinfo")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Wait until the hanging request has arrived before closing.
	for deadline := time.Now().Add(5 * time.Second); s.Counts()["/oauth2/v1/userinfo"] == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the emulator")
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the hanging request got an answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close left the hanging request open")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartRefusesNonLoopbackAddresses(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "example.com:80", "nonsense"} {
		if s, err := Start(Options{Signer: testSigner(t)}, addr); err == nil {
			s.Close()
			t.Errorf("Start(%q) succeeded", addr)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	key := testSigner(t)
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"non-RSA signer", Options{Signer: ec}, "RSA"},
		{"small RSA key", Options{Signer: small}, "2048"},
		{"relative issuer", Options{Signer: key, Issuer: "identity"}, "absolute"},
		{"negative TTL", Options{Signer: key, CodeTTL: -time.Second}, "CodeTTL"},
		{"duplicate client", Options{Signer: key, Clients: []Client{DemoPublicClient, DemoPublicClient}}, "twice"},
		{"public client with client_credentials", Options{Signer: key, Clients: []Client{{ID: "p", GrantTypes: []string{GrantClientCredentials}}}}, "public"},
		{"unsupported grant", Options{Signer: key, Clients: []Client{{ID: "p", GrantTypes: []string{"password"}}}}, "password"},
		{"redirect uri with a fragment", Options{Signer: key, Clients: []Client{{ID: "p", RedirectURIs: []string{"http://127.0.0.1/cb#x"}}}}, "fragment"},
		{"duplicate user", Options{Signer: key, Users: []User{DemoUser, DemoUser}}, "twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestAddRedirectURIForAnUnknownClient(t *testing.T) {
	e, err := New(Options{Signer: testSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddRedirectURI("nobody", "http://127.0.0.1/cb"); !errors.Is(err, ErrUnknownClient) {
		t.Errorf("error %v, want ErrUnknownClient", err)
	}
}

func TestNewCopiesTheDemoData(t *testing.T) {
	e, err := New(Options{Signer: testSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddRedirectURI(DemoPublicClientID, "http://127.0.0.1:1/cb"); err != nil {
		t.Fatal(err)
	}
	if len(DemoPublicClient.RedirectURIs) != 0 {
		t.Errorf("AddRedirectURI changed the package's DemoPublicClient: %v", DemoPublicClient.RedirectURIs)
	}
}

func TestClientSecretKnobChangesAConfidentialClientsSecret(t *testing.T) {
	v := newEnv(t, Options{})
	// A secret with the characters HTTP Basic's form-encoding changes.
	const secret = "s+cr/t%41:x"
	grant := url.Values{"grant_type": {GrantClientCredentials}, "scope": {ScopeMyScopes}}
	for _, tc := range []struct {
		body string
		want int
	}{
		{`{"client_secret":{"client_id":"nobody","secret":"x"}}`, http.StatusNotFound},
		{`{"client_secret":{"client_id":"` + DemoPublicClientID + `","secret":"x"}}`, http.StatusBadRequest},
		{`{"client_secret":{"client_id":"` + DemoConfidentialClientID + `","secret":""}}`, http.StatusBadRequest},
	} {
		if r := v.postJSON("/emulator/v1/knobs", tc.body); r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.body, r.status, r.body, tc.want)
		}
	}
	if r := v.postJSON("/emulator/v1/knobs", `{"client_secret":{"client_id":"`+DemoConfidentialClientID+`","secret":"`+secret+`"}}`); r.status != http.StatusOK {
		t.Fatalf("client_secret: %d %s", r.status, r.body)
	}
	wantOAuthError(t, v.postForm("/oauth2/v1/token", grant, DemoConfidentialClientID, DemoConfidentialClientSecret), http.StatusUnauthorized, "invalid_client")
	if r := v.postForm("/oauth2/v1/token", grant, DemoConfidentialClientID, secret); r.status != http.StatusOK {
		t.Fatalf("the new secret, form-encoded in Basic: %d %s", r.status, r.body)
	}
}
