//go:build linux

package store

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/secretservice"
)

// These tests use the real OS keyring code (go-keyring over godbus) against
// the private gnome-keyring that TestMain started through secretservice.Main.
// Each store gets its own service name, so tests cannot see each other's items.

func realKeyringOptions(t testing.TB) Options {
	secretservice.Shared(t)
	return Options{Dir: t.TempDir(), Service: "idcsctl-test-" + newGeneration(), KeyringTimeout: 10 * time.Second}
}

func TestRealSecretServiceKeyringContract(t *testing.T) {
	secretservice.Shared(t)
	testContract(t, func(t *testing.T) Store { return NewKeyring(realKeyringOptions(t)) })
}

func TestRealSecretServiceAutoContract(t *testing.T) {
	secretservice.Shared(t)
	testContract(t, func(t *testing.T) Store {
		s, err := Open(bg(), KindAuto, realKeyringOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		if s.Name() != "keyring" {
			t.Fatalf("auto chose %q with a working Secret Service, want keyring", s.Name())
		}
		return s
	})
}

// secretToolItems lists the items of a service as secret-tool, a separate
// libsecret client, sees them: user name -> secret.
func secretToolItems(t *testing.T, service string) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("secret-tool"); err != nil {
		secretservice.SkipOrFail(t, err)
	}
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "secret-tool", "search", "--all", "--unlock", "service", service).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(out) == 0 && ee.ExitCode() == 1 {
			return map[string]string{} // nothing found
		}
		t.Fatalf("secret-tool search: %v", err)
	}
	// secret-tool prints label and secret on stdout and the attributes on
	// stderr, so the item is recognised by go-keyring's label:
	// "Password for '<user>' on '<service>'".
	items := map[string]string{}
	var user string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "label = Password for '"); ok {
			user, _, _ = strings.Cut(v, "' on '")
		}
		if v, ok := strings.CutPrefix(line, "secret = "); ok {
			items[user] = v
		}
	}
	return items
}

func TestRealSecretServiceHoldsA16KBTokenInItemsOf2048BytesAndLogoutRemovesThemAll(t *testing.T) {
	opts := realKeyringOptions(t)
	s, err := Open(bg(), KindAuto, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(bg(), "dev", bigToken()); err != nil {
		t.Fatal(err)
	}
	items := secretToolItems(t, opts.Service)
	if len(items) < 9 {
		t.Fatalf("Secret Service holds %d items for a 16 KB token, want a manifest and at least 8 chunks", len(items))
	}
	if !strings.Contains(items["dev"], `"gen"`) {
		t.Errorf("manifest item \"dev\" does not name a chunk generation")
	}
	for user, secret := range items {
		if len(secret) > maxItemSize {
			t.Errorf("item %q holds %d bytes, want at most %d", user, len(secret), maxItemSize)
		}
	}
	if _, err := os.Stat(opts.Dir + "/tokens/dev.json"); !os.IsNotExist(err) {
		t.Errorf("auto with a working keyring wrote a token file (%v)", err)
	}
	if err := s.Delete(bg(), "dev"); err != nil {
		t.Fatal(err)
	}
	if items := secretToolItems(t, opts.Service); len(items) != 0 {
		t.Errorf("after logout the Secret Service still holds %d items", len(items))
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, size := range []struct {
		name  string
		token func() *Token
	}{{"small", smallToken}, {"16KB", bigToken}} {
		b.Run("file/"+size.name, func(b *testing.B) {
			s := NewFile(b.TempDir())
			benchLoad(b, s, size.token())
		})
		b.Run("secret-service/"+size.name, func(b *testing.B) {
			benchLoad(b, NewKeyring(realKeyringOptions(b)), size.token())
		})
	}
}

func benchLoad(b *testing.B, s Store, tok *Token) {
	if err := s.Save(bg(), "bench", tok); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Load(bg(), "bench"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := s.Delete(bg(), "bench"); err != nil {
		b.Fatal(err)
	}
}

// Over the real Secret Service a reader also meets the window between
// go-keyring's search for an item and its read of the secret, in which
// another process's Save may delete that item (an old generation's chunk).
func TestRealSecretServiceReadersNeverSeeAPartialSave(t *testing.T) {
	opts := realKeyringOptions(t)
	testReadersNeverSeeAPartialSave(t, func() Store { return NewKeyring(opts) }, 3, 60, 15)
}
