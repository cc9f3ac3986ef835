package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra/doc"
)

var update = flag.Bool("update", false, "rewrite docs/reference from the command tree")

// TestReferenceIsCurrent fails when docs/reference no longer matches the
// command tree. Regenerate with: go test ./cmd/idcsctl -run TestReferenceIsCurrent -update
func TestReferenceIsCurrent(t *testing.T) {
	root := newDocsRootCmd(&deps{Getenv: func(string) string { return "" }})
	gen := t.TempDir()
	if err := doc.GenMarkdownTree(root, gen); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("..", "..", "docs", "reference")
	if *update {
		if err := os.RemoveAll(want); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(want, os.DirFS(gen)); err != nil {
			t.Fatal(err)
		}
		return
	}
	genFiles, _ := filepath.Glob(filepath.Join(gen, "*.md"))
	haveFiles, _ := filepath.Glob(filepath.Join(want, "*.md"))
	if len(genFiles) != len(haveFiles) {
		t.Fatalf("docs/reference has %d pages, the command tree %d: run go test ./cmd/idcsctl -run TestReferenceIsCurrent -update", len(haveFiles), len(genFiles))
	}
	for _, g := range genFiles {
		name := filepath.Base(g)
		a, _ := os.ReadFile(g)
		b, err := os.ReadFile(filepath.Join(want, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("docs/reference/%s is stale: run go test ./cmd/idcsctl -run TestReferenceIsCurrent -update", name)
		}
	}
}
