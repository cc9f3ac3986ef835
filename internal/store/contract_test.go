package store

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// testContract checks the behaviour every backend that keeps tokens shares.
// open returns a fresh, empty store.
func testContract(t *testing.T, open func(t *testing.T) Store) {
	t.Run("a saved token loads back unchanged", func(t *testing.T) {
		s := open(t)
		if err := s.Save(bg(), "dev", smallToken()); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(bg(), "dev")
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, got, smallToken())
	})

	t.Run("a 16 KB token loads back unchanged", func(t *testing.T) {
		if n := recordSize(t, bigToken()); n < 16<<10 {
			t.Fatalf("big token record is %d bytes, want at least 16 KB", n)
		}
		s := open(t)
		if err := s.Save(bg(), "big", bigToken()); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(bg(), "big")
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, got, bigToken())
	})

	t.Run("a second save replaces the first, whatever their sizes", func(t *testing.T) {
		s := open(t)
		for i, tok := range []*Token{smallToken(), bigToken(), bigToken(), smallToken(), smallToken(), bigToken()} {
			tok.Scope += strings.Repeat("x", i) // each save differs
			if err := s.Save(bg(), "dev", tok); err != nil {
				t.Fatalf("save %d: %v", i, err)
			}
			got, err := s.Load(bg(), "dev")
			if err != nil {
				t.Fatalf("load after save %d: %v", i, err)
			}
			checkSame(t, got, tok)
		}
	})

	t.Run("loading a profile never saved is ErrNotFound", func(t *testing.T) {
		_, err := open(t).Load(bg(), "nobody")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Load = %v, want ErrNotFound", err)
		}
	})

	t.Run("deleting nothing is not an error", func(t *testing.T) {
		if err := open(t).Delete(bg(), "nobody"); err != nil {
			t.Fatalf("Delete = %v, want nil", err)
		}
	})

	t.Run("a deleted token is gone and no longer listed", func(t *testing.T) {
		s := open(t)
		for _, p := range []string{"small", "big"} {
			tok := smallToken()
			if p == "big" {
				tok = bigToken()
			}
			if err := s.Save(bg(), p, tok); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(bg(), p); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(bg(), p); !errors.Is(err, ErrNotFound) {
				t.Errorf("Load(%s) after Delete = %v, want ErrNotFound", p, err)
			}
		}
		if got, err := s.Profiles(bg()); err != nil || len(got) != 0 {
			t.Errorf("Profiles after deleting all = %q, %v; want none", got, err)
		}
	})

	t.Run("profiles lists every saved profile, sorted", func(t *testing.T) {
		s := open(t)
		for _, p := range []string{"prod", "dev", "Stage-2.eu_west"} {
			if err := s.Save(bg(), p, smallToken()); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.Profiles(bg())
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"Stage-2.eu_west", "dev", "prod"}; !slices.Equal(got, want) {
			t.Errorf("Profiles = %q, want %q", got, want)
		}
	})

	t.Run("profiles are independent", func(t *testing.T) {
		s := open(t)
		a, b := smallToken(), bigToken()
		b.ClientID = "other-client"
		if err := s.Save(bg(), "a", a); err != nil {
			t.Fatal(err)
		}
		if err := s.Save(bg(), "b", b); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(bg(), "a"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(bg(), "b")
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, got, b)
		if _, err := s.Load(bg(), "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Load(a) after deleting a = %v, want ErrNotFound", err)
		}
	})

	t.Run("a zero expiry stays zero", func(t *testing.T) {
		s := open(t)
		tok := smallToken()
		tok.Expiry = time.Time{}
		if err := s.Save(bg(), "dev", tok); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(bg(), "dev")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Expiry.IsZero() {
			t.Errorf("expiry = %v, want zero", got.Expiry)
		}
	})

	t.Run("bad profile names are refused by every method", func(t *testing.T) {
		s := open(t)
		for _, name := range []string{"", ".hidden", "../up", "a/b", `a\b`, "-dash", "sp ace", strings.Repeat("x", 65), "nul\x00"} {
			if _, err := s.Load(bg(), name); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("Load(%q) = %v, want a name error", name, err)
			}
			if err := s.Save(bg(), name, smallToken()); err == nil {
				t.Errorf("Save(%q) succeeded, want a name error", name)
			}
			if err := s.Delete(bg(), name); err == nil {
				t.Errorf("Delete(%q) succeeded, want a name error", name)
			}
		}
	})

	t.Run("saving no token is an error", func(t *testing.T) {
		if err := open(t).Save(bg(), "dev", nil); err == nil {
			t.Error("Save(nil) succeeded")
		}
	})
}

