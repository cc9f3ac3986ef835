// Package buildinfo says which build of idcsctl is running: its version,
// the commit it was built from, when that commit was made, and the Go that
// built it.
//
// A release build is stamped by the linker (goreleaser's ldflags set
// main.version, main.commit and main.date). A `go install module@version`
// or `go build` is not, so what the stamp leaves empty comes from the
// build information the Go toolchain embeds in every binary: the module
// version for `go install`, and the VCS revision and commit time for a build
// inside a git checkout. It knows nothing of cobra or of output formats.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Info is one build's identity. Empty fields are unknown.
type Info struct {
	// Version is the release version ("1.2.3"), the module version of a
	// `go install` ("v1.2.3", or a pseudo-version), or "dev".
	Version string `json:"version"`
	// Commit is the full git commit hash the binary was built from.
	Commit string `json:"commit,omitempty"`
	// Date is when that commit was made (RFC 3339, UTC); the commit date
	// rather than the build time, so that rebuilding a commit gives the
	// same binary.
	Date string `json:"date,omitempty"`
	// Modified says the checkout had uncommitted changes when it was built.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the Go release that built the binary.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Read is Resolve with the running binary's own build information.
func Read(stamped Info) Info {
	bi, _ := debug.ReadBuildInfo()
	return Resolve(stamped, bi)
}

// Resolve completes what the linker stamped with the toolchain's build
// information bi (nil when there is none). A stamped field always wins:
// the release process knows better than the toolchain what it released.
func Resolve(stamped Info, bi *debug.BuildInfo) Info {
	info := stamped
	info.GoVersion = runtime.Version()
	info.Platform = runtime.GOOS + "/" + runtime.GOARCH
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		// "(devel)" is what a build outside module mode's version
		// resolution gets; it says nothing a person can use.
		if unstamped(info.Version) && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		// A stamped commit comes with its own date and cleanliness;
		// never mix one build's commit with another's VCS settings.
		if info.Commit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					info.Commit = s.Value
				case "vcs.time":
					if info.Date == "" {
						info.Date = s.Value
					}
				case "vcs.modified":
					info.Modified = s.Value == "true"
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

// unstamped says the linker left the version at its source default.
func unstamped(v string) bool { return v == "" || v == "dev" }
