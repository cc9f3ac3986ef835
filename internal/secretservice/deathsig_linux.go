package secretservice

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the daemon if the test binary dies
// without running its cleanup (a crash, a timeout kill), so no daemon outlives it.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
