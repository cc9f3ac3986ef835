package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// switchableKeyring is a fake whose every call fails with down while down is set.
type switchableKeyring struct {
	*fakeKeyring
	mu   sync.Mutex
	down error
}

func newSwitchable() *switchableKeyring {
	s := &switchableKeyring{fakeKeyring: newFakeKeyring(windowsLimit)}
	s.fakeKeyring.before = func(string, string, string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.down
	}
	return s
}

func (s *switchableKeyring) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = err
}

var errNoSecretService = dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}

func openAutoForTest(t *testing.T, dir string, kr Keyring, warn *bytes.Buffer) *autoStore {
	t.Helper()
	s, err := Open(bg(), KindAuto, Options{Dir: dir, Keyring: kr, Warn: warn, KeyringTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s.(*autoStore)
}

func TestAutoFallsBackToTheFileStoreAndSaysWhyOncePerMachine(t *testing.T) {
	dir := t.TempDir()
	kr := newSwitchable()
	kr.set(errNoSecretService)
	var warn bytes.Buffer

	// A command that stores nothing says nothing.
	a := openAutoForTest(t, dir, kr, &warn)
	if a.Name() != "file" {
		t.Fatalf("Name = %q, want file", a.Name())
	}
	if _, err := a.Load(bg(), "dev"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load(dev) = %v, want ErrNotFound", err)
	}
	if warn.Len() != 0 {
		t.Errorf("a Load that found nothing gave a notice: %q", warn.String())
	}
	if err := a.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	notice := warn.String()
	if strings.Count(notice, "\n") != 1 || !strings.HasSuffix(notice, "\n") {
		t.Fatalf("notice = %q, want exactly one line", notice)
	}
	for _, want := range []string{"no Secret Service provider", filepath.Join(dir, "tokens"), "gnome-keyring-daemon"} {
		if !strings.Contains(notice, want) {
			t.Errorf("notice %q does not mention %q", notice, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tokens", "dev.json")); err != nil {
		t.Errorf("token not in the file store: %v", err)
	}

	// Later commands, another profile, a logout and a new sign-in: the
	// situation is the same, so nothing more is said.
	for range 2 {
		warn.Reset()
		a = openAutoForTest(t, dir, kr, &warn)
		if _, err := a.Load(bg(), "dev"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"dev", "prod"} {
			if err := a.Save(bg(), p, smallToken()); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Delete(bg(), "dev"); err != nil {
			t.Fatal(err)
		}
		if err := a.Save(bg(), "dev", smallToken()); err != nil {
			t.Fatal(err)
		}
		if warn.Len() != 0 {
			t.Errorf("notice repeated for the same cause: %q", warn.String())
		}
	}

	// A different cause is news: the notice comes again, at the next save.
	warn.Reset()
	kr.set(errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"))
	a = openAutoForTest(t, dir, kr, &warn)
	if err := a.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "locked or missing") {
		t.Errorf("a new cause gave no new notice: %q", warn.String())
	}

	// The keyring works again: markers go, so a later failure is announced again.
	kr.set(nil)
	a = openAutoForTest(t, dir, kr, &warn)
	if a.Name() != "keyring" {
		t.Fatalf("Name = %q once the keyring answers, want keyring", a.Name())
	}
	if _, err := os.Stat(filepath.Join(dir, "fallback")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("fallback markers still exist once the keyring answers (%v)", err)
	}
}

func TestAutoMovesAFallbackTokenIntoTheKeyringWhenItWorksAgain(t *testing.T) {
	dir := t.TempDir()
	kr := newSwitchable()
	kr.set(errNoSecretService)
	a := openAutoForTest(t, dir, kr, &bytes.Buffer{})
	if err := a.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}

	kr.set(nil)
	a = openAutoForTest(t, dir, kr, &bytes.Buffer{})
	got, err := a.Load(bg(), "dev")
	if err != nil {
		t.Fatalf("Load of a token only the file store holds = %v", err)
	}
	checkSame(t, got, smallToken())

	refreshed := smallToken()
	refreshed.AccessToken = "refreshed"
	if err := a.Save(bg(), "dev", refreshed); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tokens", "dev.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale file copy is still on disk after a keyring save (%v)", err)
	}
	if kr.item("dev") == "" {
		t.Error("the token did not go into the keyring")
	}
	got, err = a.Load(bg(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, refreshed)
}

func TestAutoLoadPrefersTheNewerOfKeyringAndFile(t *testing.T) {
	dir := t.TempDir()
	kr := newSwitchable()
	a := openAutoForTest(t, dir, kr, &bytes.Buffer{})
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	inKeyring, inFile := smallToken(), smallToken()
	inKeyring.AccessToken, inFile.AccessToken = "from-keyring", "from-file"

	// The keyring entry is older: a fallback save happened after it (while
	// the keyring was briefly down) and must win.
	a.kr.now = func() time.Time { return base }
	a.file.now = func() time.Time { return base.Add(time.Minute) }
	if err := a.kr.Save(bg(), "dev", inKeyring); err != nil {
		t.Fatal(err)
	}
	if err := a.file.Save(bg(), "dev", inFile); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Load(bg(), "dev"); err != nil || got.AccessToken != "from-file" {
		t.Errorf("Load = %v, %v; want the newer file token", got, err)
	}

	// Now the keyring entry is newer.
	a.kr.now = func() time.Time { return base.Add(time.Hour) }
	if err := a.kr.Save(bg(), "dev", inKeyring); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Load(bg(), "dev"); err != nil || got.AccessToken != "from-keyring" {
		t.Errorf("Load = %v, %v; want the newer keyring token", got, err)
	}
}

func TestAutoSwitchesToTheFileStoreWhenTheKeyringFailsMidCommand(t *testing.T) {
	dir := t.TempDir()
	kr := newSwitchable()
	var warn bytes.Buffer
	a := openAutoForTest(t, dir, kr, &warn)
	if a.Name() != "keyring" {
		t.Fatalf("Name = %q, want keyring", a.Name())
	}
	kr.set(errNoSecretService)
	if err := a.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatalf("Save after the keyring went away = %v, want a fallback to the file store", err)
	}
	if a.Name() != "file" || !strings.Contains(warn.String(), "no Secret Service provider") {
		t.Errorf("Name = %q, notice %q; want file and a notice", a.Name(), warn.String())
	}
	got, err := a.Load(bg(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, smallToken())
}

func TestAutoDoesNotCallATokenInAnUnreachableKeyringMissing(t *testing.T) {
	dir := t.TempDir()
	kr := newSwitchable()
	a := openAutoForTest(t, dir, kr, &bytes.Buffer{})
	if err := a.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	kr.set(errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"))
	a = openAutoForTest(t, dir, kr, &bytes.Buffer{})
	_, err := a.Load(bg(), "dev")
	var u *UnavailableError
	if errors.Is(err, ErrNotFound) || !errors.As(err, &u) {
		t.Fatalf("Load of a token in a locked keyring = %v, want *UnavailableError (not ErrNotFound, which would start a new sign-in)", err)
	}
	if !strings.Contains(err.Error(), "unlock") {
		t.Errorf("error %q does not say how to unlock", err)
	}
	// Logout cannot finish either, and says so.
	if err := a.Delete(bg(), "dev"); !errors.As(err, &u) {
		t.Errorf("Delete with the entry in a locked keyring = %v, want *UnavailableError", err)
	}
	if got, _ := a.Profiles(bg()); !slices.Equal(got, []string{"dev"}) {
		t.Errorf("Profiles = %q, want dev still listed for a later logout", got)
	}
}

func TestAutoDeleteAndProfilesCoverBothBackends(t *testing.T) {
	dir := t.TempDir()
	kr := newSwitchable()
	kr.set(errNoSecretService)
	a := openAutoForTest(t, dir, kr, &bytes.Buffer{})
	if err := a.Save(bg(), "from-fallback", smallToken()); err != nil {
		t.Fatal(err)
	}
	kr.set(nil)
	a = openAutoForTest(t, dir, kr, &bytes.Buffer{})
	for _, p := range []string{"in-keyring", "from-fallback"} {
		if err := a.kr.Save(bg(), p, bigToken()); err != nil {
			t.Fatal(err)
		}
	}
	got, err := a.Profiles(bg())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"from-fallback", "in-keyring"}; !slices.Equal(got, want) {
		t.Fatalf("Profiles = %q, want %q", got, want)
	}
	for _, p := range got {
		if err := a.Delete(bg(), p); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := a.Profiles(bg()); len(got) != 0 {
		t.Errorf("Profiles after logout --all = %q, want none", got)
	}
	if users := kr.users(); len(users) != 0 {
		t.Errorf("keyring still holds %q after logout --all", users)
	}
	if fp, _ := a.file.Profiles(bg()); len(fp) != 0 {
		t.Errorf("file store still holds %q after logout --all", fp)
	}
}

func TestAutoFallsBackWhenTheKeyringHangs(t *testing.T) {
	fake := newFakeKeyring(0)
	release, _ := blockingKeyring(fake, func(string, string) bool { return true })
	defer release()
	var warn bytes.Buffer
	s, err := Open(bg(), KindAuto, Options{Dir: t.TempDir(), Keyring: fake, Warn: &warn, KeyringTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "file" {
		t.Fatalf("Name = %q with a hung keyring, want file", s.Name())
	}
	if err := s.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "no answer within 50ms") || !strings.Contains(warn.String(), "locked or hung") {
		t.Errorf("notice %q should say the keyring did not answer in time", warn.String())
	}
}
