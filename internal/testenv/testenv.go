// Package testenv lets tests say what the machine must offer them: a test
// that needs a real part or an environment feature (an IPv6 loopback, the
// Secret Service programs, Chromium) skips where it is missing, with what
// to install or enable, and fails when CI=true, because CI (.ci/run) sets
// every such part up and must run every test. It is imported by tests only.
package testenv

import (
	"fmt"
	"net"
	"os"
	"testing"
)

// SkipOrFail ends a test that cannot run here because of err: a skip
// saying so, or a failure when CI=true.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v (CI=true, so this is a failure, not a skip)", err)
	}
	t.Skip(err)
}

// IPv6Loopback ends the test as SkipOrFail does unless this machine can
// listen on [::1]. A container often starts with IPv6 disabled on lo;
// .ci/run enables it.
func IPv6Loopback(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		SkipOrFail(t, fmt.Errorf("no IPv6 loopback here (%v): enable it with `sysctl -w net.ipv6.conf.lo.disable_ipv6=0`", err))
		return
	}
	ln.Close()
}
