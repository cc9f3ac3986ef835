//go:build unix

package child

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals Run passes on. The caller subscribes to them
// with signal.Notify before it starts anything it might be interrupted in
// (Go's default for SIGQUIT would otherwise end the parent with a stack
// dump), and hands the channel to Run.
var Forwarded = []os.Signal{
	unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGWINCH, unix.SIGUSR1, unix.SIGUSR2,
}

// Run starts cmd and waits for it to end, passing on every signal read
// from sigs, and returns its status as a shell reports it: the exit code,
// or 128 plus the number of the signal that ended it. cmd's standard
// streams should be the parent's own files, so that the child reads and
// writes them directly.
//
// On Linux the child is sent SIGTERM if the parent dies without passing
// anything on (kill -9), so nothing runs on that the parent was looking
// after. When the child is stopped from the terminal (Ctrl-Z), the parent
// stops too, so the shell's job control sees the job stopped; fg and bg
// continue both.
func Run(cmd *exec.Cmd, sigs <-chan os.Signal) (int, error) {
	tty, foreground := controllingTerminal()
	if tty != nil {
		defer tty.Close()
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if foreground {
		attr.Foreground = true
		attr.Ctty = int(tty.Fd())
	}
	setParentDeathSignal(attr)
	cmd.SysProcAttr = attr

	// The parent-death signal follows the thread that started the child,
	// not the process: keep this goroutine on that thread until the child
	// is gone, so the Go runtime never ends the thread under it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	// The Go runtime's wait does not report a stopped child; this one does.
	type waited struct {
		status syscall.WaitStatus
		err    error
	}
	events := make(chan waited)
	go func() {
		for {
			var ws syscall.WaitStatus
			_, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			events <- waited{ws, err}
			if err != nil || !ws.Stopped() {
				return
			}
		}
	}()
	defer func() {
		if tty != nil && foregroundOf(tty) == pid {
			// The child's group has ended and left the terminal to
			// nobody.
			takeTerminal(tty, unix.Getpgrp())
		}
		// Collects what os/exec keeps for the child (its I/O copies, if
		// any); the child itself was reaped above.
		_ = cmd.Wait()
	}()
	for {
		select {
		case sig := <-sigs:
			if s, ok := sig.(syscall.Signal); ok {
				_ = syscall.Kill(pid, s)
			}
		case ev := <-events:
			switch {
			case ev.err != nil:
				return 0, ev.err
			case ev.status.Stopped():
				if tty != nil {
					stopWithChild(tty, pid)
				}
			case ev.status.Signaled():
				return 128 + int(ev.status.Signal()), nil
			default:
				return ev.status.ExitStatus(), nil
			}
		}
	}
}

// controllingTerminal opens the process's controlling terminal, if it has
// one (not in a script's pipeline under CI, nor in a service), and says
// whether the process's group is its foreground group: only then does the
// child get the terminal as it starts. Started in the background (&), the
// child gets it when the shell brings the job to the foreground (see
// stopWithChild).
func controllingTerminal() (*os.File, bool) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, false
	}
	return tty, foregroundOf(tty) == unix.Getpgrp()
}

// foregroundOf is the terminal's foreground process group, or 0.
func foregroundOf(tty *os.File) int {
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	if err != nil {
		return 0
	}
	return pgrp
}

// takeTerminal makes pgrp the terminal's foreground group. A background
// process that does so is sent SIGTTOU, which would stop it: the signal
// is ignored for the moment of the call.
func takeTerminal(tty *os.File, pgrp int) {
	signal.Ignore(unix.SIGTTOU)
	defer signal.Reset(unix.SIGTTOU)
	_ = unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSPGRP, pgrp)
}

// stopWithChild follows the child's stop (Ctrl-Z; or a read from the
// terminal while in the background, as in a job started with & and then
// reading) as a shell would see it: it takes the terminal back if the
// child has it, stops this process so that the shell sees the job
// stopped, and, once continued (fg or bg), gives the terminal to the child
// if this process has it (fg), and continues the child.
func stopWithChild(tty *os.File, pid int) {
	if foregroundOf(tty) == pid {
		takeTerminal(tty, unix.Getpgrp())
	}
	// The stop of a whole process reaches its other threads first at
	// times, and this one runs on for a moment: the SIGCONT that ends the
	// stop is what says the shell has continued the job.
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, syscall.SIGCONT)
	defer signal.Stop(cont)
	_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	<-cont
	if foregroundOf(tty) == unix.Getpgrp() {
		_ = unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSPGRP, pid)
	}
	_ = syscall.Kill(-pid, syscall.SIGCONT)
}
