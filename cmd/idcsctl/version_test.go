package main

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/buildinfo"
)

// TestVersionShowsWhatTheReleaseStamped: what goreleaser's ldflags stamp
// (main.version, main.commit, main.date) is what version prints, in text and
// JSON, with the Go release and platform beside it. .ci/release-check proves
// the same of the real release binary.
func TestVersionShowsWhatTheReleaseStamped(t *testing.T) {
	const commit = "0123456789abcdef0123456789abcdef01234567"
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name  string
		stamp buildinfo.Info
		want  string
	}{
		{
			name:  "release build, text",
			stamp: buildinfo.Info{Version: "1.2.3", Commit: commit, Date: "2026-12-01T10:00:00Z"},
			want:  "idcsctl 1.2.3\ncommit: " + commit + "\ndate:   2026-12-01T10:00:00Z\ngo:     " + runtime.Version() + " " + platform + "\n",
		},
		{
			name:  "unstamped test binary, text",
			stamp: buildinfo.Info{Version: "dev"},
			want:  "idcsctl dev\ncommit: unknown\ndate:   unknown\ngo:     " + runtime.Version() + " " + platform + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, _, _ := testApp(t, time.Now())
			a.deps.Stamp = tt.stamp
			if err := runVersion(context.Background(), a, &versionOptions{}); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.want {
				t.Errorf("version printed\n%q\nwant\n%q", stdout.String(), tt.want)
			}
		})
	}

	a, stdout, _, _ := testApp(t, time.Now())
	a.deps.Stamp = buildinfo.Info{Version: "1.2.3", Commit: commit, Date: "2026-12-01T10:00:00Z"}
	a.global.output = "json"
	if err := runVersion(context.Background(), a, &versionOptions{}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("version -o json printed no JSON: %v\n%s", err, stdout)
	}
	want := map[string]any{"version": "1.2.3", "commit": commit, "date": "2026-12-01T10:00:00Z", "go_version": runtime.Version(), "platform": platform}
	if len(got) != len(want) {
		t.Errorf("version -o json = %v, want exactly the fields %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("version -o json: %s = %v, want %v", k, got[k], v)
		}
	}
	if !strings.HasSuffix(stdout.String(), "\n") {
		t.Errorf("version -o json does not end with a newline: %q", stdout)
	}
}

// TestVersionFlagUsesTheResolvedVersion: --version prints the same version
// as the version command, stamped or not.
func TestVersionFlagUsesTheResolvedVersion(t *testing.T) {
	a, stdout, _, _ := testApp(t, time.Now())
	a.deps.Stamp = buildinfo.Info{Version: "1.2.3"}
	if code := run(t.Context(), []string{"--version"}, a.deps); code != 0 {
		t.Fatalf("--version exited %d", code)
	}
	if stdout.String() != "idcsctl 1.2.3\n" {
		t.Errorf("--version printed %q, want %q", stdout, "idcsctl 1.2.3\n")
	}
}
