// Package atomicfile replaces a file's contents so that a reader, or a crash,
// sees the old file or the new one and never a part of either. Every file
// idcsctl writes for the person (tokens, its config, the discovery cache, the
// oci CLI's session files and config, a kubeconfig) goes through it, so the
// one way to get this right lives in one place.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with data: a temporary file in the same folder, given
// mode, written and flushed, then renamed over path, and on Unix the folder
// flushed so the rename itself survives a crash. The folder must exist. On a
// failure path is left as it was and the temporary file is removed.
func Write(path string, data []byte, mode fs.FileMode) error {
	return write(path, data, mode, nil)
}

// WriteKeepingOwner is Write that gives the new file the user and group of
// the file it replaces, so that a person's file rewritten by root (sudo)
// stays theirs, and a file of another user is never quietly taken over by
// the writer. When the owner cannot be kept (only root may give a file
// away), it fails and path is left as it was. A new file belongs to the
// writer, as with Write.
func WriteKeepingOwner(path string, data []byte, mode fs.FileMode) error {
	return write(path, data, mode, func(tmp *os.File) error { return keepOwner(path, tmp) })
}

func write(path string, data []byte, mode fs.FileMode, prepare func(*os.File) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*") // 0600 from the start
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Windows has no Unix modes to set: Chmod there only toggles read-only.
	if err := tmp.Chmod(mode); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("set mode of %s: %w", tmp.Name(), err)
	}
	if prepare != nil {
		if err := prepare(tmp); err != nil {
			return err
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return SyncDir(dir)
}
