package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCanSaveTellsBeforeASignInWhetherTokensCanBeKept(t *testing.T) {
	ctx := context.Background()
	good := t.TempDir()
	if err := CanSave(ctx, NewFile(good)); err != nil {
		t.Errorf("file store in a fresh folder: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(good, "tokens")); len(entries) != 0 {
		t.Errorf("the check left %d files behind", len(entries))
	}
	blocked := t.TempDir()
	if err := os.WriteFile(filepath.Join(blocked, "tokens"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CanSave(ctx, NewFile(blocked)); err == nil {
		t.Error("a file in place of the tokens folder passed the check")
	}
	for _, s := range []Store{NewMemory(), NewNone()} {
		if err := CanSave(ctx, s); err != nil {
			t.Errorf("%s store: %v", s.Name(), err)
		}
	}
}
