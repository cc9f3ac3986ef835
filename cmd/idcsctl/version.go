package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/buildinfo"
)

type versionOptions struct {
	doc docFlags
}

func newVersionCmd(a *app) *cobra.Command {
	o := &versionOptions{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of idcsctl",
		Long: `Print the version of idcsctl, the commit it was built from, that commit's date,
and the Go release and platform that built it.

Release builds carry all of them. A binary from "go install ...@version" knows its
module version; one built with "go build" in a git checkout knows its commit
(marked "modified" when the checkout had uncommitted changes).

-o json prints the same as one JSON object, with the fields of docs/output.md.`,
		Example: `  idcsctl version
  idcsctl version -o json
  idcsctl version --jq .version
  idcsctl version --template '{{.version}} {{.platform}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(cmd.Context(), a, o)
		},
	}
	addDocFlags(cmd, &o.doc)
	return cmd
}

func runVersion(ctx context.Context, a *app, o *versionOptions) error {
	doc, err := a.document(&o.doc, "version", buildinfo.Info{})
	if err != nil {
		return err
	}
	v := buildinfo.Read(a.deps.Stamp)
	if doc != nil {
		return doc.write(ctx, a.deps.Stdout, v)
	}
	commit, date := v.Commit, v.Date
	if commit == "" {
		commit = "unknown"
	} else if v.Modified {
		commit += " (modified)"
	}
	if date == "" {
		date = "unknown"
	}
	_, err = fmt.Fprintf(a.deps.Stdout, "idcsctl %s\ncommit: %s\ndate:   %s\ngo:     %s %s\n",
		v.Version, commit, date, v.GoVersion, v.Platform)
	return err
}
