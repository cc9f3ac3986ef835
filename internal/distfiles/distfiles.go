// Package distfiles writes the files a release ships beside the binary,
// generated from the command tree itself so they can never drift from it:
// shell completions for bash, zsh, fish and PowerShell (cobra's own
// generators) and gzipped man pages (github.com/spf13/cobra/doc).
//
// The release build (.goreleaser.yaml's before hook) runs the hidden
// `idcsctl release-files` command, which calls Write; the archives and the
// Linux packages pick the files up from there. This package knows nothing
// of idcsctl's commands, only of cobra.
package distfiles

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Folders under Write's dir.
const (
	CompletionsDir = "completions"
	ManDir         = "man"
)

// Header is what the man pages say of the release they belong to.
type Header struct {
	// Source names the release, as "idcsctl 1.2.3".
	Source string
	// Date is the release's date; the release build passes the commit's,
	// so that building the same commit twice gives the same pages.
	Date time.Time
}

// Write regenerates dir/completions and dir/man from root, removing what an
// earlier run left there (a page of a command since renamed must not ship),
// and returns the paths it wrote, relative to dir, in a stable order.
func Write(root *cobra.Command, dir string, h Header) ([]string, error) {
	var written []string
	put := func(rel string, gen func(io.Writer) error) error {
		var buf bytes.Buffer
		if err := gen(&buf); err != nil {
			return fmt.Errorf("generate %s: %w", rel, err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write release files: %w", err)
		}
		written = append(written, rel)
		return nil
	}
	for _, sub := range []string{CompletionsDir, ManDir} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return nil, fmt.Errorf("clear %s: %w", sub, err)
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", sub, err)
		}
	}

	name := root.Name()
	completions := []struct {
		ext string
		gen func(io.Writer) error
	}{
		{"bash", func(w io.Writer) error { return root.GenBashCompletionV2(w, true) }},
		{"zsh", root.GenZshCompletion},
		{"fish", func(w io.Writer) error { return root.GenFishCompletion(w, true) }},
		{"ps1", root.GenPowerShellCompletionWithDesc},
	}
	for _, c := range completions {
		if err := put(filepath.Join(CompletionsDir, name+"."+c.ext), c.gen); err != nil {
			return nil, err
		}
	}

	// The pages must not carry cobra's "Auto generated" history section,
	// which would date each page by the moment it was generated.
	root.DisableAutoGenTag = true
	var pages func(c *cobra.Command) error
	pages = func(c *cobra.Command) error {
		page := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1.gz"
		err := put(filepath.Join(ManDir, page), func(w io.Writer) error {
			date := h.Date
			header := &doc.GenManHeader{Section: "1", Source: h.Source, Manual: name + " manual", Date: &date}
			return gzipped(w, func(zw io.Writer) error { return doc.GenMan(c, header, zw) })
		})
		if err != nil {
			return err
		}
		// The same commands cobra.doc's GenManTree documents: no hidden,
		// deprecated or help-topic ones.
		for _, child := range c.Commands() {
			if !child.IsAvailableCommand() || child.IsAdditionalHelpTopicCommand() {
				continue
			}
			if err := pages(child); err != nil {
				return err
			}
		}
		return nil
	}
	if err := pages(root); err != nil {
		return nil, err
	}
	return written, nil
}

// gzipped compresses what gen writes as `gzip -9n` would (Debian's policy
// for man pages): best compression, no name and no time stamp in the header.
func gzipped(w io.Writer, gen func(io.Writer) error) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := gen(zw); err != nil {
		return err
	}
	return zw.Close()
}
