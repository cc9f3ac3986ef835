//go:build linux

package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/idcsctl/idcsctl/internal/secretservice"
)

// These tests run the real OS keyring code (go-keyring, godbus) in a fresh
// child process, because godbus keeps the first session bus connection of a
// process for good.

func TestRealKeyringWithoutAReachableSessionBus(t *testing.T) {
	tests := []struct {
		name       string
		env        func(t *testing.T) []string
		wantReason string
	}{
		{
			name: "address names a socket that does not exist",
			env: func(t *testing.T) []string {
				return []string{"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-such-bus")}
			},
			wantReason: "cannot connect to the D-Bus session bus",
		},
		{
			name: "address is not set",
			env: func(t *testing.T) []string {
				// godbus finds a session bus at /run/user/UID/bus without
				// the variable, so the child runs where /run/user is
				// empty; without namespaces, only a machine with no such
				// socket can run this test.
				var hide []string
				if err := canHideRunUser(); err == nil {
					hide = []string{hideRunUserEnv + "=1"}
				} else if _, serr := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); serr == nil {
					secretservice.SkipOrFail(t, fmt.Errorf("this user has a session bus at /run/user/UID/bus, which godbus finds without the variable, and %w", err))
				}
				// A dbus-launch first on PATH that leaves a mark: godbus
				// would run it to start a bus of its own, and must not.
				bin := t.TempDir()
				script := "#!/bin/sh\ntouch " + filepath.Join(bin, "launched") + "\nexit 1\n"
				if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if _, err := os.Stat(filepath.Join(bin, "launched")); err == nil {
						t.Error("the keyring code ran dbus-launch, which leaves a stray session bus behind every command")
					}
				})
				return append(hide, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
			},
			wantReason: "no D-Bus session bus",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := append(tt.env(t), "IDCSCTL_STORE_TEST_DIR="+dir)
			r := runChild(t, "realkeyring", env...)
			checkFallback(t, r, tt.wantReason)
		})
	}
}

func TestRealKeyringWithALockedCollection(t *testing.T) {
	env := secretservice.Start(t)
	addr := strings.TrimPrefix(env[0], "DBUS_SESSION_BUS_ADDRESS=")
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err = conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}).
		Store(&locked, &prompt)
	if err != nil || len(locked) != 1 {
		t.Fatalf("lock the login collection: %v (locked %v)", err, locked)
	}
	dir := t.TempDir()
	r := runChild(t, "realkeyring", append(env, "IDCSCTL_STORE_TEST_DIR="+dir)...)
	checkFallback(t, r, "locked")
}

// checkFallback checks a child's report: auto fell back to the file store
// within the keyring timeout and said why; the keyring backend failed with
// the reason instead of claiming there is no token.
func checkFallback(t *testing.T, r childReport, wantReason string) {
	t.Helper()
	if r.Backend != "file" {
		t.Errorf("auto chose %q, want file", r.Backend)
	}
	if r.OpenMillis >= 2000 {
		t.Errorf("auto took %d ms to decide, want less than the 2 s keyring timeout", r.OpenMillis)
	}
	if r.SaveErr != "" || !r.LoadOK {
		t.Errorf("auto save/load through the fallback failed: save %q, load ok %v", r.SaveErr, r.LoadOK)
	}
	if !strings.Contains(r.Notice, wantReason) || strings.Count(r.Notice, "\n") != 1 {
		t.Errorf("notice %q should be one line saying %q", r.Notice, wantReason)
	}
	if !r.Unavailable || r.NotFound || !strings.Contains(r.KeyringErr, wantReason) || !strings.Contains(r.KeyringErr, "--token-store file") {
		t.Errorf("keyring backend error %q (unavailable %v, not found %v), want an UnavailableError saying %q and offering the file store",
			r.KeyringErr, r.Unavailable, r.NotFound, wantReason)
	}
	checkNoSecret(t, "notice", r.Notice)
	checkNoSecret(t, "keyring error", r.KeyringErr)
}
