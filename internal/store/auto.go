package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
)

const fallbackFolder = "fallback"

// autoStore uses the keyring while it answers and the file store otherwise.
//
// Reading prefers the newer of the keyring entry and a file entry left by an
// earlier fallback (each record carries when it was saved). A successful
// keyring Save removes the file entry, so tokens move back into the keyring
// once it works again. Delete removes the entry from both, so logout leaves
// nothing behind in either.
type autoStore struct {
	kr   *keyringStore
	file *fileStore
	dir  string
	warn io.Writer

	mu   sync.Mutex
	down *UnavailableError // why the keyring is not used; nil while it answers
}

func openAuto(ctx context.Context, opts Options) (Store, error) {
	a := &autoStore{
		kr:   newKeyring(opts),
		file: &fileStore{dir: opts.Dir, now: time.Now, uid: os.Getuid()},
		dir:  opts.Dir,
		warn: opts.Warn,
	}
	err := a.kr.probe(ctx)
	var u *UnavailableError
	switch {
	case err == nil:
		// The keyring works (again): a later failure deserves a fresh notice.
		_ = os.RemoveAll(filepath.Join(a.dir, fallbackFolder))
	case errors.As(err, &u):
		a.down = u
	default:
		return nil, fmt.Errorf("open token store: %w", err)
	}
	return a, nil
}

// Name reports the backend in use: "keyring", or "file" after a fallback.
func (a *autoStore) Name() string {
	if a.state() == nil {
		return "keyring"
	}
	return "file"
}

func (a *autoStore) state() *UnavailableError {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.down
}

// markDown switches to the file store for the rest of this store's life: a
// keyring that stopped answering mid-command is not asked again.
func (a *autoStore) markDown(u *UnavailableError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down == nil {
		a.down = u
	}
}

func (a *autoStore) Load(ctx context.Context, profile string) (*Token, error) {
	if err := checkProfile(profile); err != nil {
		return nil, err
	}
	if a.state() == nil {
		kt, ksaved, kerr := a.kr.load(ctx, profile)
		var u *UnavailableError
		if !errors.As(kerr, &u) {
			ft, fsaved, ferr := a.file.load(ctx, profile)
			switch {
			case kerr == nil:
				if ferr == nil && fsaved.After(ksaved) {
					return ft, nil
				}
				return kt, nil
			case errors.Is(kerr, ErrNotFound):
				return ft, ferr
			default:
				return nil, kerr
			}
		}
		a.markDown(u)
	}
	// No notice here: a command that only reads stores nothing, and the
	// tokens it finds in the file were announced when they were saved.
	down := a.state()
	t, err := a.file.Load(ctx, profile)
	if errors.Is(err, ErrNotFound) && a.kr.indexed(profile) {
		// Saying "not signed in" would send the user through a new sign-in
		// while the real problem is a locked or missing keyring.
		return nil, fmt.Errorf("the token of profile %q is in the keyring, which cannot be used now: %w", profile, down)
	}
	return t, err
}

func (a *autoStore) Save(ctx context.Context, profile string, t *Token) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	if a.state() == nil {
		err := a.kr.Save(ctx, profile, t)
		if err == nil {
			// The file copy from an earlier fallback is now stale; a failure
			// here is harmless because Load prefers the newer record.
			_ = a.file.Delete(ctx, profile)
			return nil
		}
		var u *UnavailableError
		if !errors.As(err, &u) {
			return err
		}
		a.markDown(u)
	}
	a.notice(a.state())
	return a.file.Save(ctx, profile, t)
}

func (a *autoStore) Delete(ctx context.Context, profile string) error {
	if err := checkProfile(profile); err != nil {
		return err
	}
	ferr := a.file.Delete(ctx, profile)
	var kerr error
	if a.state() == nil {
		kerr = a.kr.Delete(ctx, profile)
		var u *UnavailableError
		if errors.As(kerr, &u) {
			a.markDown(u)
			kerr = nil
		}
	}
	if down := a.state(); down != nil && a.kr.indexed(profile) {
		kerr = fmt.Errorf("the keyring may still hold the token of profile %q: %w", profile, down)
	}
	return errors.Join(ferr, kerr)
}

// Profiles lists the profiles with an entry in either backend.
func (a *autoStore) Profiles(ctx context.Context) ([]string, error) {
	kp, err := a.kr.Profiles(ctx)
	if err != nil {
		return nil, err
	}
	fp, err := a.file.Profiles(ctx)
	if err != nil {
		return nil, err
	}
	all := append(kp, fp...)
	slices.Sort(all)
	return slices.Compact(all), nil
}

// noticeMarker remembers, in <dir>/fallback, the cause of the last
// fallback notice, so it is said once per machine (per state folder) and
// cause, not once per profile or command. openAuto removes the folder when
// the keyring answers again, so a later failure is news again.
const noticeMarker = "notice"

// notice writes the one-line fallback notice, with the fix, unless it was
// written already for the same cause. Only Save calls it: a command that
// stores nothing has nothing to announce.
func (a *autoStore) notice(u *UnavailableError) {
	cause := oneLine(u.Reason)
	if u.Err != nil && !strings.Contains(u.Reason, u.Err.Error()) {
		cause += ": " + oneLine(u.Err.Error())
	}
	folder := filepath.Join(a.dir, fallbackFolder)
	marker := filepath.Join(folder, noticeMarker)
	if b, err := os.ReadFile(marker); err == nil && bytes.Equal(b, []byte(cause)) {
		return
	}
	fmt.Fprintf(a.warn, "idcsctl: no usable keyring (%s), so tokens are kept in 0600 files in %s; said once. Fix: %s\n",
		cause, a.file.folder(), oneLine(u.Fix))
	if ensurePrivateDir(a.dir) == nil && ensurePrivateDir(folder) == nil {
		_ = atomicfile.Write(marker, []byte(cause), 0o600)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
