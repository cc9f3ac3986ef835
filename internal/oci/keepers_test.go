package oci

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKeepersListsTheLiveAndForgetsTheDead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keepers")
	since := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	release, err := Announce(dir, KeeperRecord{PID: 4242, Profile: "work", Name: "idcsctl-work", ConfigPath: "/c", Command: "exec", Since: since})
	if err != nil {
		t.Fatal(err)
	}
	// A keeper killed outright (kill -9) leaves its record, not its lock.
	dead := filepath.Join(dir, "999.json")
	if err := os.WriteFile(dead, []byte(`{"pid":999,"profile":"work","name":"old","command":"exec"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Keepers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PID != 4242 || got[0].Name != "idcsctl-work" || got[0].Command != "exec" || !got[0].Since.Equal(since) {
		t.Fatalf("Keepers = %+v, want the live keeper alone", got)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead keeper's record is still there (%v)", err)
	}
	for _, f := range []string{"4242.json", "4242.lock"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	// A second announcement of the same process is refused while the
	// first holds its lock.
	if _, err := Announce(dir, KeeperRecord{PID: 4242}); err == nil {
		t.Error("a second announcement under a held lock was taken")
	}
	release()
	if got, err := Keepers(dir); err != nil || len(got) != 0 {
		t.Fatalf("after release Keepers = %+v, %v; want none", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("release left %d files behind", len(entries))
	}
}
