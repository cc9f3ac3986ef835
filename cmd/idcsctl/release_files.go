//go:build releasefiles

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/buildinfo"
	"github.com/idcsctl/idcsctl/internal/distfiles"
)

type releaseFilesOptions struct {
	dir string
}

// newReleaseFilesCmd is the hidden command the release build runs
// (.goreleaser.yaml's before hook) to generate the shell completions and man
// pages that the archives and Linux packages ship. Hidden: it is for the
// release process, not for people, and has no man page of its own. It is
// built only with the releasefiles tag: cobra/doc's man page generator
// brings blackfriday, whose package set-up would cost every run of the
// shipped binary, the cached token included, half a millisecond.
func newReleaseFilesCmd(a *app) *cobra.Command {
	o := &releaseFilesOptions{}
	return &cobra.Command{
		Use:     "release-files DIR",
		Short:   "Write the shell completions and man pages a release ships into DIR",
		Hidden:  true,
		Example: `  go run -tags releasefiles ./cmd/idcsctl release-files release-files   # what .goreleaser.yaml's before hook runs`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("release-files needs exactly one folder to write into, like dist-files")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dir = args[0]
			return runReleaseFiles(a, o)
		},
	}
}

func runReleaseFiles(a *app, o *releaseFilesOptions) error {
	v := buildinfo.Read(a.deps.Stamp)
	// The commit's date, which the release build stamps, keeps the pages
	// the same from one build of a commit to the next.
	date, err := time.Parse(time.RFC3339, v.Date)
	if err != nil {
		date = a.deps.Now()
	}
	files, err := distfiles.Write(newDocsRootCmd(a.deps), o.dir, distfiles.Header{Source: "idcsctl " + v.Version, Date: date.UTC()})
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintln(a.deps.Stdout, f)
	}
	return nil
}

// releaseCommands are the commands only the release build has.
func releaseCommands() []subcommand {
	return []subcommand{{"release-files", newReleaseFilesCmd}}
}
