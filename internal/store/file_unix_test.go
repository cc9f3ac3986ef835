//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFileStoreWritesA0600FileIn0700Folders(t *testing.T) {
	// Loose umask and a loose pre-existing state folder: the folders the
	// store makes are 0700 whatever the umask, and the folder it did not
	// make keeps its mode (idcsctl never changes what it did not create).
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := NewFile(dir)
	if err := s.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                                      0o755,
		filepath.Join(dir, "tokens"):             0o700,
		filepath.Join(dir, "tokens", "dev.json"): 0o600,
	} {
		if got := mode(t, path); got != want {
			t.Errorf("mode of %s = %04o, want %04o", path, got, want)
		}
	}
}

func TestFileStoreRefusesATokenFileOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	s := NewFile(dir)
	if err := s.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokens", "dev.json")
	for _, perm := range []os.FileMode{0o644, 0o640, 0o606, 0o660} {
		if err := os.Chmod(path, perm); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(bg(), "dev")
		if err == nil {
			t.Fatalf("Load of a %04o token file succeeded", perm)
		}
		for _, want := range []string{path, "logout -p dev", "chmod 600"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if errors.Is(err, ErrNotFound) {
			t.Error("a loose token file is reported as not found, which would start a new sign-in silently")
		}
		checkNoSecret(t, "loose mode error", err.Error())
		if got := mode(t, path); got != perm {
			t.Errorf("Load changed the mode to %04o; it must refuse, not repair silently", got)
		}
	}
	// Signing in again writes a fresh private file.
	if err := s.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	if got := mode(t, path); got != 0o600 {
		t.Errorf("mode after Save = %04o, want 0600", got)
	}
	if _, err := s.Load(bg(), "dev"); err != nil {
		t.Errorf("Load after Save = %v", err)
	}
}

// TestFileStoreRefusesATokenFileOfAnotherUser: giving a file to another user
// needs root, so the store is told it works for another user instead; the
// file's real owner, read from the opened file, is then not that user.
func TestFileStoreRefusesATokenFileOfAnotherUser(t *testing.T) {
	dir := t.TempDir()
	if err := NewFile(dir).Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	other := NewFile(dir).(*fileStore)
	other.uid = os.Getuid() + 4242
	_, err := other.Load(bg(), "dev")
	want := fmt.Sprintf("belongs to another user (uid %d)", os.Getuid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Load of a file owned by uid %d for uid %d = %v, want a refusal saying it %s", os.Getuid(), other.uid, err, want)
	}
	if _, err := NewFile(dir).Load(bg(), "dev"); err != nil {
		t.Errorf("its owner cannot load it: %v", err)
	}
}

func TestFileStoreRefusesLinksAndSpecialFiles(t *testing.T) {
	tests := []struct {
		name string
		make func(path string) error
	}{
		{"symbolic link", func(path string) error {
			target := filepath.Join(filepath.Dir(path), "elsewhere.txt")
			if err := os.WriteFile(target, []byte(`{"version":1,"token":{}}`), 0o600); err != nil {
				return err
			}
			return os.Symlink(target, path)
		}},
		// Opening a FIFO would block forever; the store must not try.
		{"named pipe", func(path string) error { return syscall.Mkfifo(path, 0o600) }},
		{"folder", func(path string) error { return os.Mkdir(path, 0o700) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tt.make(filepath.Join(dir, "tokens", "dev.json")); err != nil {
				t.Fatal(err)
			}
			_, err := NewFile(dir).Load(bg(), "dev")
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Fatalf("Load = %v, want a refusal saying it is not a regular file", err)
			}
		})
	}
}

func TestLockFileIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	unlock, err := Lock(bg(), dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	for path, want := range map[string]uint32{dir: 0o700, filepath.Join(dir, "dev.lock"): 0o600} {
		if got := uint32(mode(t, path)); got != want {
			t.Errorf("mode of %s = %04o, want %04o", path, got, want)
		}
	}
}
