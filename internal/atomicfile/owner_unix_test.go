//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/idcsctl/idcsctl/internal/testenv"
)

func owner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

func TestWriteKeepingOwnerKeepsTheOwnerOfTheFileItReplaces(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, errors.New("giving a file to another user needs root (CI runs as root)"))
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 4242, 4343); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeepingOwner(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if uid, gid := owner(t, path); uid != 4242 || gid != 4343 {
		t.Fatalf("owner after the write = %d:%d, want 4242:4343", uid, gid)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Fatalf("contents %q", b)
	}
	// Write, by contrast, gives the file to the writer.
	if err := Write(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if uid, _ := owner(t, path); uid != 0 {
		t.Fatalf("Write kept uid %d", uid)
	}
	// A new file is the writer's.
	fresh := filepath.Join(dir, "fresh")
	if err := WriteKeepingOwner(fresh, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid, _ := owner(t, fresh); uid != 0 {
		t.Fatalf("a new file belongs to uid %d", uid)
	}
}
