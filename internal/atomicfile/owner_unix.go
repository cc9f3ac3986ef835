//go:build unix

package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives tmp the user and group of the file at path, when there
// is one and they differ from tmp's.
func keepOwner(path string, tmp *os.File) error {
	old, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	cur, err := tmp.Stat()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	o, ok1 := old.Sys().(*syscall.Stat_t)
	n, ok2 := cur.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 || o.Uid == n.Uid && o.Gid == n.Gid {
		return nil
	}
	if err := tmp.Chown(int(o.Uid), int(o.Gid)); err != nil {
		return fmt.Errorf("%s belongs to uid %d (group %d), and replacing it would give it to uid %d: %w; run idcsctl as its owner", path, o.Uid, o.Gid, n.Uid, err)
	}
	return nil
}
