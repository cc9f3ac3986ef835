package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/oci"
)

func fakeUPST(exp time.Time) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`))
	p, _ := json.Marshal(map[string]any{"sub": "ocid1.user.oc1..u", "tenant": "ocid1.tenancy.oc1..t", "exp": exp.Unix()})
	return h + "." + base64.RawURLEncoding.EncodeToString(p) + ".c2ln"
}

// session writes a session as idcsctl does and returns its config path,
// token and key.
func session(t *testing.T) (string, string, *rsa.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	upst := fakeUPST(time.Now().Add(time.Hour))
	var pub *rsa.PublicKey
	_, err := oci.Ensure(context.Background(), oci.EnsureOptions{Name: "s", ConfigPath: cfg, Region: "eu-frankfurt-1",
		Exchange: func(_ context.Context, k *rsa.PublicKey) (string, error) { pub = k; return upst, nil },
		Records:  &oci.Records{Path: filepath.Join(dir, "r.json")}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, upst, pub
}

func TestMainSignsWithTheSession(t *testing.T) {
	cfg, upst, pub := session(t)
	var out bytes.Buffer
	if err := Main([]string{"--config", cfg, "--profile", "s", "--check"}, nil, &out, time.Now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"realm_domain":"oraclecloud.com"`) {
		t.Fatalf("check: %s", out.String())
	}
	body := []byte(`{"name":"x"}`)
	in, _ := json.Marshal(oci.SignInput{Method: "POST", URL: "https://identity.eu-frankfurt-1.oci.oraclecloud.com/20160918/compartments?a=b",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	out.Reset()
	if err := Main([]string{"--config", cfg, "--profile", "s"}, bytes.NewReader(in), &out, time.Now); err != nil {
		t.Fatal(err)
	}
	var got oci.SignOutput
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if got.Header.Get("X-Content-Sha256") != base64.StdEncoding.EncodeToString(sum[:]) || got.Header.Get("Content-Length") != "12" || got.Header.Get("Date") == "" {
		t.Fatalf("headers %v", got.Header)
	}
	auth := got.Header.Get("Authorization")
	if !strings.Contains(auth, `keyId="ST$`+upst+`"`) || !strings.Contains(auth, `algorithm="rsa-sha256"`) {
		t.Fatalf("Authorization %q", auth)
	}
	// The signature verifies with the session's public key over OCI's
	// signing string.
	lines := []string{
		"date: " + got.Header.Get("Date"),
		"(request-target): post /20160918/compartments?a=b",
		"host: identity.eu-frankfurt-1.oci.oraclecloud.com",
		"content-length: 12",
		"content-type: application/json",
		"x-content-sha256: " + got.Header.Get("X-Content-Sha256"),
	}
	sig := auth[strings.Index(auth, `signature="`)+len(`signature="`) : len(auth)-1]
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw); err != nil {
		t.Fatalf("the signature does not verify: %v", err)
	}
}

func TestMainRefusesAMissingSession(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte("[other]\nregion=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Main([]string{"--config", cfg, "--profile", "s", "--check"}, nil, &bytes.Buffer{}, time.Now); err == nil {
		t.Fatal("a missing section was accepted")
	}
	if err := Main(nil, nil, &bytes.Buffer{}, time.Now); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("no arguments: %v", err)
	}
}
