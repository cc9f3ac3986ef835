package distfiles

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func tree() *cobra.Command {
	root := &cobra.Command{Use: "tool", Short: "A tool"}
	login := &cobra.Command{Use: "login", Short: "Sign in", Run: func(*cobra.Command, []string) {}}
	login.Flags().Int("port", 0, "callback port")
	root.AddCommand(
		login,
		&cobra.Command{Use: "secret", Short: "Not for people", Hidden: true, Run: func(*cobra.Command, []string) {}},
		&cobra.Command{Use: "old", Short: "Gone", Deprecated: "use login", Run: func(*cobra.Command, []string) {}},
	)
	root.InitDefaultCompletionCmd()
	return root
}

func readGzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("%s gzip header carries name %q / time %v; want neither (gzip -n)", path, zr.Name, zr.ModTime)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	// Left over from an earlier release: a page of a command since removed.
	if err := os.MkdirAll(filepath.Join(dir, ManDir), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ManDir, "tool-removed.1.gz")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := Header{Source: "tool 1.2.3", Date: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	got, err := Write(tree(), dir, h)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"completions/tool.bash", "completions/tool.zsh", "completions/tool.fish", "completions/tool.ps1",
		"man/tool.1.gz",
		"man/tool-completion.1.gz", "man/tool-completion-bash.1.gz", "man/tool-completion-fish.1.gz",
		"man/tool-completion-powershell.1.gz", "man/tool-completion-zsh.1.gz",
		"man/tool-login.1.gz",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Write wrote\n%q\nwant\n%q", got, want)
	}
	var onDisk []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	})
	slices.Sort(onDisk)
	sorted := slices.Sorted(slices.Values(want))
	if !slices.Equal(onDisk, sorted) {
		t.Errorf("dir holds\n%q\nwant exactly\n%q (the stale page removed, nothing hidden)", onDisk, sorted)
	}

	for file, marker := range map[string]string{
		"tool.bash": "complete -o default -F __start_tool tool",
		"tool.zsh":  "#compdef tool",
		"tool.fish": "complete -c tool ",
		"tool.ps1":  "Register-ArgumentCompleter -CommandName 'tool'",
	} {
		b, err := os.ReadFile(filepath.Join(dir, CompletionsDir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), marker) {
			t.Errorf("%s lacks %q", file, marker)
		}
	}

	page := readGzip(t, filepath.Join(dir, ManDir, "tool-login.1.gz"))
	for _, s := range []string{`.TH "TOOL-LOGIN" "1" "Dec 2026" "tool 1.2.3" "tool manual"`, "tool-login - Sign in", `\fB--port\fP=0`, `\fBtool(1)\fP`} {
		if !strings.Contains(page, s) {
			t.Errorf("tool-login.1 lacks %q:\n%s", s, page)
		}
	}
	if strings.Contains(page, "Auto generated") {
		t.Errorf("tool-login.1 carries cobra's generation stamp:\n%s", page)
	}
	root := readGzip(t, filepath.Join(dir, ManDir, "tool.1.gz"))
	if strings.Contains(root, "secret") || strings.Contains(root, "tool-old") {
		t.Errorf("tool.1 names a hidden or deprecated command:\n%s", root)
	}
}

// TestWriteIsReproducible: the same tree and header give the same bytes,
// so two builds of one commit ship identical archives and packages.
func TestWriteIsReproducible(t *testing.T) {
	h := Header{Source: "tool 1.2.3", Date: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	a, b := t.TempDir(), t.TempDir()
	files, err := Write(tree(), a, h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(tree(), b, h); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", f)
		}
	}
}

func TestWriteUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(tree(), file, Header{}); err == nil || !strings.Contains(err.Error(), "completions") {
		t.Errorf("Write into a file: err = %v, want one naming the folder it could not create", err)
	}
}
