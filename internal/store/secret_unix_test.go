//go:build unix

package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secretValue has the characters HTTP Basic's form-encoding changes.
const secretValue = "s3+cr/et%2F:x"

func TestSecretsFollowTheTokenStoreKind(t *testing.T) {
	for _, tc := range []struct {
		kind      Kind
		keyringUp bool
		where     string // what Where says
		file      bool   // the secret is in a file
		inKeyring bool
	}{
		{KindFile, true, "0600 file", true, false},
		{KindKeyring, true, "OS keyring", false, true},
		{KindAuto, true, "OS keyring", false, true},
		{KindAuto, false, "0600 file", true, false},
	} {
		t.Run(string(tc.kind)+map[bool]string{true: "", false: "-no-keyring"}[tc.keyringUp], func(t *testing.T) {
			old := syscall.Umask(0)
			defer syscall.Umask(old)
			dir := t.TempDir()
			kr := newFakeKeyring(0)
			if !tc.keyringUp {
				kr.before = func(string, string, string) error { return errNoSecretService }
			}
			opts := Options{Dir: dir, Keyring: kr, KeyringTimeout: time.Second}
			s, err := OpenSecrets(bg(), tc.kind, opts)
			if err != nil {
				t.Fatal(err)
			}
			if w := s.Where("dev"); !strings.Contains(w, tc.where) {
				t.Fatalf("Where = %q, want %q", w, tc.where)
			}
			if HasSecret(dir, "dev") {
				t.Fatal("HasSecret before any Save")
			}
			if err := s.CanSave(bg()); err != nil {
				t.Fatal(err)
			}
			want := Secret{Value: secretValue, Domain: "https://idcs-1.example.com", ClientID: "app"}
			if err := s.Save(bg(), "dev", want); err != nil {
				t.Fatal(err)
			}
			if !HasSecret(dir, "dev") || HasSecret(dir, "other") {
				t.Fatal("HasSecret does not name exactly the profile saved")
			}
			got, err := s.Load(bg(), "dev")
			if err != nil || *got != want {
				t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
			}
			path := filepath.Join(dir, "client-secrets", "tokens", "dev.json")
			fi, err := os.Stat(path)
			if tc.file != (err == nil) {
				t.Fatalf("secret file present = %v, want %v", err == nil, tc.file)
			}
			if tc.file && fi.Mode().Perm() != 0o600 {
				t.Fatalf("secret file mode %04o", fi.Mode().Perm())
			}
			if tc.file {
				if b, _ := os.ReadFile(path); !strings.Contains(string(b), "app") {
					t.Fatalf("the file does not name the application: %s", b)
				}
			}
			if inKr := len(kr.users()) > 0; inKr != tc.inKeyring {
				t.Fatalf("keyring items present = %v, want %v", inKr, tc.inKeyring)
			}
			// No secret is ever kept with the token store's service.
			for k := range kr.items {
				if !strings.HasPrefix(k, SecretService+"\x00") {
					t.Fatalf("keyring item %q is not under the secrets' service", k)
				}
			}
			if err := ForgetSecret(bg(), opts, "dev"); err != nil {
				t.Fatal(err)
			}
			if HasSecret(dir, "dev") || len(kr.users()) != 0 {
				t.Fatalf("ForgetSecret left: marker %v, keyring %v", HasSecret(dir, "dev"), kr.users())
			}
			if _, err := s.Load(bg(), "dev"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Load after ForgetSecret = %v", err)
			}
		})
	}
}

func TestSecretFileUnderTheTokenFileRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spoil   func(t *testing.T, s *Secrets, path string)
		wantErr string
	}{
		{"readable by others", func(t *testing.T, _ *Secrets, path string) {
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "has mode 0644"},
		{"a symbolic link", func(t *testing.T, _ *Secrets, path string) {
			target := path + ".elsewhere"
			if err := os.Rename(path, target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"another user's", func(t *testing.T, s *Secrets, _ string) {
			s.st.(*fileStore).uid = os.Getuid() + 4242
		}, "belongs to another user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenSecrets(bg(), KindFile, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Save(bg(), "dev", Secret{Value: secretValue, ClientID: "app"}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "client-secrets", "tokens", "dev.json")
			tc.spoil(t, s, path)
			_, err = s.Load(bg(), "dev")
			var u *UnsafeFileError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Load = %v, want an *UnsafeFileError saying %q", err, tc.wantErr)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "client secret file ") || !strings.Contains(msg, "login -p dev --save-secret") || strings.Contains(msg, "logout") {
				t.Fatalf("the refusal does not speak of the client secret: %s", msg)
			}
			if strings.Contains(msg, secretValue) {
				t.Fatal("the refusal shows the secret")
			}
		})
	}
}

func TestSecretsNotKeptByTheNoneStore(t *testing.T) {
	s, err := OpenSecrets(bg(), KindNone, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CanSave(bg()); !errors.Is(err, ErrSecretsNotKept) {
		t.Fatalf("CanSave = %v", err)
	}
	if err := s.Save(bg(), "dev", Secret{Value: secretValue}); !errors.Is(err, ErrSecretsNotKept) {
		t.Fatalf("Save = %v", err)
	}
}

func TestAutoFallbackReadsItsOwnUsersFiles(t *testing.T) {
	// The fallback file store must check files against this user, not
	// uid 0: otherwise every non-root user's fallback file is refused.
	st, err := Open(bg(), KindAuto, Options{Dir: t.TempDir(), Keyring: newFakeKeyring(0)})
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.(*autoStore).file.uid; uid != os.Getuid() {
		t.Fatalf("auto's file store checks files against uid %d, this user is %d", uid, os.Getuid())
	}
}
