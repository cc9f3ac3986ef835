package child

import (
	"os"
	"os/exec"
)

// Forwarded are the signals Run reads: on Windows only Ctrl-C, which the
// console sends to every process attached to it, the child included, so
// Run passes nothing on.
var Forwarded = []os.Signal{os.Interrupt}

// Run starts cmd and waits for it to end, and returns its exit code. The
// console delivers Ctrl-C to the child itself; Run only keeps it from
// ending the parent.
func Run(cmd *exec.Cmd, sigs <-chan os.Signal) (int, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case <-sigs:
		case err := <-done:
			if cmd.ProcessState != nil {
				return cmd.ProcessState.ExitCode(), nil
			}
			return 0, err
		}
	}
}
