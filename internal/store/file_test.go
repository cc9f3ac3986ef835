package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFileStoreSaveLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	s := NewFile(dir)
	for range 3 {
		if err := s.Save(bg(), "dev", bigToken()); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"dev.json"}) {
		t.Errorf("tokens folder holds %q, want just dev.json", names)
	}
}

func TestFileStoreFailedReplaceCleansUpAndKeepsWhatWasThere(t *testing.T) {
	dir := t.TempDir()
	s := NewFile(dir)
	// A folder where the token file should be makes the rename fail.
	target := filepath.Join(dir, "tokens", "dev.json")
	if err := os.MkdirAll(filepath.Join(target, "keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := s.Save(bg(), "dev", smallToken())
	if err == nil {
		t.Fatal("Save over a folder succeeded")
	}
	checkNoSecret(t, "failed save error", err.Error())
	if _, err := os.Stat(filepath.Join(target, "keep")); err != nil {
		t.Errorf("the failed save damaged what was there: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "tokens"))
	if len(entries) != 1 {
		t.Errorf("a failed save left %d entries in the tokens folder, want 1", len(entries))
	}
}

func TestFileStoreCorruptFilesAreReportedAndKept(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"truncated JSON", `{"version":1,"token":{"access_token":"` + secretAccess, "not valid JSON"},
		{"empty file", ``, "not valid JSON"},
		{"wrong field type that would echo the value", `{"version":1,"token":{"access_token":"x","expiry":"` + secretRefresh + `"}}`, "token record"},
		{"newer format", `{"version":2,"token":{"access_token":"x"}}`, "version 2"},
		{"no token", `{"version":1}`, "no token"},
		{"not a record at all", `["` + secretID + `"]`, "wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "tokens", "dev.json")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewFile(dir).Load(bg(), "dev")
			var corrupt *CorruptError
			if !errors.As(err, &corrupt) || corrupt.Backend != "file" || corrupt.Profile != "dev" {
				t.Fatalf("Load = %v, want *CorruptError for file/dev", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "idcsctl logout -p dev") {
				t.Errorf("error %q should say %q and how to clear it", err, tt.want)
			}
			checkNoSecret(t, "corrupt file error", err.Error())
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Error("Load changed or removed the corrupt file")
			}
		})
	}
}

func TestFileStoreRefusesAnOversizedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens", "dev.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, maxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	var corrupt *CorruptError
	if _, err := NewFile(dir).Load(bg(), "dev"); !errors.As(err, &corrupt) {
		t.Fatalf("Load of a file over %d bytes = %v, want *CorruptError", maxFileSize, err)
	}
}

func TestFileStoreReportsAnUnusableStateFolder(t *testing.T) {
	// A regular file where the state folder should be: mode bits would not
	// stop root, this does.
	parent := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewFile(filepath.Join(parent, "idcsctl"))
	err := s.Save(bg(), "dev", smallToken())
	if err == nil {
		t.Fatal("Save into a folder under a regular file succeeded")
	}
	checkNoSecret(t, "unusable folder error", err.Error())
	if _, err := s.Load(bg(), "dev"); err == nil {
		t.Error("Load from a folder under a regular file succeeded")
	}
}

func TestFileStoreProfilesIgnoresForeignFiles(t *testing.T) {
	dir := t.TempDir()
	s := NewFile(dir)
	if err := s.Save(bg(), "dev", smallToken()); err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens")
	for _, name := range []string{".dev.json.tmp-123", "notes.txt", ".hidden.json"} {
		if err := os.WriteFile(filepath.Join(tokens, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(tokens, "folder.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := s.Profiles(bg())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"dev"}) {
		t.Errorf("Profiles = %q, want [dev]", got)
	}
}
