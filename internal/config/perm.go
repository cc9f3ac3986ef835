package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// checkPermissions refuses a config file, or the folder that holds it, that
// another user owns or that others can write, as ssh does with its own
// files: the config decides where tokens may be sent (allowed_hosts), which
// CAs are trusted (ca_file), and the folder holds the tokens and locks. A
// missing file or folder is fine (nothing to trust yet). idcsctl does not
// repair the mode itself: the folder may not be its own, and a silent fix
// would hide that someone could have changed the file. The error names the
// chmod or chown that fixes it.
func checkPermissions(path string) error {
	if runtime.GOOS == "windows" {
		return nil // modes do not apply; the profile folder is the user's own
	}
	for _, c := range []struct{ path, what string }{
		{filepath.Dir(path), "its folder " + filepath.Dir(path)},
		{path, "it"},
	} {
		fi, err := os.Stat(c.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return &Error{Path: path, Problem: fmt.Sprintf("cannot check the permissions of %s: %v", c.path, err)}
		}
		if owner, ok := fileOwner(fi); ok && owner != os.Getuid() && owner != 0 {
			return &Error{Path: path, Problem: fmt.Sprintf("%s belongs to another user (uid %d), who could change where your tokens are sent; if it is yours, run `chown %d %s`", c.what, owner, os.Getuid(), c.path)}
		}
		// A sticky folder (like /tmp) lets others add files but not
		// replace this one; it is still no place for a config.
		if perm := fi.Mode().Perm(); perm&0o022 != 0 {
			return &Error{Path: path, Problem: fmt.Sprintf("%s can be changed by other users (mode %04o), who could change where your tokens are sent and which CAs are trusted: run `chmod go-w %s`", c.what, perm, c.path)}
		}
	}
	return nil
}
