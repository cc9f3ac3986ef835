//go:build unix

package ocir

import (
	"io/fs"
	"syscall"
)

// fileOwner is a file's user and group, so a rewrite can give it back.
func fileOwner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
