package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// lockPoll is how often Lock retries while another process holds the lock.
const lockPoll = 25 * time.Millisecond

// Lock takes the per-profile lock shared by every idcsctl process of this
// user: an exclusive flock on "<dir>/<profile>.lock" (created 0600, never
// removed, since removing a lock file races with the next locker). It waits
// until the lock is free or ctx ends. The lock is released by unlock (safe to
// call more than once) or when the process exits. Two Lock calls in one
// process exclude each other too, because each opens its own file.
func Lock(ctx context.Context, dir, profile string) (unlock func() error, err error) {
	return LockWith(ctx, dir, profile, LockOptions{})
}

// LockOptions say why a lock is taken and who hears about a long wait.
type LockOptions struct {
	// Purpose is what this process does while it holds the lock, written
	// into the lock file for a waiting process to show: "signing in",
	// "refreshing its tokens".
	Purpose string
	// Notice, when set, is told once the wait has lasted NoticeAfter (a
	// second by default): who holds the lock, and how long this process
	// will wait (its context's deadline), so a wait never looks like a hang.
	Notice      io.Writer
	NoticeAfter time.Duration
}

// DefaultLockNotice is how long a wait for the lock lasts before it is
// announced.
const DefaultLockNotice = time.Second

// LockWith is Lock that records its purpose in the lock file while it
// holds the lock, and announces a long wait.
func LockWith(ctx context.Context, dir, profile string, o LockOptions) (unlock func() error, err error) {
	if err := checkProfile(profile); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("lock profile %q: no state folder given", profile)
	}
	if err := ensurePrivateDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, profile+".lock")
	fl := flock.New(path, flock.SetPermissions(0o600))
	if o.Notice != nil {
		after := o.NoticeAfter
		if after <= 0 {
			after = DefaultLockNotice
		}
		stop := announceWait(ctx, path, profile, after, o.Notice)
		defer stop()
	}
	ok, err := fl.TryLockContext(ctx, lockPoll)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for the lock of profile %q (%s): %w", profile, holderOf(path), context.Cause(ctx))
		}
		return nil, fmt.Errorf("lock profile %q with %s: %w", profile, path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock profile %q: lock not taken", profile)
	}
	if o.Purpose != "" {
		// Best effort: the note only helps a waiting process explain itself.
		_ = os.WriteFile(path, fmt.Appendf(nil, "%d %s\n", os.Getpid(), o.Purpose), 0o600)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			if o.Purpose != "" {
				_ = os.Truncate(path, 0)
			}
			if err := fl.Unlock(); err != nil {
				uerr = fmt.Errorf("unlock profile %q: %w", profile, err)
			}
		})
		return uerr
	}, nil
}

// announceWait tells w, once after has passed and the lock is still not
// taken, who holds it and how long this process will wait. stop ends it
// and returns once nothing more will be written.
func announceWait(ctx context.Context, path, profile string, after time.Duration, w io.Writer) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTimer(after)
		defer t.Stop()
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		until := "until it is free (Ctrl-C to stop)"
		if d, ok := ctx.Deadline(); ok {
			until = fmt.Sprintf("at most %s more (the timeout), then giving up", time.Until(d).Round(100*time.Millisecond))
		}
		fmt.Fprintf(w, "Waiting for profile %q: %s; waiting %s...\n", profile, holderOf(path), until)
	}()
	return func() {
		close(done)
		<-finished
	}
}

// holderOf says who holds the lock, from the note its holder wrote.
func holderOf(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "another idcsctl is using it"
	}
	pid, purpose, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if _, perr := strconv.Atoi(pid); !ok || perr != nil || purpose == "" || len(purpose) > 64 {
		return "another idcsctl is using it"
	}
	return fmt.Sprintf("another idcsctl (pid %s) is %s", pid, printableNote(purpose))
}

// printableNote keeps a lock note, which any process of the user could
// have written, from carrying control characters to the terminal.
func printableNote(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
