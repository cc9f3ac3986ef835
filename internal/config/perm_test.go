//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRefusesAConfigOthersCanChange(t *testing.T) {
	for _, tc := range []struct {
		name          string
		dirMode, mode os.FileMode
		want          string // "" = loads
	}{
		{"private", 0o700, 0o600, ""},
		{"readable by others is fine", 0o755, 0o644, ""},
		{"file writable by the group", 0o700, 0o620, "config.toml: it can be changed by other users (mode 0620).*run `chmod go-w "},
		{"file writable by anyone", 0o700, 0o666, "(mode 0666)"},
		{"folder writable by anyone", 0o777, 0o600, "its folder .*idcsctl can be changed by other users (mode 0777).*run `chmod go-w "},
		{"sticky folder is no place either", os.ModeSticky | 0o777, 0o600, "its folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "idcsctl")
			path := filepath.Join(dir, "config.toml")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("[profiles.a]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.dirMode); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Load = %v", err)
				}
				return
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load = %v, want a *config.Error", err)
			}
			for _, part := range strings.Split(tc.want, ".*") {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q lacks %q", err, part)
				}
			}
			// Refused, not repaired: the modes are as they were.
			if fi, _ := os.Stat(dir); fi.Mode()&(os.ModePerm|os.ModeSticky) != tc.dirMode&(os.ModePerm|os.ModeSticky) {
				t.Errorf("folder mode changed to %v", fi.Mode())
			}
		})
	}
}

func TestLoadRefusesAConfigOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(""), 0o600); err != nil {
		t.Fatal(err)
	}
	// Running as root, root-owned files are the user's own; hand the file
	// to uid 4242 and pretend nothing else changed.
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "it belongs to another user (uid 4242)") || !strings.Contains(err.Error(), "chown") {
		t.Fatalf("Load = %v, want a refusal with the chown fix", err)
	}
}
