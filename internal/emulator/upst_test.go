package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// confidentialLogin signs the demo user in with the confidential client and
// returns its access token.
func (v *env) confidentialLogin() string {
	v.t.Helper()
	verifier, challenge := pkcePair()
	params := authParams(challenge)
	params.Set("client_id", DemoConfidentialClientID)
	code := v.code(params)
	r := v.postForm("/oauth2/v1/token", url.Values{
		"grant_type": {GrantAuthorizationCode}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {verifier},
	}, DemoConfidentialClientID, DemoConfidentialClientSecret)
	if r.status != http.StatusOK {
		v.t.Fatalf("token: status %d: %s", r.status, r.body)
	}
	return str(r.json(v.t), "access_token")
}

var sessionKeyOnce = func() func(t *testing.T) *rsa.PrivateKey {
	var k *rsa.PrivateKey
	return func(t *testing.T) *rsa.PrivateKey {
		if k == nil {
			var err error
			if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				t.Fatal(err)
			}
		}
		return k
	}
}()

func publicKeyParam(t *testing.T, k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func exchangeForm(subject, pub string) url.Values {
	return url.Values{
		"grant_type":           {GrantTokenExchange},
		"requested_token_type": {TokenTypeUPST},
		"subject_token":        {subject},
		"subject_token_type":   {SubjectTypeJWT},
		"public_key":           {pub},
	}
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenExchangeIssuesUPSTWithClaims(t *testing.T) {
	v := newEnv(t, Options{})
	at := v.confidentialLogin()
	key := sessionKeyOnce(t)
	r := v.postForm("/oauth2/v1/token", exchangeForm(at, publicKeyParam(t, key)), DemoConfidentialClientID, DemoConfidentialClientSecret)
	if r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	upst := str(r.json(t), "token")
	if _, err := v.e.keys.verify(upst); err != nil {
		t.Fatalf("the UPST is not signed by the domain: %v", err)
	}
	c := claimsOf(t, upst)
	for k, want := range map[string]string{"iss": UPSTIssuer, "tenant": tenancyOCID, "ptype": "user", "ttype": "upst", "aud": "oci"} {
		if str(c, k) != want {
			t.Errorf("claim %s = %q, want %q", k, str(c, k), want)
		}
	}
	if !strings.HasPrefix(str(c, "sub"), "ocid1.user.") {
		t.Errorf("sub %q is not a user OCID", str(c, "sub"))
	}
	exp := time.Unix(int64(c["exp"].(float64)), 0)
	if d := exp.Sub(v.clock.Now()); d <= 0 || d > time.Hour {
		t.Errorf("the UPST lives %s, want at most an hour", d)
	}
	var jwk map[string]string
	if err := json.Unmarshal([]byte(str(c, "jwk")), &jwk); err != nil {
		t.Fatalf("jwk claim: %v", err)
	}
	if jwk["n"] != b64(key.N.Bytes()) {
		t.Error("the jwk claim is not the session's public key")
	}
}

func TestTokenExchangeRefusesBadRequests(t *testing.T) {
	v := newEnv(t, Options{})
	at := v.confidentialLogin()
	pub := publicKeyParam(t, sessionKeyOnce(t))
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	pemArmoured := "-----BEGIN PUBLIC KEY-----\n" + pub + "\n-----END PUBLIC KEY-----"
	cases := []struct {
		name       string
		edit       func(f url.Values)
		user, pass string
		status     int
		code       string
	}{
		{name: "public client", edit: func(f url.Values) { f.Set("client_id", DemoPublicClientID) }, status: 400, code: "unauthorized_client"},
		{name: "wrong secret", user: DemoConfidentialClientID, pass: "nope", status: 401, code: "invalid_client"},
		{name: "missing public key", edit: func(f url.Values) { f.Del("public_key") }, status: 400, code: "invalid_request"},
		{name: "PEM armoured public key", edit: func(f url.Values) { f.Set("public_key", pemArmoured) }, status: 400, code: "invalid_request"},
		{name: "not a key", edit: func(f url.Values) { f.Set("public_key", base64.StdEncoding.EncodeToString([]byte("hello"))) }, status: 400, code: "invalid_request"},
		{name: "small key", edit: func(f url.Values) { f.Set("public_key", base64.StdEncoding.EncodeToString(der)) }, status: 400, code: "invalid_request"},
		{name: "wrong subject token type", edit: func(f url.Values) { f.Set("subject_token_type", "urn:ietf:params:oauth:token-type:access_token") }, status: 400, code: "invalid_request"},
		{name: "wrong requested type", edit: func(f url.Values) { f.Set("requested_token_type", "urn:ietf:params:oauth:token-type:access_token") }, status: 400, code: "invalid_request"},
		{name: "missing subject", edit: func(f url.Values) { f.Del("subject_token") }, status: 400, code: "invalid_request"},
		{name: "foreign subject token", edit: func(f url.Values) { f.Set("subject_token", forgedJWT(t)) }, status: 400, code: "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := exchangeForm(at, pub)
			user, pass := DemoConfidentialClientID, DemoConfidentialClientSecret
			if tc.user != "" {
				user, pass = tc.user, tc.pass
			}
			if tc.edit != nil {
				tc.edit(f)
			}
			if f.Get("client_id") != "" {
				user = ""
			}
			wantOAuthError(t, v.postForm("/oauth2/v1/token", f, user, pass), tc.status, tc.code)
		})
	}

	t.Run("no trust", func(t *testing.T) {
		v.e.SetTrusts()
		defer v.e.SetTrusts(DemoTrust)
		wantOAuthError(t, v.postForm("/oauth2/v1/token", exchangeForm(at, pub), DemoConfidentialClientID, DemoConfidentialClientSecret), 400, "invalid_grant")
	})
	t.Run("trust of another client", func(t *testing.T) {
		v.e.SetTrusts(Trust{Name: "other", ClientIDs: []string{"someone-else"}, SubjectType: "user"})
		defer v.e.SetTrusts(DemoTrust)
		wantOAuthError(t, v.postForm("/oauth2/v1/token", exchangeForm(at, pub), DemoConfidentialClientID, DemoConfidentialClientSecret), 400, "invalid_grant")
	})
	t.Run("inactive trust", func(t *testing.T) {
		tr := DemoTrust
		tr.Inactive = true
		v.e.SetTrusts(tr)
		defer v.e.SetTrusts(DemoTrust)
		wantOAuthError(t, v.postForm("/oauth2/v1/token", exchangeForm(at, pub), DemoConfidentialClientID, DemoConfidentialClientSecret), 400, "invalid_grant")
	})
	t.Run("expired subject token", func(t *testing.T) {
		v.clock.Advance(2 * time.Hour)
		defer v.clock.Advance(-2 * time.Hour)
		wantOAuthError(t, v.postForm("/oauth2/v1/token", exchangeForm(at, pub), DemoConfidentialClientID, DemoConfidentialClientSecret), 400, "invalid_grant")
	})
}

// forgedJWT is a token of the right shape signed by someone else's key.
func forgedJWT(t *testing.T) string {
	other, err := newSigningKey(sessionKeyOnce(t), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := other.sign(map[string]any{"iss": DefaultIssuer, "sub": DemoUserName, "client_id": DemoConfidentialClientID, "sub_type": "user", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signOCI signs req as OCI's request signature scheme asks, by hand, with
// the date in the date header as Oracle's Go SDK does: the SDKs' own
// signers prove the same in cmd/idcsctl.
func signOCI(t *testing.T, req *http.Request, body []byte, upst string, key *rsa.PrivateKey, date time.Time) {
	t.Helper()
	signOCIDated(t, req, body, upst, key, datedHeader{"date", date})
}

// datedHeader is a header signOCIDated sets to a time and signs.
type datedHeader struct {
	name string
	at   time.Time
}

// signOCIDated signs req with the given date headers set and signed, and
// no other: none, date, x-date (Oracle's JavaScript SDK) or both.
func signOCIDated(t *testing.T, req *http.Request, body []byte, upst string, key *rsa.PrivateKey, dates ...datedHeader) {
	t.Helper()
	var headers []string
	for _, d := range dates {
		req.Header.Set(d.name, d.at.UTC().Format(http.TimeFormat))
		headers = append(headers, d.name)
	}
	headers = append(headers, "(request-target)", "host")
	if body != nil {
		sum := sha256.Sum256(body)
		req.Header.Set("x-content-sha256", base64.StdEncoding.EncodeToString(sum[:]))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("content-length", strconv.Itoa(len(body)))
		headers = append(headers, "content-length", "content-type", "x-content-sha256")
	}
	var lines []string
	for _, h := range headers {
		switch h {
		case "(request-target)":
			lines = append(lines, h+": "+strings.ToLower(req.Method)+" "+req.URL.RequestURI())
		case "host":
			lines = append(lines, h+": "+req.URL.Host)
		default:
			lines = append(lines, h+": "+req.Header.Get(h))
		}
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", `Signature version="1",headers="`+strings.Join(headers, " ")+`",keyId="ST$`+upst+`",algorithm="rsa-sha256",signature="`+base64.StdEncoding.EncodeToString(sig)+`"`)
}

func TestOCIAPIVerifiesSignatures(t *testing.T) {
	v := newEnv(t, Options{})
	key := sessionKeyOnce(t)
	r := v.postForm("/oauth2/v1/token", exchangeForm(v.confidentialLogin(), publicKeyParam(t, key)), DemoConfidentialClientID, DemoConfidentialClientSecret)
	upst := str(r.json(t), "token")
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tenancy := v.srv.URL + OCIAPIPrefix + "tenancies/" + tenancyOCID
	cases := []struct {
		name   string
		method string
		body   []byte
		key    *rsa.PrivateKey
		date   time.Time
		tamper func(req *http.Request)
		status int
	}{
		{name: "signed GET", method: "GET", key: key, status: 200},
		{name: "signed POST", method: "POST", body: []byte(`{"name":"x"}`), key: key, status: 200},
		{name: "other key", method: "GET", key: other, status: 401},
		{name: "stale date", method: "GET", key: key, date: v.clock.Now().Add(-10 * time.Minute), status: 401},
		{name: "unsigned", method: "GET", tamper: func(req *http.Request) { req.Header.Del("Authorization") }, key: key, status: 401},
		{name: "body changed", method: "POST", body: []byte(`{"name":"x"}`), key: key, tamper: func(req *http.Request) { req.Header.Set("x-content-sha256", "AAAA") }, status: 401},
		{name: "path changed", method: "GET", key: key, tamper: func(req *http.Request) { req.URL.Path += "x" }, status: 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := tenancy
			if tc.method == "POST" {
				u = v.srv.URL + OCIAPIPrefix + "compartments"
			}
			req, err := http.NewRequest(tc.method, u, strings.NewReader(string(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			date := tc.date
			if date.IsZero() {
				date = v.clock.Now()
			}
			signOCI(t, req, tc.body, upst, tc.key, date)
			if tc.tamper != nil {
				tc.tamper(req)
			}
			if got := v.do(req); got.status != tc.status {
				t.Fatalf("status %d, want %d: %s", got.status, tc.status, got.body)
			}
		})
	}
	t.Run("expired session", func(t *testing.T) {
		v.e.AdvanceClock(61 * time.Minute)
		defer v.e.AdvanceClock(-61 * time.Minute)
		req, _ := http.NewRequest("GET", tenancy, nil)
		signOCI(t, req, nil, upst, key, v.e.now())
		if got := v.do(req); got.status != 401 || !strings.Contains(got.body, "expired") {
			t.Fatalf("an expired UPST got %d: %s", got.status, got.body)
		}
	})
}

// TestOCIAPIDateRules: as OCI documents, the signature must cover date or
// x-date, and x-date wins when it covers both (Oracle's JavaScript SDK
// signs x-date alone). Only a signed header dates a request: an unsigned
// fresh header added to an old signed request does not make it new.
func TestOCIAPIDateRules(t *testing.T) {
	v := newEnv(t, Options{})
	key := sessionKeyOnce(t)
	r := v.postForm("/oauth2/v1/token", exchangeForm(v.confidentialLogin(), publicKeyParam(t, key)), DemoConfidentialClientID, DemoConfidentialClientSecret)
	upst := str(r.json(t), "token")
	now := v.clock.Now()
	stale := now.Add(-10 * time.Minute)
	cases := []struct {
		name    string
		post    bool
		signed  []datedHeader
		tamper  func(req *http.Request)
		status  int
		message string
	}{
		{name: "date alone (the Go SDK)", signed: []datedHeader{{"date", now}}, status: 200},
		{name: "x-date alone (the JavaScript SDK)", signed: []datedHeader{{"x-date", now}}, status: 200},
		{name: "x-date alone on a POST", post: true, signed: []datedHeader{{"x-date", now}}, status: 200},
		{name: "both, x-date fresh", signed: []datedHeader{{"date", stale}, {"x-date", now}}, status: 200},
		{name: "both, x-date stale", signed: []datedHeader{{"date", now}, {"x-date", stale}}, status: 401, message: "x-date header is more than 5 minutes"},
		{name: "x-date stale", signed: []datedHeader{{"x-date", stale}}, status: 401, message: "x-date header is more than 5 minutes"},
		{name: "x-date in the future", signed: []datedHeader{{"x-date", now.Add(6 * time.Minute)}}, status: 401, message: "more than 5 minutes"},
		{name: "neither signed", status: 401, message: "must cover the date or x-date header"},
		{name: "neither signed, both sent", tamper: func(req *http.Request) {
			req.Header.Set("date", now.Format(http.TimeFormat))
			req.Header.Set("x-date", now.Format(http.TimeFormat))
		}, status: 401, message: "must cover the date or x-date header"},
		{name: "signed stale date, unsigned fresh x-date", signed: []datedHeader{{"date", stale}}, tamper: func(req *http.Request) {
			req.Header.Set("x-date", now.Format(http.TimeFormat))
		}, status: 401, message: "date header is more than 5 minutes"},
		{name: "signed x-date not a date", signed: []datedHeader{{"x-date", now}}, tamper: func(req *http.Request) {
			req.Header.Set("x-date", "yesterday")
		}, status: 401, message: "x-date header is missing or not an HTTP date"},
		{name: "signed x-date removed", signed: []datedHeader{{"x-date", now}}, tamper: func(req *http.Request) {
			req.Header.Del("x-date")
			req.Header.Set("date", now.Format(http.TimeFormat))
		}, status: 401, message: "x-date header is missing"},
		{name: "signed x-date changed", signed: []datedHeader{{"x-date", now}}, tamper: func(req *http.Request) {
			req.Header.Set("x-date", now.Add(time.Minute).Format(http.TimeFormat))
		}, status: 401, message: "does not verify"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method, u, body := "GET", v.srv.URL+OCIAPIPrefix+"tenancies/"+tenancyOCID, []byte(nil)
			if tc.post {
				method, u, body = "POST", v.srv.URL+OCIAPIPrefix+"compartments", []byte(`{"name":"x"}`)
			}
			req, err := http.NewRequest(method, u, strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			signOCIDated(t, req, body, upst, key, tc.signed...)
			if tc.tamper != nil {
				tc.tamper(req)
			}
			got := v.do(req)
			if got.status != tc.status || !strings.Contains(got.body, tc.message) {
				t.Fatalf("status %d %s, want %d with %q", got.status, got.body, tc.status, tc.message)
			}
		})
	}
}
