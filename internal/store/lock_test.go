package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLockExcludesASecondHolderUntilUnlocked(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(bg(), dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg(), 100*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, dir, "dev"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock while the first is held = %v, want context.DeadlineExceeded", err)
	}
	// Another profile is not blocked.
	other, err := Lock(bg(), dir, "prod")
	if err != nil {
		t.Fatalf("Lock of another profile = %v", err)
	}
	if err := other(); err != nil {
		t.Fatal(err)
	}

	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(bg(), 10*time.Second)
	defer cancel2()
	unlock2, err := Lock(ctx2, dir, "dev")
	if err != nil {
		t.Fatalf("Lock after unlock = %v", err)
	}
	if err := unlock2(); err != nil {
		t.Fatal(err)
	}
}

func TestLockWaitEndsWhenTheContextIsCancelled(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(bg(), dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(bg())
	result := make(chan error, 1)
	go func() {
		_, err := Lock(ctx, dir, "dev")
		result <- err
	}()
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Lock after cancel = %v, want context.Canceled", err)
	}
}

func TestLockWaiterGetsTheLockWhenItIsReleased(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(bg(), dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg(), 30*time.Second)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		u, err := Lock(ctx, dir, "dev")
		if err == nil {
			err = u()
		}
		got <- err
	}()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiter = %v, want the lock once released", err)
	}
}

func TestLockExcludesAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(bg(), dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	r := runChild(t, "lock", "IDCSCTL_STORE_TEST_DIR="+dir)
	if !r.LockTimeout {
		t.Fatalf("a second process took or failed the lock differently while it was held: %q", r.LockErr)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if r := runChild(t, "lock", "IDCSCTL_STORE_TEST_DIR="+dir); r.LockErr != "" {
		t.Fatalf("a second process could not lock after release: %s", r.LockErr)
	}
}

func TestUnlockIsIdempotent(t *testing.T) {
	unlock, err := Lock(bg(), t.TempDir(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := unlock(); err != nil {
			t.Fatalf("unlock #%d = %v", i+1, err)
		}
	}
}

func TestLockRefusesBadInput(t *testing.T) {
	if _, err := Lock(bg(), t.TempDir(), "../escape"); err == nil {
		t.Error("Lock with a path in the profile name succeeded")
	}
	if _, err := Lock(bg(), "", "dev"); err == nil {
		t.Error("Lock without a folder succeeded")
	}
}

func TestLockWaitSaysWhoHoldsTheLockAndEndsAtTheDeadline(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockWith(context.Background(), dir, "p", LockOptions{Purpose: "signing in"})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var notice bytes.Buffer
	_, err = LockWith(ctx, dir, "p", LockOptions{Purpose: "refreshing its tokens", Notice: &notice, NoticeAfter: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LockWith = %v, want the deadline", err)
	}
	want := fmt.Sprintf("another idcsctl (pid %d) is signing in", os.Getpid())
	if !strings.Contains(notice.String(), want) || !strings.Contains(notice.String(), "at most") {
		t.Errorf("notice %q does not say %q and how long it waits", notice.String(), want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say who held the lock", err)
	}
	// Once released, the note is gone: the next waiter does not blame a
	// process that has finished.
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if got := holderOf(dir + "/p.lock"); strings.Contains(got, "pid") {
		t.Errorf("after unlock the holder is still named: %q", got)
	}
}
