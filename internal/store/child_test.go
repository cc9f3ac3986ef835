package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// Helper child processes. Some properties need a fresh process: godbus
// caches one session bus connection per process, and flock excludes across
// processes. The parent re-runs this test binary with childEnv set to a
// role, and the child reports what it saw as one JSON line on stdout.

// childReport is what a child prints.
type childReport struct {
	Backend     string `json:"backend"`       // what auto chose
	Notice      string `json:"notice"`        // what auto wrote on Warn
	OpenMillis  int64  `json:"open_millis"`   // how long Open took
	SaveErr     string `json:"save_err"`      // auto's Save
	LoadOK      bool   `json:"load_ok"`       // auto's Load returned the saved token
	KeyringErr  string `json:"keyring_err"`   // the keyring backend's Load
	Unavailable bool   `json:"unavailable"`   // ... was an *UnavailableError
	NotFound    bool   `json:"not_found"`     // ... matched ErrNotFound
	LockErr     string `json:"lock_err"`      // the lock role's result
	LockTimeout bool   `json:"lock_deadline"` // ... was context.DeadlineExceeded
}

// runChild runs the child role with extra environment entries (and with
// DBUS_SESSION_BUS_ADDRESS removed unless given) and returns its report.
func runChild(t *testing.T, role string, env ...string) childReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Env = append(cmd.Env, childEnv+"="+role)
	if slices.Contains(env, hideRunUserEnv+"=1") {
		cmd.SysProcAttr = hiddenRunUserAttr()
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child %s: %v\nstdout: %s\nstderr: %s", role, err, stdout.String(), stderr.String())
	}
	for line := range strings.Lines(stdout.String()) {
		if rest, ok := strings.CutPrefix(line, "REPORT "); ok {
			var r childReport
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("child %s printed no report:\n%s\n%s", role, stdout.String(), stderr.String())
	return childReport{}
}

// TestChildProcess is the child's entry point; in a normal run it does nothing.
func TestChildProcess(t *testing.T) {
	role := os.Getenv(childEnv)
	if role == "" {
		return
	}
	if os.Getenv(hideRunUserEnv) == "1" {
		if err := hideRunUser(); err != nil {
			t.Fatal(err)
		}
	}
	var r childReport
	switch role {
	case "realkeyring":
		r = childRealKeyring(t)
	case "lock":
		r = childLock(t)
	default:
		t.Fatalf("unknown child role %q", role)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("REPORT %s\n", b)
}

// childRealKeyring uses the real OS keyring with whatever session bus (or none)
// the parent arranged, through auto and through the keyring backend.
func childRealKeyring(t *testing.T) childReport {
	dir := os.Getenv("IDCSCTL_STORE_TEST_DIR")
	var r childReport
	var warn bytes.Buffer
	start := time.Now()
	s, err := Open(bg(), KindAuto, Options{Dir: dir, Warn: &warn, KeyringTimeout: 2 * time.Second})
	r.OpenMillis = time.Since(start).Milliseconds()
	if err != nil {
		t.Fatal(err)
	}
	r.Backend = s.Name()
	if err := s.Save(bg(), "dev", smallToken()); err != nil {
		r.SaveErr = err.Error()
	}
	got, err := s.Load(bg(), "dev")
	r.LoadOK = err == nil && got.AccessToken == secretAccess
	r.Notice = warn.String()

	_, err = NewKeyring(Options{Dir: dir, KeyringTimeout: 2 * time.Second}).Load(bg(), "dev")
	if err != nil {
		r.KeyringErr = err.Error()
	}
	var u *UnavailableError
	r.Unavailable = errors.As(err, &u)
	r.NotFound = errors.Is(err, ErrNotFound)
	return r
}

// childLock tries to take a lock the parent holds, for a short while.
func childLock(t *testing.T) childReport {
	ctx, cancel := context.WithTimeout(bg(), 200*time.Millisecond)
	defer cancel()
	var r childReport
	unlock, err := Lock(ctx, os.Getenv("IDCSCTL_STORE_TEST_DIR"), "dev")
	if err != nil {
		r.LockErr = err.Error()
		r.LockTimeout = errors.Is(err, context.DeadlineExceeded)
		return r
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	return r
}
