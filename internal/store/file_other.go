//go:build !unix

package store

import (
	"fmt"
	"io/fs"
	"os"
	"runtime"
)

func isWindows() bool { return runtime.GOOS == "windows" }

// ownerUID is unknown where files have no Unix owner.
func ownerUID(fs.FileInfo) (int, bool) { return 0, false }

// openTokenFile opens path for reading, refusing a symlink. Without
// O_NOFOLLOW the link is checked with Lstat before the open, and the opened
// file compared with what Lstat saw; when another process's Save renamed a
// new file into place in between, the check and the open are simply
// repeated (a few times at most: a Save is rare and quick).
func openTokenFile(path string) (*os.File, error) {
	for range 5 {
		li, err := os.Lstat(path)
		if err != nil {
			return nil, err
		}
		if li.Mode()&fs.ModeSymlink != 0 {
			return nil, errNotRegular
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if os.SameFile(li, fi) {
			return f, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("token file %s kept being replaced while it was opened: another idcsctl is saving it; try again", path)
}
