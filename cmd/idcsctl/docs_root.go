package main

import "github.com/spf13/cobra"

// newDocsRootCmd is the whole command tree as people see it, cobra's
// completion command included (cobra adds it only at run time): what the
// man pages, the completions and docs/reference describe.
func newDocsRootCmd(d *deps) *cobra.Command {
	root := newRootCmd(d)
	root.DisableAutoGenTag = true
	root.InitDefaultCompletionCmd()
	return root
}
