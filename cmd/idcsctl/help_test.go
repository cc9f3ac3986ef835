package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHelpHasAnExample holds every command of the tree to one
// rule of its help: an Example a script can copy, which runs the command
// itself. cobra's own completion and help commands are cobra's to document.
func TestEveryCommandHelpHasAnExample(t *testing.T) {
	root := newRootCmd(&deps{Getenv: func(string) string { return "" }})
	var walk func(*cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		if c.Name() == "completion" || c.Name() == "help" || c.IsAdditionalHelpTopicCommand() {
			return // help topics are read, not run
		}
		n++
		path := c.CommandPath()
		if !strings.Contains(c.Example, path) {
			t.Errorf("`%s --help` has no example that runs it: set Example in its newXxxCmd to at least one line a script would run, such as `  %s ...` (see `idcsctl token --help`)", path, path)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	if n < 10 {
		t.Fatalf("walked only %d commands", n)
	}
}
