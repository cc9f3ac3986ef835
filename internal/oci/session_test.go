package oci

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/emulator"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeUPST is an unsigned token with the claims idcsctl reads.
func fakeUPST(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`))
	p, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + ".c2ln"
}

func goodClaims(exp time.Time) map[string]any {
	return map[string]any{"sub": "ocid1.user.oc1..u", "tenant": "ocid1.tenancy.oc1..t", "exp": exp.Unix(), "iat": exp.Add(-time.Hour).Unix()}
}

// counter is an Exchanger that counts its calls and remembers the key.
type counter struct {
	calls int
	keys  []*rsa.PublicKey
	upst  func() string
}

func (c *counter) exchange(_ context.Context, pub *rsa.PublicKey) (string, error) {
	c.calls++
	c.keys = append(c.keys, pub)
	return c.upst(), nil
}

func TestEnsureExchangesOnlyWhenDue(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, ".oci", "config")
	now := testNow
	ex := &counter{upst: func() string { return fakeUPST(goodClaims(now.Add(time.Hour))) }}
	recs := &Records{Path: filepath.Join(dir, "state", "oci", "p.json")}
	opts := EnsureOptions{Name: "idcsctl-p", ConfigPath: cfgPath, Region: "us-ashburn-1", Margin: DefaultMargin,
		Now: func() time.Time { return now }, Exchange: ex.exchange, Records: recs}

	s, err := Ensure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Exchanged || !s.NewKey || !s.ConfigWritten || ex.calls != 1 {
		t.Fatalf("first call: %+v, %d exchanges", s, ex.calls)
	}
	for _, f := range []string{s.Paths.Token, s.Paths.PrivateKey, s.Paths.PublicKey} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	if fi, _ := os.Stat(s.Paths.Dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("session folder mode %v", fi.Mode().Perm())
	}
	cfg, err := ReadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := cfg.Section("idcsctl-p")
	if keys["tenancy"] != "ocid1.tenancy.oc1..t" || keys["security_token_file"] != s.Paths.Token || keys["key_file"] != s.Paths.PrivateKey || keys["region"] != "us-ashburn-1" {
		t.Fatalf("section = %v", keys)
	}

	// Fresh: no exchange, nothing written.
	before, _ := os.ReadFile(cfgPath)
	now = now.Add(30 * time.Minute)
	s, err = Ensure(context.Background(), opts)
	if err != nil || s.Exchanged || s.ConfigWritten || ex.calls != 1 {
		t.Fatalf("fresh call: %+v %v, %d exchanges", s, err, ex.calls)
	}
	after, _ := os.ReadFile(cfgPath)
	if string(before) != string(after) {
		t.Fatal("a fresh call rewrote the config")
	}

	// Within the margin: a new exchange with the same key.
	now = now.Add(26 * time.Minute)
	s, err = Ensure(context.Background(), opts)
	if err != nil || !s.Exchanged || s.NewKey || ex.calls != 2 {
		t.Fatalf("due call: %+v %v, %d exchanges", s, err, ex.calls)
	}
	if ex.keys[0].N.Cmp(ex.keys[1].N) != 0 {
		t.Error("the key pair changed although it was still good")
	}

	// A new region rewrites the section only.
	opts.Region = "eu-frankfurt-1"
	s, err = Ensure(context.Background(), opts)
	if err != nil || s.Exchanged || !s.ConfigWritten {
		t.Fatalf("region change: %+v %v", s, err)
	}

	// Remove takes away exactly what was created.
	// Here idcsctl made ~/.oci, its config and sessions folder: all go.
	removed, err := Remove(recs.Sessions[0])
	if err != nil || len(removed) != 4 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Dir(cfgPath)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the config folder idcsctl made is still there: %v", err)
	}
	if _, err := os.Stat(s.Paths.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("session folder still there: %v", err)
	}
	if got, _ := os.ReadFile(cfgPath); len(got) != 0 {
		t.Fatalf("config left: %q", got)
	}
}

func TestEnsureLeavesTheConfigAloneOnFailure(t *testing.T) {
	cases := []struct {
		name    string
		config  string
		upst    string
		exErr   error
		section string
		wantErr string
	}{
		{name: "unparseable config", config: "[a]\nwords\n", wantErr: "line 2"},
		{name: "section of the person", config: "[idcsctl-p]\nuser=x\n", wantErr: "not created by idcsctl"},
		{name: "UPST without claims", config: "[a]\nx=1\n", upst: fakeUPST(map[string]any{"iss": "x"}), wantErr: "lacks the expected claims"},
		{name: "exchange refused", config: "[a]\nx=1\n", exErr: &auth.ProviderError{Code: "invalid_grant", Description: "no trust"}, wantErr: "no trust"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "config")
			if err := os.WriteFile(cfgPath, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			ex := func(context.Context, *rsa.PublicKey) (string, error) { return tc.upst, tc.exErr }
			_, err := Ensure(context.Background(), EnsureOptions{Name: "idcsctl-p", ConfigPath: cfgPath, Region: "us-ashburn-1",
				Now: func() time.Time { return testNow }, Exchange: ex, Records: &Records{Path: filepath.Join(dir, "r.json")}})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if got, _ := os.ReadFile(cfgPath); string(got) != tc.config {
				t.Fatalf("config changed to %q", got)
			}
			if _, err := os.Stat(filepath.Join(dir, "r.json")); err == nil {
				t.Fatal("a record was written for a failed session")
			}
		})
	}
}

func TestEnsureUnwritableFolder(t *testing.T) {
	// A file where the sessions folder goes cannot be written through,
	// even by root, as a read-only folder could be.
	dir := t.TempDir()
	oci := filepath.Join(dir, ".oci")
	if err := os.MkdirAll(oci, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(oci, "sessions"), []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	ex := func(context.Context, *rsa.PublicKey) (string, error) {
		return fakeUPST(goodClaims(testNow.Add(time.Hour))), nil
	}
	recs := &Records{Path: filepath.Join(dir, "r.json")}
	_, err := Ensure(context.Background(), EnsureOptions{Name: "s", ConfigPath: filepath.Join(oci, "config"), Region: "us-ashburn-1",
		Now: func() time.Time { return testNow }, Exchange: ex, Records: recs})
	if err == nil || !strings.Contains(err.Error(), "session folder") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(oci, "config")); err == nil {
		t.Fatal("the config was written although the session could not be")
	}
	if len(recs.Sessions) != 0 {
		t.Fatal("a session that could not be written was recorded")
	}
}

func TestCheckNameAndRegion(t *testing.T) {
	for _, n := range []string{"DEFAULT", "", "-x", ".x", "a b", "a]b", strings.Repeat("a", 65)} {
		if CheckName(n) == nil {
			t.Errorf("name %q accepted", n)
		}
	}
	for _, r := range []string{"", "US-ASHBURN-1", "us ashburn", "x\n", "-us"} {
		if CheckRegion(r) == nil {
			t.Errorf("region %q accepted", r)
		}
	}
	if CheckName("idcsctl-work.1") != nil || CheckRegion("us-ashburn-1") != nil {
		t.Error("good values refused")
	}
}

func TestParseUPST(t *testing.T) {
	for _, tc := range []struct {
		name, tok, want string
	}{
		{"not a JWT", "abc", "not a JWT"},
		{"no tenant", fakeUPST(map[string]any{"sub": "s", "exp": 1}), "no tenant"},
		{"nothing", fakeUPST(map[string]any{}), "no sub, tenant, exp"},
		{"newline in tenant", fakeUPST(map[string]any{"sub": "s", "tenant": "t\n[x]", "exp": 1}), "not a tenancy OCID"},
	} {
		_, err := ParseUPST(tc.tok)
		if !errors.Is(err, ErrUPSTClaims) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	c, err := ParseUPST(fakeUPST(goodClaims(testNow)))
	if err != nil || !c.Expiry.Equal(testNow) || c.Tenancy != "ocid1.tenancy.oc1..t" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestExchangeSendsTheDocumentedRequest(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	var got url.Values
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm
		user, pass, _ = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token":"the-upst"}`))
	}))
	defer srv.Close()
	tok, err := Exchange(context.Background(), ExchangeRequest{HTTP: srv.Client(), TokenEndpoint: srv.URL, ClientID: "app", ClientSecret: "s3cret", SubjectToken: "jwt", PublicKey: &key.PublicKey})
	if err != nil || tok != "the-upst" {
		t.Fatalf("%q %v", tok, err)
	}
	der, _ := base64.StdEncoding.DecodeString(got.Get("public_key"))
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil || !pub.(*rsa.PublicKey).Equal(&key.PublicKey) {
		t.Fatalf("public_key is not the key's SubjectPublicKeyInfo: %v", err)
	}
	if got.Get("grant_type") != GrantTokenExchange || got.Get("requested_token_type") != TokenTypeUPST || got.Get("subject_token_type") != "jwt" || got.Get("subject_token") != "jwt" || user != "app" || pass != "s3cret" {
		t.Fatalf("request %v, basic %s", got, user)
	}
}

func TestExchangeKeepsTheDomainsError(t *testing.T) {
	e, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	key, _ := NewKey()
	_, err = Exchange(context.Background(), ExchangeRequest{HTTP: srv.Client(), TokenEndpoint: srv.URL + "/oauth2/v1/token",
		ClientID: emulator.DemoConfidentialClientID, ClientSecret: emulator.DemoConfidentialClientSecret, SubjectToken: "not-a-jwt", PublicKey: &key.PublicKey})
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != "invalid_grant" || !strings.Contains(re.Description, "not a JWT") {
		t.Fatalf("err = %v", err)
	}
	// A refused exchange is never taken for a dead sign-in.
	var pe *auth.ProviderError
	if errors.As(err, &pe) || auth.IsInvalidGrant(err) || strings.Contains(err.Error(), "sign in again") {
		t.Fatalf("the refusal reads as a sign-in problem: %v", err)
	}
}
