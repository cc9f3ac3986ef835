//go:build !unix

package store

import (
	"io/fs"
	"runtime"
)

func isWindows() bool { return runtime.GOOS == "windows" }

// ownerUID is unknown where files have no Unix owner.
func ownerUID(fs.FileInfo) (int, bool) { return 0, false }

// syncDir does nothing: Go cannot open a folder for flushing on Windows, and
// NTFS journals the rename's metadata itself.
func syncDir(string) error { return nil }
