package store

import (
	"context"
	"fmt"
	"path/filepath"
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
	ok, err := fl.TryLockContext(ctx, lockPoll)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for the lock of profile %q (another idcsctl is using it): %w", profile, context.Cause(ctx))
		}
		return nil, fmt.Errorf("lock profile %q with %s: %w", profile, path, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock profile %q: lock not taken", profile)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			if err := fl.Unlock(); err != nil {
				uerr = fmt.Errorf("unlock profile %q: %w", profile, err)
			}
		})
		return uerr
	}, nil
}
