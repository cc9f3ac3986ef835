//go:build !linux

package secretservice

import "os/exec"

// setDeathSignal has no portable equivalent outside Linux; Close and test
// cleanup stop the daemons.
func setDeathSignal(*exec.Cmd) {}
