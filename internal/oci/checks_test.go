package oci

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseUPSTRefusesWhatIsNotAUPSTAlone(t *testing.T) {
	good := fakeUPST(goodClaims(testNow.Add(time.Hour)))
	for _, tc := range []struct {
		name, tok, want string
	}{
		{"a line ending after it", good + "\n", "not a JWT alone"},
		{"a space and text after it", good + " extra", "not a JWT alone"},
		{"a fourth part", good + ".more", "not a JWT"},
		{"white space before it", " " + good, "not a JWT alone"},
		{"padding", good + "=", "not a JWT alone"},
		{"a path as tenant", fakeUPST(map[string]any{"sub": "s", "tenant": "../../etc", "exp": 1}), "not a tenancy OCID"},
		{"a user OCID as tenant", fakeUPST(map[string]any{"sub": "s", "tenant": "ocid1.user.oc1..aaaa", "exp": 1}), "not a tenancy OCID"},
		{"a tenancy OCID with a slash", fakeUPST(map[string]any{"sub": "s", "tenant": "ocid1.tenancy.oc1../etc", "exp": 1}), "not a tenancy OCID"},
		{"a tenancy OCID without an id", fakeUPST(map[string]any{"sub": "s", "tenant": "ocid1.tenancy.oc1..", "exp": 1}), "not a tenancy OCID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseUPST(tc.tok)
			if !errors.Is(err, ErrUPSTClaims) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseUPST = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestIsTenancyOCID(t *testing.T) {
	for s, want := range map[string]bool{
		"ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq": true,
		"ocid1.tenancy.oc1.phx.aaaaaaaaba3pv6wk":                                          true,
		"ocid1.tenancy.oc2..aaaa":                                                         true,
		"ocid1.tenancy.oc1.iad.future.aaaa":                                               true,
		"ocid1.tenancy..aaaa":                                                             false, // no realm
		"ocid1.tenancy.oc1..":                                                             false,
		"ocid1.compartment.oc1..aaaa":                                                     false,
		"ocid2.tenancy.oc1..aaaa":                                                         false,
		"ocid1.tenancy.oc1..AAAA":                                                         false,
		"ocid1.tenancy.oc1..aa aa":                                                        false,
		"ocid1.tenancy.oc1..a/b":                                                          false,
		"../../etc":                                                                       false,
		"":                                                                                false,
	} {
		if got := IsTenancyOCID(s); got != want {
			t.Errorf("IsTenancyOCID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCheckLifetime(t *testing.T) {
	for _, tc := range []struct {
		name        string
		iat, exp    time.Duration // from testNow; iat 0: no iat claim
		want        string        // "" accepted
		wantNothing bool
	}{
		{name: "an hour from now", iat: -time.Second, exp: time.Hour - time.Second},
		{name: "a fresh one from a domain whose clock runs ahead", iat: 3 * time.Minute, exp: 63 * time.Minute},
		{name: "without iat, within the allowance", exp: 64 * time.Minute},
		{name: "expired", iat: -2 * time.Hour, exp: -time.Hour, want: "expired already"},
		{name: "expiring this second", iat: -time.Hour, exp: 0, want: "expired already"},
		{name: "living two hours", iat: -time.Minute, exp: 119 * time.Minute, want: "longer than the 1h0m0s OCI allows"},
		{name: "without iat, a day from now", exp: 24 * time.Hour, want: "later than the 1h0m0s OCI allows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Claims{Expiry: testNow.Add(tc.exp)}
			if tc.iat != 0 {
				c.Issued = testNow.Add(tc.iat)
			}
			err := c.CheckLifetime(testNow)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("CheckLifetime = %v, want %q", err, tc.want)
			}
		})
	}
}

// ensureWith runs Ensure once on a config at cfgPath with the UPST the
// domain answers.
func ensureWith(t *testing.T, cfgPath string, upst string, recs *Records) (*Session, error) {
	t.Helper()
	ex := func(context.Context, *rsa.PublicKey) (string, error) { return upst, nil }
	return Ensure(context.Background(), EnsureOptions{Name: "idcsctl-p", ConfigPath: cfgPath, Region: "us-ashburn-1", Margin: DefaultMargin,
		Now: func() time.Time { return testNow }, Exchange: ex, Records: recs})
}

func TestEnsureChecksTheUPSTBeforeWritingIt(t *testing.T) {
	claims := func(change map[string]any) string {
		c := goodClaims(testNow.Add(time.Hour))
		for k, v := range change {
			c[k] = v
		}
		return fakeUPST(c)
	}
	for _, tc := range []struct {
		name, upst, want string
	}{
		{"expired", claims(map[string]any{"exp": testNow.Add(-time.Minute).Unix(), "iat": testNow.Add(-time.Hour).Unix()}), "expired already"},
		{"living a day", claims(map[string]any{"exp": testNow.Add(24 * time.Hour).Unix(), "iat": testNow.Unix()}), "longer than"},
		{"a path as tenant", claims(map[string]any{"tenant": "../../etc"}), "not a tenancy OCID"},
		{"text after it", claims(nil) + "\n[DEFAULT]\nkey_file=/etc/shadow", "not a JWT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := filepath.Join(dir, "config")
			const user = "[a]\nx=1\n"
			if err := os.WriteFile(cfgPath, []byte(user), 0o600); err != nil {
				t.Fatal(err)
			}
			recs := &Records{Path: filepath.Join(dir, "r.json")}
			_, err := ensureWith(t, cfgPath, tc.upst, recs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Ensure = %v, want %q", err, tc.want)
			}
			if got, _ := os.ReadFile(cfgPath); string(got) != user {
				t.Fatalf("config changed to %q", got)
			}
			if _, err := os.Stat(PathsFor(cfgPath, "idcsctl-p").Token); err == nil {
				t.Fatal("the refused token was written")
			}
			if len(recs.Sessions) != 0 {
				t.Fatal("a refused session was recorded")
			}
		})
	}
}

func TestEnsureExchangesAnewAStoredUPSTThatClaimsTooMuch(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config")
	recs := &Records{Path: filepath.Join(dir, "r.json")}
	if _, err := ensureWith(t, cfgPath, fakeUPST(goodClaims(testNow.Add(time.Hour))), recs); err != nil {
		t.Fatal(err)
	}
	// A token file planted (or left by an old version) that claims a day.
	long := goodClaims(testNow.Add(24 * time.Hour))
	long["iat"] = testNow.Unix()
	p := PathsFor(cfgPath, "idcsctl-p")
	if err := os.WriteFile(p.Token, []byte(fakeUPST(long)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ensureWith(t, cfgPath, fakeUPST(goodClaims(testNow.Add(time.Hour))), recs)
	if err != nil || !s.Exchanged || !s.Expiry.Equal(testNow.Add(time.Hour)) {
		t.Fatalf("Ensure = %+v, %v; want a new exchange", s, err)
	}
}

func TestEnsureRefusesFilesOthersControl(t *testing.T) {
	good := fakeUPST(goodClaims(testNow.Add(time.Hour)))
	for _, tc := range []struct {
		name  string
		setUp func(t *testing.T, oci string)
		want  string
		exit2 bool
	}{
		{"session folder a link to another folder", func(t *testing.T, oci string) {
			target := filepath.Join(filepath.Dir(oci), "elsewhere")
			must(t, os.MkdirAll(target, 0o700))
			must(t, os.MkdirAll(filepath.Join(oci, "sessions"), 0o700))
			must(t, os.Symlink(target, filepath.Join(oci, "sessions", "idcsctl-p")))
		}, "is a symbolic link", true},
		{"session folder a dangling link", func(t *testing.T, oci string) {
			must(t, os.MkdirAll(filepath.Join(oci, "sessions"), 0o700))
			must(t, os.Symlink(filepath.Join(oci, "nowhere"), filepath.Join(oci, "sessions", "idcsctl-p")))
		}, "is a symbolic link", true},
		{"sessions folder others can write", func(t *testing.T, oci string) {
			must(t, os.MkdirAll(filepath.Join(oci, "sessions"), 0o700))
			must(t, os.Chmod(filepath.Join(oci, "sessions"), 0o777))
		}, "the sessions folder " + "%s/sessions can be changed by other users (mode 0777)" + "|chmod go-w %s/sessions", true},
		{"config others can write", func(t *testing.T, oci string) {
			must(t, os.Chmod(filepath.Join(oci, "config"), 0o666))
		}, "chmod go-w %s/config", true},
		{"config folder the group can write", func(t *testing.T, oci string) {
			must(t, os.Chmod(oci, 0o770))
		}, "chmod go-w %s`", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			oci := filepath.Join(dir, ".oci")
			must(t, os.MkdirAll(oci, 0o700))
			cfgPath := filepath.Join(oci, "config")
			const user = "[a]\nx=1"
			must(t, os.WriteFile(cfgPath, []byte(user), 0o600))
			tc.setUp(t, oci)
			recs := &Records{Path: filepath.Join(dir, "r.json")}
			_, err := ensureWith(t, cfgPath, good, recs)
			var ce *ConfigError
			if err == nil || (!errors.As(err, &ce) && !errors.Is(err, ErrNotOurs)) {
				t.Fatalf("Ensure = %v, want a *ConfigError or ErrNotOurs (exit 2)", err)
			}
			for _, want := range strings.Split(tc.want, "|") {
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, oci)
				}
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("Ensure = %v, want %q", err, want)
				}
			}
			if got, _ := os.ReadFile(cfgPath); string(got) != user {
				t.Fatalf("config changed to %q", got)
			}
			if entries, _ := os.ReadDir(filepath.Join(dir, "elsewhere")); len(entries) != 0 {
				t.Fatalf("files written through the link: %v", entries)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRemoveGivesBackExactlyWhatWasThere(t *testing.T) {
	good := fakeUPST(goodClaims(testNow.Add(time.Hour)))
	for _, tc := range []struct {
		name, config  string
		sessionsThere bool
	}{
		{"no final newline", "[a]\nx=1", false},
		{"CRLF without a final line ending", "[a]\r\nx=1", false},
		{"CRLF with it", "[a]\r\nx=1\r\n", false},
		{"one line without a line ending", "# mine", false},
		{"with a final newline", "[a]\nx=1\n", false},
		{"trailing blank lines", "[a]\nx=1\n\n\n", false},
		{"empty file", "", false},
		{"a sessions folder of the person's", "[a]\nx=1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			oci := filepath.Join(dir, ".oci")
			must(t, os.MkdirAll(oci, 0o700))
			cfgPath := filepath.Join(oci, "config")
			must(t, os.WriteFile(cfgPath, []byte(tc.config), 0o600))
			if tc.sessionsThere {
				must(t, os.Mkdir(filepath.Join(oci, "sessions"), 0o700))
			}
			recs := &Records{Path: filepath.Join(dir, "r.json")}
			if _, err := ensureWith(t, cfgPath, good, recs); err != nil {
				t.Fatal(err)
			}
			// The records file is what a later logout reads.
			loaded, err := LoadRecords(recs.Path)
			if err != nil || len(loaded.Sessions) != 1 {
				t.Fatalf("records %+v, %v", loaded, err)
			}
			if _, err := Remove(loaded.Sessions[0]); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(cfgPath); string(got) != tc.config {
				t.Fatalf("config after logout = %q, want %q", got, tc.config)
			}
			_, err = os.Stat(filepath.Join(oci, "sessions"))
			if tc.sessionsThere != (err == nil) {
				t.Fatalf("sessions folder present = %v, want %v", err == nil, tc.sessionsThere)
			}
			if _, err := os.Stat(oci); err != nil {
				t.Fatal("the config folder of the person was removed")
			}
		})
	}
}

func TestRemoveKeepsTheNewlineWhenSomethingFollowsTheSection(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config")
	must(t, os.WriteFile(cfgPath, []byte("[a]\nx=1"), 0o600))
	recs := &Records{Path: filepath.Join(dir, "r.json")}
	if _, err := ensureWith(t, cfgPath, fakeUPST(goodClaims(testNow.Add(time.Hour))), recs); err != nil {
		t.Fatal(err)
	}
	// The person adds a section of their own after idcsctl's.
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = io.WriteString(f, "\n[b]\ny=2\n")
	must(t, err)
	must(t, f.Close())
	if _, err := Remove(recs.Sessions[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(cfgPath); string(got) != "[a]\nx=1\n\n[b]\ny=2\n" {
		t.Fatalf("config = %q", got)
	}
}

// echoServer answers every request with a refusal whose description quotes
// the request: its Authorization header, the decoded Basic credentials and
// the form body, as a careless domain might.
func echoServer(t *testing.T, seen *http.Request) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		*seen = *r
		auth := r.Header.Get("Authorization")
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
		user, pass, _ := r.BasicAuth()
		plainUser, _ := url.QueryUnescape(user)
		plainPass, _ := url.QueryUnescape(pass)
		desc := fmt.Sprintf("bad request: authorization=%q decoded=%s client=%s:%s unpadded=%s body=%s form-encoded=%s",
			auth, raw, plainUser, plainPass, strings.TrimRight(strings.TrimPrefix(auth, "Basic "), "="), body, url.QueryEscape(string(body)))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": desc})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestExchangeRedactsEverySecretTheDomainQuotes(t *testing.T) {
	// A secret with the characters RFC 6749 2.3.1's form-encoding changes.
	const secret = "s+cr/t%41:x=y"
	const subject = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl"
	key, err := NewKey()
	must(t, err)
	var seen http.Request
	srv := echoServer(t, &seen)
	_, err = Exchange(context.Background(), ExchangeRequest{HTTP: srv.Client(), TokenEndpoint: srv.URL, ClientID: "app:1",
		ClientSecret: secret, SubjectToken: subject, PublicKey: &key.PublicKey})
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("Exchange = %v", err)
	}
	// The credentials went as RFC 6749 2.3.1 says: each form-encoded, then
	// joined with ':' and base64-encoded.
	user, pass, ok := seen.BasicAuth()
	if !ok || user != url.QueryEscape("app:1") || pass != url.QueryEscape(secret) || pass != "s%2Bcr%2Ft%2541%3Ax%3Dy" {
		t.Fatalf("Basic credentials %q:%q", user, pass)
	}
	cred := strings.TrimPrefix(seen.Header.Get("Authorization"), "Basic ")
	msg := err.Error()
	for name, s := range map[string]string{
		"the secret": secret, "the form-encoded secret": url.QueryEscape(secret), "the Basic credentials": cred,
		"the unpadded Basic credentials": strings.TrimRight(cred, "="), "the URL-encoded Basic credentials": url.QueryEscape(cred),
		"the access token": subject,
	} {
		if strings.Contains(msg, s) {
			t.Errorf("the error shows %s: %s", name, msg)
		}
	}
	if !strings.Contains(msg, "[redacted]") || !strings.Contains(msg, "invalid_request") {
		t.Fatalf("the error lost the domain's words: %s", msg)
	}
}

func TestFindSignerSaysToReinstallWhatShipsIt(t *testing.T) {
	// The test binary's folder has no idcsctl-ocisign, and PATH is empty.
	t.Setenv("PATH", t.TempDir())
	_, err := FindSigner()
	if !errors.Is(err, ErrNoSigner) {
		t.Fatalf("FindSigner = %v, want ErrNoSigner", err)
	}
	for _, want := range []string{"reinstall the idcsctl package", "release archive", "go install github.com/idcsctl/idcsctl/cmd/idcsctl-ocisign@latest", "nor on PATH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	// On PATH, it is found.
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, SignerProgram), []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("PATH", dir)
	if p, err := FindSigner(); err != nil || p != filepath.Join(dir, SignerProgram) {
		t.Fatalf("FindSigner = %q, %v", p, err)
	}
}
