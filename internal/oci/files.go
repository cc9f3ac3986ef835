package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// checkWritable refuses to write a session beside files others could
// change: an OCI config, its folder or the sessions folder that a group or
// other users can write (they could point the oci CLI at a key or token of
// their own, or swap the files idcsctl writes), as idcsctl refuses its own
// config. The error names the chmod that fixes it. Missing ones are fine:
// idcsctl makes them private.
func checkWritable(p Paths) error {
	if runtime.GOOS == "windows" {
		return nil // modes do not apply; the profile folder is the user's own
	}
	for _, c := range []struct{ path, what string }{
		{filepath.Dir(p.Config), "its folder " + filepath.Dir(p.Config)},
		{p.Config, "it"},
		{filepath.Dir(p.Dir), "the sessions folder " + filepath.Dir(p.Dir)},
	} {
		fi, err := os.Stat(c.path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return &ConfigError{Path: p.Config, Problem: fmt.Sprintf("cannot check the permissions of %s: %v", c.path, err)}
		}
		if perm := fi.Mode().Perm(); perm&0o022 != 0 {
			return &ConfigError{Path: p.Config, Problem: fmt.Sprintf("%s can be changed by other users (mode %04o), who could point the oci CLI at a key or token of their own: run `chmod go-w %s`", c.what, perm, c.path)}
		}
	}
	return nil
}

// checkSessionDir refuses a session folder that is a symbolic link, as a
// folder idcsctl did not create is refused: writing through it would put
// the key and token wherever it points (and logout would empty that).
func checkSessionDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	return fmt.Errorf("session folder %s is a symbolic link, %w (idcsctl writes only into a folder of its own): pass another session name, or remove the link yourself", dir, ErrNotOurs)
}

// created says which of a session's surroundings did not exist before
// Ensure wrote them, so that Remove can take exactly them away again.
type created struct {
	configDir, config, sessionsDir bool
}

func missing(path string) bool {
	_, err := os.Lstat(path)
	return errors.Is(err, fs.ErrNotExist)
}

func surroundings(p Paths) created {
	return created{
		configDir:   missing(filepath.Dir(p.Config)),
		config:      missing(p.Config),
		sessionsDir: missing(filepath.Dir(p.Dir)),
	}
}
