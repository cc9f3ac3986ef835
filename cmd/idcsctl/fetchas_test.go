package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdFetchAs is another local user racing the browser: it reads the
// address a browser command was given (as anyone can, from /proc) and
// fetches it with curl running as that user, printing the status line,
// headers and body on stdout:
//
//	[otheruser] fetch-as USER URLFILE
//
// Changing user needs root, and curl: the condition [otheruser] says both
// are here (and is an error when CI=true, since .ci/run runs as root and
// installs curl).
func cmdFetchAs(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fetch-as USER URLFILE")
	}
	if ok, err := otherUserCondition(); !ok {
		ts.Fatalf("fetch-as cannot run here (%v): guard it with [otheruser]", err)
	}
	curl, err := exec.LookPath("curl")
	ts.Check(err)
	u, err := user.Lookup(args[0])
	ts.Check(err)
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	ts.Check(err)
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	ts.Check(err)
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	target := strings.TrimSpace(string(b))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl, "--silent", "--show-error", "--include", "--max-time", "10", target)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		ts.Fatalf("curl as %s: %v\n%s", args[0], err, stderr.String())
	}
	fmt.Fprint(ts.Stdout(), stdout.String())
}

// awaitFile waits until path exists, polling, as long as ctx lets it.
func awaitFile(ctx context.Context, path string) error {
	if path == "" {
		return fmt.Errorf("no file to wait for")
	}
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not appear: %w", path, context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// otherUserCondition is the condition [otheruser]: this test can run a
// program as another user (root, and curl installed). Where it cannot, the
// script skips the lines it guards, unless CI=true, where that is an error.
func otherUserCondition() (bool, error) {
	var why string
	if os.Getuid() != 0 {
		why = "running a program as another user needs root"
	} else if _, err := exec.LookPath("curl"); err != nil {
		why = "curl is not installed: apt-get install curl"
	}
	if why == "" {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("%s (CI=true, so this is a failure, not a skip)", why)
	}
	return false, nil
}
