package oci

import (
	"bytes"
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The tests in this file pin promises of docs/oci.md and docs/security.md
// that a small change to the code could break without any other test
// noticing (bench/mutants.sh names them).

// ensureOpts is a session "idcsctl-p" of a config under dir, exchanging
// for a UPST valid for half an hour.
func ensureOpts(dir string, ex Exchanger) EnsureOptions {
	if ex == nil {
		ex = func(context.Context, *rsa.PublicKey) (string, error) {
			return fakeUPST(goodClaims(testNow.Add(30 * time.Minute))), nil
		}
	}
	return EnsureOptions{Name: "idcsctl-p", ConfigPath: filepath.Join(dir, ".oci", "config"), Region: "us-ashburn-1",
		Margin: DefaultMargin, Now: func() time.Time { return testNow }, Exchange: ex,
		Records: &Records{Path: filepath.Join(dir, "state", "p.json")}}
}

// RFC 6749 2.3.1: the client id and secret are form-encoded before they
// are Basic-encoded, so a secret with '+', '/', '%' or ':' reaches the
// domain as it is.
func TestExchangeFormEncodesTheBasicCredentials(t *testing.T) {
	for _, tc := range []struct{ name, id, secret string }{
		{"plain", "app", "plain-secret"},
		{"plus and slash", "app", "a+b/c=="},
		{"percent", "app", "100%-sure"},
		{"colons, space and ampersand", "app:with:colons", "sp ace&x=y:z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rawUser, rawPass string
			var ok bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rawUser, rawPass, ok = r.BasicAuth()
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"token":"the-upst"}`))
			}))
			defer srv.Close()
			key, err := NewKey()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Exchange(context.Background(), ExchangeRequest{HTTP: srv.Client(), TokenEndpoint: srv.URL,
				ClientID: tc.id, ClientSecret: tc.secret, SubjectToken: "jwt", PublicKey: &key.PublicKey}); err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Fatal("no Basic credentials were sent")
			}
			if rawUser != url.QueryEscape(tc.id) || rawPass != url.QueryEscape(tc.secret) {
				t.Errorf("Basic credentials %q:%q, want the form-encoded %q:%q", rawUser, rawPass, url.QueryEscape(tc.id), url.QueryEscape(tc.secret))
			}
			user, err1 := url.QueryUnescape(rawUser)
			pass, err2 := url.QueryUnescape(rawPass)
			if err1 != nil || err2 != nil || user != tc.id || pass != tc.secret {
				t.Errorf("the domain decodes %q:%q (%v %v), want %q:%q", user, pass, err1, err2, tc.id, tc.secret)
			}
		})
	}
}

// A session folder that is already there, looser than 0700 (made by hand,
// or by an older tool), is made private before the key goes into it.
func TestEnsureMakesAnExistingSessionFolderPrivate(t *testing.T) {
	dir := t.TempDir()
	opts := ensureOpts(dir, nil)
	sessionDir := PathsFor(opts.ConfigPath, opts.Name).Dir
	if err := os.MkdirAll(sessionDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sessionDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Ensure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.Paths.Dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("session folder: %v %v, want 0700", fi.Mode().Perm(), err)
	}
	fi, err = os.Stat(s.Paths.PrivateKey)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v, want 0600", fi.Mode().Perm(), err)
	}
}

// A folder under sessions/ that holds anything, even a single file, and
// that idcsctl did not make, is the person's: Ensure refuses it and writes
// nothing, neither into the folder nor into the config.
func TestEnsureNeverWritesIntoThePersonsSessionFolder(t *testing.T) {
	for _, files := range [][]string{{TokenFile}, {"notes.txt"}, {TokenFile, PrivateKeyFile}} {
		t.Run(files[0], func(t *testing.T) {
			dir := t.TempDir()
			ex := &counter{upst: func() string { return fakeUPST(goodClaims(testNow.Add(30 * time.Minute))) }}
			opts := ensureOpts(dir, ex.exchange)
			p := PathsFor(opts.ConfigPath, opts.Name)
			if err := os.MkdirAll(p.Dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(p.Dir, f), []byte("the person's "+f), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Ensure(context.Background(), opts); err == nil {
				t.Fatal("Ensure used a session folder idcsctl did not make")
			}
			entries, _ := os.ReadDir(p.Dir)
			if len(entries) != len(files) {
				t.Errorf("the folder now holds %d files, want the person's %d", len(entries), len(files))
			}
			for _, f := range files {
				if got, _ := os.ReadFile(filepath.Join(p.Dir, f)); string(got) != "the person's "+f {
					t.Errorf("%s is now %q", f, got)
				}
			}
			if ex.calls != 0 {
				t.Errorf("%d exchanges for a session that cannot be written", ex.calls)
			}
			if _, err := os.Stat(opts.ConfigPath); err == nil {
				t.Error("the config was written")
			}
			if _, err := os.Stat(opts.Records.Path); err == nil {
				t.Error("the session was recorded as idcsctl's")
			}
		})
	}
}

// Remove takes the config section only while it still points at the
// session's token file: a section the person has since pointed elsewhere
// is theirs, and the config keeps every byte.
func TestRemoveKeepsASectionThePersonRepointed(t *testing.T) {
	dir := t.TempDir()
	opts := ensureOpts(dir, nil)
	if _, err := Ensure(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig(opts.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := cfg.Section(opts.Name)
	mine := filepath.Join(dir, "my-token")
	if err := cfg.SetSection(opts.Name, []KV{{"fingerprint", keys["fingerprint"]}, {"key_file", keys["key_file"]},
		{"tenancy", keys["tenancy"]}, {"region", keys["region"]}, {"security_token_file", mine}}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Write(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(opts.ConfigPath)

	removed, err := Remove(opts.Records.Sessions[0])
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(opts.ConfigPath)
	if !bytes.Equal(before, after) {
		t.Fatalf("Remove changed a section the person repointed:\n%s\nthen\n%s", before, after)
	}
	for _, r := range removed {
		if bytes.Contains([]byte(r), []byte("section")) {
			t.Errorf("Remove says it removed %q", r)
		}
	}
}

// Remove takes the session's three files and, when nothing else is left,
// its folder; a file the person put in the folder stays, with the folder,
// and that is no error. A second Remove finds nothing to do.
func TestRemoveLeavesThePersonsFilesInTheSessionFolder(t *testing.T) {
	dir := t.TempDir()
	opts := ensureOpts(dir, nil)
	s, err := Ensure(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	notes := filepath.Join(s.Paths.Dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := opts.Records.Sessions[0]
	if _, err := Remove(rec); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got, err := os.ReadFile(notes); err != nil || string(got) != "mine" {
		t.Fatalf("the person's file: %q %v", got, err)
	}
	for _, f := range []string{s.Paths.Token, s.Paths.PrivateKey, s.Paths.PublicKey} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
	if removed, err := Remove(rec); err != nil || len(removed) != 0 {
		t.Errorf("a second Remove: %v %v", removed, err)
	}
}
