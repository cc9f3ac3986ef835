package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

type versionOptions struct{}

func newVersionCmd(a *app) *cobra.Command {
	o := &versionOptions{}
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of idcsctl",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(a, o)
		},
	}
}

// versionJSON is the -o json shape of version.
type versionJSON struct {
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	Commit    string `json:"commit,omitempty"`
}

func runVersion(a *app, _ *versionOptions) error {
	v := versionJSON{Version: version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
	}
	if a.global.output == "json" {
		return writeJSON(a.deps.Stdout, v)
	}
	_, err := fmt.Fprintf(a.deps.Stdout, "idcsctl %s (%s, %s)\n", v.Version, v.GoVersion, v.Platform)
	return err
}
