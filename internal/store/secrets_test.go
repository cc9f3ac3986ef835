package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNoErrorOrNoticeContainsTokenText provokes every error path of every
// backend with a token whose secrets are recognisable, including a keyring
// that echoes the value it was given in its errors, and checks that no
// message shows them.
func TestNoErrorOrNoticeContainsTokenText(t *testing.T) {
	// hostile fails every Set with a message quoting the value, the way a
	// careless keyring implementation might.
	hostile := func() *fakeKeyring {
		f := newFakeKeyring(0)
		f.before = func(op, user, secret string) error {
			if op == "set" {
				return fmt.Errorf("cannot store %q for %s: %s", secret, user, secret)
			}
			return nil
		}
		return f
	}
	saveErr := func(s Store, tok *Token) error { return s.Save(bg(), "dev", tok) }

	tests := []struct {
		name    string
		provoke func(t *testing.T) string // returns everything the path showed a user
	}{
		{"keyring echoing a small value in its error", func(t *testing.T) string {
			k := newKeyring(Options{Dir: t.TempDir(), Keyring: hostile()})
			return errText(saveErr(k, smallToken()))
		}},
		{"keyring echoing a chunk in its error", func(t *testing.T) string {
			k := newKeyring(Options{Dir: t.TempDir(), Keyring: hostile()})
			return errText(saveErr(k, bigToken()))
		}},
		{"keyring refusing an oversized item", func(t *testing.T) string {
			k := newKeyring(Options{Dir: t.TempDir(), Keyring: newFakeKeyring(1000)})
			return errText(saveErr(k, bigToken()))
		}},
		{"keyring timing out", func(t *testing.T) string {
			f := newFakeKeyring(0)
			release, _ := blockingKeyring(f, func(op, _ string) bool { return op == "set" })
			t.Cleanup(release)
			k := newKeyring(Options{Dir: t.TempDir(), Keyring: f, KeyringTimeout: 20 * time.Millisecond})
			return errText(saveErr(k, bigToken()))
		}},
		{"keyring panicking with the value", func(t *testing.T) string {
			f := newFakeKeyring(0)
			f.before = func(op, _, secret string) error {
				if op == "set" {
					panic(secret)
				}
				return nil
			}
			return errText(saveErr(newKeyring(Options{Dir: t.TempDir(), Keyring: f}), smallToken()))
		}},
		{"keyring manifest that is not JSON", func(t *testing.T) string {
			k, f := testKeyring(t)
			f.put("dev", secretAccess+secretRefresh)
			_, err := k.Load(bg(), "dev")
			return errText(err)
		}},
		{"keyring chunk missing", func(t *testing.T) string {
			k, f := testKeyring(t)
			if err := k.Save(bg(), "dev", bigToken()); err != nil {
				t.Fatal(err)
			}
			f.remove(chunkOf(f, 0))
			_, err := k.Load(bg(), "dev")
			return errText(err)
		}},
		{"keyring chunk altered", func(t *testing.T) string {
			k, f := testKeyring(t)
			if err := k.Save(bg(), "dev", bigToken()); err != nil {
				t.Fatal(err)
			}
			u := chunkOf(f, 0)
			f.put(u, strings.Replace(f.item(u), "e", "f", 1))
			_, err := k.Load(bg(), "dev")
			return errText(err)
		}},
		{"auto falling back from a keyring that echoes values", func(t *testing.T) string {
			var warn bytes.Buffer
			s, err := Open(bg(), KindAuto, Options{Dir: t.TempDir(), Keyring: hostile(), Warn: &warn})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Save(bg(), "dev", smallToken()); err != nil {
				t.Fatal(err)
			}
			if warn.Len() == 0 {
				t.Fatal("no fallback notice")
			}
			return warn.String()
		}},
		{"corrupt token file", func(t *testing.T) string {
			dir := t.TempDir()
			writeTokenFile(t, dir, `{"version":1,"token":{"access_token":"`+secretAccess+`","expiry":"`+secretRefresh+`"}}`, 0o600)
			_, err := NewFile(dir).Load(bg(), "dev")
			return errText(err)
		}},
		{"truncated token file", func(t *testing.T) string {
			dir := t.TempDir()
			writeTokenFile(t, dir, `{"version":1,"token":{"id_token":"`+secretID, 0o600)
			_, err := NewFile(dir).Load(bg(), "dev")
			return errText(err)
		}},
		{"token file with loose mode", func(t *testing.T) string {
			if isWindows() {
				t.Skip("no Unix modes on Windows")
			}
			dir := t.TempDir()
			s := NewFile(dir)
			if err := s.Save(bg(), "dev", smallToken()); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "tokens", "dev.json"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load(bg(), "dev")
			return errText(err)
		}},
		{"unwritable state folder", func(t *testing.T) string {
			parent := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(parent, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return errText(saveErr(NewFile(filepath.Join(parent, "state")), smallToken()))
		}},
		{"token too large for the keyring", func(t *testing.T) string {
			k, _ := testKeyring(t)
			tok := smallToken()
			tok.RefreshToken = secretRefresh + strings.Repeat("r", maxChunks*maxItemSize)
			return errText(saveErr(k, tok))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shown := tt.provoke(t)
			if shown == "" {
				t.Fatal("the path produced no error or notice, so it proves nothing")
			}
			checkNoSecret(t, "message", shown)
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func writeTokenFile(t *testing.T, dir, content string, perm os.FileMode) {
	t.Helper()
	path := filepath.Join(dir, "tokens", "dev.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}
