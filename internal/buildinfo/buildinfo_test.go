package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name    string
		stamped Info
		bi      *debug.BuildInfo
		want    Info
	}{
		{
			name:    "release build: the stamp wins over the toolchain's VCS settings",
			stamped: Info{Version: "1.2.3", Commit: rev, Date: "2026-12-01T10:00:00Z"},
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
				Settings: vcs("vcs.revision", "ffff", "vcs.time", "2000-01-01T00:00:00Z", "vcs.modified", "true")},
			want: Info{Version: "1.2.3", Commit: rev, Date: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"},
		},
		{
			name:    "go install module@version: the module version, no VCS settings",
			stamped: Info{Version: "dev"},
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			want:    Info{Version: "v1.2.3", GoVersion: "go1.26.8"},
		},
		{
			name:    "go build in a dirty checkout: pseudo-version, revision, commit time, modified",
			stamped: Info{Version: "dev"},
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201100000-0123456789ab+dirty"},
				Settings: vcs("-trimpath", "true", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-01T10:00:00Z", "vcs.modified", "true")},
			want: Info{Version: "v0.0.0-20261201100000-0123456789ab+dirty", Commit: rev, Date: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.8"},
		},
		{
			name:    "go run or -buildvcs=false: (devel) is no version",
			stamped: Info{Version: "dev"},
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want:    Info{Version: "dev", GoVersion: "go1.26.8"},
		},
		{
			name:    "no build information at all",
			stamped: Info{},
			bi:      nil,
			want:    Info{Version: "dev", GoVersion: runtime.Version()},
		},
		{
			name:    "stamped version without commit takes the VCS revision",
			stamped: Info{Version: "1.2.3"},
			bi:      &debug.BuildInfo{GoVersion: "go1.26.8", Settings: vcs("vcs.revision", rev, "vcs.time", "2026-12-01T10:00:00Z")},
			want:    Info{Version: "1.2.3", Commit: rev, Date: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got := Resolve(tt.stamped, tt.bi); got != tt.want {
				t.Errorf("Resolve() = %+v\nwant       %+v", got, tt.want)
			}
		})
	}
}

// TestReadThisBinary checks the real build information of the test binary:
// whatever the toolchain embeds, Read completes a version and the Go release.
func TestReadThisBinary(t *testing.T) {
	got := Read(Info{Version: "dev"})
	if got.Version == "" || got.GoVersion != runtime.Version() {
		t.Errorf("Read() = %+v, want a version and GoVersion %s", got, runtime.Version())
	}
}
