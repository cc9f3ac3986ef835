//go:build unix

package store

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

func isWindows() bool { return false }

// ownerUID returns the user id that owns a file.
func ownerUID(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// openTokenFile opens path for reading. O_NOFOLLOW refuses a symlink in the
// last component (the open fails, and Lstat tells a link from other errors);
// O_NONBLOCK keeps a FIFO planted there from blocking the open, and the
// caller's f.Stat then refuses it as not a regular file. On a regular file
// O_NONBLOCK changes nothing.
func openTokenFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
		return nil, errNotRegular
	}
	return nil, err
}
