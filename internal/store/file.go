package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
)

const (
	tokensFolder = "tokens"
	fileSuffix   = ".json"
	// maxFileSize bounds what Load reads: a token record is a few KB, so
	// anything past 1 MiB is not ours and is reported as corrupt.
	maxFileSize = 1 << 20
)

// fileStore keeps one JSON record per profile in <dir>/tokens/<profile>.json.
//
// Mode policy. Folders are repaired: every Save makes <dir> and <dir>/tokens
// 0700, since a loose folder exposes only file names. A token file whose mode
// lets the group or others in, or that another user owns, is refused by Load:
// its tokens may already have been read or planted, and quietly fixing the
// mode would hide that. The error says to log out and sign in again (which
// replaces the file with a fresh 0600 one) or chmod it. On Windows the mode
// bits mean nothing and these checks are skipped; the file lives in the
// user's profile folder, which only that user can read by default.
type fileStore struct {
	dir string
	now func() time.Time
	uid int // the user whose token files these are: os.Getuid(), or another in tests
}

// NewFile returns the file store rooted at dir (the Options.Dir folder).
// It creates nothing until the first Save.
func NewFile(dir string) Store {
	return &fileStore{dir: dir, now: time.Now, uid: os.Getuid()}
}

func (s *fileStore) Name() string { return "file" }

func (s *fileStore) folder() string { return filepath.Join(s.dir, tokensFolder) }

func (s *fileStore) path(profile string) string {
	return filepath.Join(s.folder(), profile+fileSuffix)
}

func (s *fileStore) Load(ctx context.Context, profile string) (*Token, error) {
	t, _, err := s.load(ctx, profile)
	return t, err
}

// load returns the token and when it was saved.
func (s *fileStore) load(_ context.Context, profile string) (*Token, time.Time, error) {
	if err := checkProfile(profile); err != nil {
		return nil, time.Time{}, err
	}
	path := s.path(profile)
	b, err := readPrivateFile(path, profile, s.uid)
	if err != nil {
		return nil, time.Time{}, err
	}
	t, saved, err := decodeRecord(b)
	if err != nil {
		return nil, time.Time{}, &CorruptError{Backend: "file", Profile: profile, Err: fmt.Errorf("%s: %w", path, err)}
	}
	return t, saved, nil
}

// readPrivateFile reads a token file after checking that it is a regular
// file only its owner, the user uid, can read or write.
//
// It opens first and checks the file it opened (f.Stat), never the path
// before opening it: another process's Save renames a new file into place
// at any moment, and a check of the path followed by an open would compare
// two different files. Whatever file the open gets, old or new, is whole
// (Save never writes in place) and is the one checked and read.
func readPrivateFile(path, profile string, uid int) ([]byte, error) {
	f, err := openTokenFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (profile %q)", ErrNotFound, profile)
	}
	if errors.Is(err, errNotRegular) {
		return nil, notRegular(path, profile)
	}
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, profile)
	}
	if err := checkPrivate(fi, path, profile, uid); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read token file %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, &CorruptError{Backend: "file", Profile: profile, Err: fmt.Errorf("%s is larger than %d bytes", path, maxFileSize)}
	}
	return b, nil
}

func notRegular(path, profile string) error {
	return &UnsafeFileError{Path: path, Profile: profile, Problem: "is not a regular file (idcsctl never writes links or devices there)"}
}

// errNotRegular is openTokenFile's answer for a symlink in place of a token
// file, which is never followed: idcsctl never writes one, so it was planted.
var errNotRegular = errors.New("not a regular file")

func (s *fileStore) Save(_ context.Context, profile string, t *Token) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	if t == nil {
		return fmt.Errorf("save token of profile %q: no token given", profile)
	}
	b, err := encodeRecord(t, s.now())
	if err != nil {
		return err
	}
	if err := ensurePrivateDir(s.dir); err != nil {
		return err
	}
	if err := ensurePrivateDir(s.folder()); err != nil {
		return err
	}
	if err := atomicfile.Write(s.path(profile), b, 0o600); err != nil {
		return fmt.Errorf("save token of profile %q: %w", profile, err)
	}
	return nil
}

// ensurePrivateDir creates dir 0700 whatever the umask. A folder that
// already exists keeps its mode: idcsctl never changes the permissions of a
// folder it did not create (the config folder may be the person's, and a
// config folder others can write is refused when the config is read). A
// folder owned by another user is refused.
func ensurePrivateDir(dir string) error {
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state folder %s is not a folder", dir)
	}
	if isWindows() {
		return nil
	}
	if uid, ok := ownerUID(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("state folder %s belongs to another user (uid %d): choose a folder of your own", dir, uid)
	}
	if created && fi.Mode().Perm()&0o077 != 0 {
		// Only a folder made just now: MkdirAll's mode went through the umask.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make state folder %s private (mode %04o): %w", dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// checkPrivate refuses a token file that others could read or write, or that
// another user than uid owns.
func checkPrivate(fi fs.FileInfo, path, profile string, uid int) error {
	if isWindows() {
		return nil
	}
	if owner, ok := ownerUID(fi); ok && owner != uid {
		return &UnsafeFileError{Path: path, Profile: profile, Problem: fmt.Sprintf("belongs to another user (uid %d), so idcsctl will not use it", owner)}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &UnsafeFileError{Path: path, Profile: profile,
			Problem: fmt.Sprintf("has mode %04o, so other users could read or change it and its tokens may be exposed", perm),
			Fix:     fmt.Sprintf("or `chmod 600 %s` if you are sure nobody did", path)}
	}
	return nil
}

func (s *fileStore) Delete(_ context.Context, profile string) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	err := os.Remove(s.path(profile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete token of profile %q: %w", profile, err)
	}
	return atomicfile.SyncDir(s.folder())
}

func (s *fileStore) Profiles(_ context.Context) ([]string, error) {
	return listProfiles(s.folder(), fileSuffix)
}

// listProfiles returns the sorted valid profile names of the files in dir
// that end in suffix; a missing dir holds none.
func listProfiles(dir, suffix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), suffix)
		if ok && e.Type().IsRegular() && checkProfile(name) == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}
