package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

func TestCommandNameFindsTheCommandAfterTheRootsFlags(t *testing.T) {
	flags := newRootCmd(&deps{Getenv: func(string) string { return "" }}).PersistentFlags()
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"token"}, "token"},
		{[]string{"token", "--margin", "0s"}, "token"},
		{[]string{"-p", "work", "token"}, "token"},
		{[]string{"--profile", "work", "token"}, "token"},
		{[]string{"--profile=work", "token"}, "token"},
		{[]string{"-pwork", "token"}, "token"},
		{[]string{"--config", "/c.toml", "-o", "json", "status"}, "status"},
		{[]string{"--debug", "fetch", "/admin/v1/Me"}, "fetch"},
		{[]string{"--help"}, ""},
		{[]string{"help", "token"}, "help"},
		{[]string{"--", "token"}, ""},
		{[]string{"-p"}, ""},
	}
	for _, tt := range tests {
		if got := commandName(flags, tt.args); got != tt.want {
			t.Errorf("commandName(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestRootBuildsOnlyTheNamedCommand(t *testing.T) {
	d := &deps{Getenv: func(string) string { return "" }}
	var all []string
	for _, c := range newRootCmd(d).Commands() {
		all = append(all, c.Name())
	}
	for _, name := range []string{"login", "token", "fetch", "version"} {
		if !slices.Contains(all, name) {
			t.Fatalf("the whole tree %q lacks %q", all, name)
		}
	}
	tests := []struct {
		args []string
		want []string // the subcommands built besides cobra's own
	}{
		{[]string{"-p", "work", "token", "--margin", "0s"}, []string{"token"}},
		{[]string{"fetch", "/x"}, []string{"fetch"}},
		{[]string{"tokn"}, all},
		{[]string{"help"}, all},
		{nil, all},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range newRootCmdFor(d, tt.args).Commands() {
			got = append(got, c.Name())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("for %q the root has %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestRunStillListsAndSuggestsEveryCommand(t *testing.T) {
	tests := []struct {
		args       []string
		wantOK     bool
		wantStdout string
		wantStderr string
	}{
		{[]string{"--help"}, true, "doctor", ""},
		{[]string{"tokn"}, false, "", `(did you mean "token"?)`},
		{[]string{"token", "--help"}, true, "--margin", ""},
		{[]string{"completion", "bash"}, true, "__idcsctl_handle_completion_types", ""},
		{[]string{"__complete", "tok"}, true, "token", ""},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		d := &deps{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
		if code := run(context.Background(), tt.args, d); (code == exitOK) != tt.wantOK {
			t.Errorf("run(%q) = %d, want success %v; stderr:\n%s", tt.args, code, tt.wantOK, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
			t.Errorf("run(%q): stdout %q, stderr %q; want them to hold %q and %q", tt.args, stdout.String(), stderr.String(), tt.wantStdout, tt.wantStderr)
		}
	}
}