func TestMemoryStoreContract(t *testing.T) {
	testContract(t, func(t *testing.T) Store { return NewMemory() })
}

func TestFileStoreContract(t *testing.T) {
	testContract(t, func(t *testing.T) Store { return NewFile(t.TempDir()) })
}

func TestKeyringStoreContractWithWindowsSizeLimit(t *testing.T) {
	testContract(t, func(t *testing.T) Store {
		k, _ := testKeyring(t)
		return k
	})
}

func TestAutoStoreContractWhenKeyringAnswers(t *testing.T) {
	testContract(t, func(t *testing.T) Store {
		s, err := Open(bg(), KindAuto, Options{Dir: t.TempDir(), Keyring: newFakeKeyring(windowsLimit)})
		if err != nil {
			t.Fatal(err)
		}
		if s.Name() != "keyring" {
			t.Fatalf("auto chose %q, want keyring", s.Name())
		}
		return s
	})
}

func TestAutoStoreContractWhenKeyringIsDown(t *testing.T) {
	testContract(t, func(t *testing.T) Store {
		fake := newFakeKeyring(0)
		fake.before = func(string, string, string) error { return errNoSessionBus }
		s, err := Open(bg(), KindAuto, Options{Dir: t.TempDir(), Keyring: fake})
		if err != nil {
			t.Fatal(err)
		}
		if s.Name() != "file" {
			t.Fatalf("auto chose %q, want file", s.Name())
		}
		return s
	})
}

func TestNoneStoreKeepsNothing(t *testing.T) {
	s := NewNone()
	if err := s.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatalf("Save = %v, want nil", err)
	}
	if _, err := s.Load(bg(), "dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load after Save = %v, want ErrNotFound", err)
	}
	if got, err := s.Profiles(bg()); err != nil || len(got) != 0 {
		t.Errorf("Profiles = %q, %v; want none", got, err)
	}
	if err := s.Delete(bg(), "dev"); err != nil {
		t.Errorf("Delete = %v, want nil", err)
	}
	if s.Name() != "none" {
		t.Errorf("Name = %q", s.Name())
	}
}

func TestMemoryStoreHandsOutCopies(t *testing.T) {
	s := NewMemory()
	tok := smallToken()
	if err := s.Save(bg(), "dev", tok); err != nil {
		t.Fatal(err)
	}
	tok.AccessToken = "changed by the caller after Save"
	got, _ := s.Load(bg(), "dev")
	got.RefreshToken = "changed by the caller after Load"
	again, err := s.Load(bg(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, again, smallToken())
}

func TestParseKind(t *testing.T) {
	tests := []struct {
		in      string
		want    Kind
		wantErr bool
	}{
		{"", KindAuto, false},
		{"auto", KindAuto, false},
		{" Keyring ", KindKeyring, false},
		{"file", KindFile, false},
		{"none", KindNone, false},
		{"memory", KindMemory, false},
		{"keychain", "", true},
		{"files", "", true},
	}
	for _, tt := range tests {
		got, err := ParseKind(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "auto, keyring, file, none, memory") {
			t.Errorf("ParseKind(%q) error %q does not list the valid values", tt.in, err)
		}
	}
}

func TestOpenRequiresDirForBackendsThatWriteFiles(t *testing.T) {
	for _, kind := range []Kind{KindAuto, KindKeyring, KindFile} {
		if _, err := Open(bg(), kind, Options{Keyring: newFakeKeyring(0)}); err == nil {
			t.Errorf("Open(%s) without Dir succeeded", kind)
		}
	}
	for _, kind := range []Kind{KindMemory, KindNone} {
		if _, err := Open(bg(), kind, Options{}); err != nil {
			t.Errorf("Open(%s) without Dir = %v, want nil", kind, err)
		}
	}
	if _, err := Open(bg(), Kind("vault"), Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "auto, keyring") {
		t.Errorf("Open(vault) = %v, want an error listing the valid kinds", err)
	}
}

func TestOpenNamesTheBackend(t *testing.T) {
	dir := t.TempDir()
	for kind, want := range map[Kind]string{KindKeyring: "keyring", KindFile: "file", KindMemory: "memory", KindNone: "none"} {
		s, err := Open(bg(), kind, Options{Dir: dir, Keyring: newFakeKeyring(0)})
		if err != nil {
			t.Fatal(err)
		}
		if s.Name() != want {
			t.Errorf("Open(%s).Name() = %q, want %q", kind, s.Name(), want)
		}
	}
}
