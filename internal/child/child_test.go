//go:build linux

package child

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// roleEnv makes the test binary play a part in a test instead of running
// the tests: "parent" (idcsctl's side: Run of a probe, with the process's
// own signals) or "probe" (a command under Run).
const roleEnv = "CHILD_TEST_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "parent":
		parentMain()
	case "probe":
		probeMain()
	default:
		os.Exit(m.Run())
	}
}

// parentMain runs the probe as idcsctl exec runs a command, then says on
// the terminal with which status it ended and whether the terminal is
// this process's group's again.
func parentMain() {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, Forwarded...)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"=probe")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	code, err := Run(cmd, sigs)
	if err != nil {
		fmt.Println("run:", err)
		os.Exit(1)
	}
	pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	fmt.Printf("status=%d terminal-back=%v\n", code, err == nil && pgrp == unix.Getpgrp())
	os.Exit(0)
}

// probeMain reads a line from the terminal (which stops a process that
// is not in the terminal's foreground), counts the interrupts it gets
// until it reads "done", and exits 7.
func probeMain() {
	in := bufio.NewReader(os.Stdin)
	fmt.Printf("ready pid=%d.\n", os.Getpid())
	line, _ := in.ReadString('\n')
	fmt.Printf("read:%s\n", strings.TrimSpace(line))
	ints := make(chan os.Signal, 8)
	signal.Notify(ints, syscall.SIGINT)
	fmt.Println("armed")
	<-ints
	fmt.Println("got INT")
	line, _ = in.ReadString('\n')
	n := 1 + len(ints)
	fmt.Printf("ints=%d after %s\n", n, strings.TrimSpace(line))
	os.Exit(7)
}

// terminal is the controlling side of a pseudo-terminal, with everything
// written to it so far.
type terminal struct {
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
}

func (t *terminal) read() {
	buf := make([]byte, 4096)
	for {
		n, err := t.master.Read(buf)
		t.mu.Lock()
		t.out.Write(buf[:n])
		t.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// await waits, up to 20 seconds, until the terminal has shown text.
func (t *terminal) await(tb testing.TB, text string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		t.mu.Lock()
		seen := t.out.String()
		t.mu.Unlock()
		if strings.Contains(seen, text) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the terminal did not show %q within 20s; it showed:\n%s", text, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// said finds a process id on the terminal, in the first text that
// format (with one %d) reads after prefix; 0 when there is none.
func (t *terminal) said(prefix, format string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.out.String()
	i := strings.Index(out, prefix)
	if i < 0 {
		return 0
	}
	var pid int
	if _, err := fmt.Sscanf(out[i:], format, &pid); err != nil {
		return 0
	}
	return pid
}

// pid is the probe's process id, from its "ready pid=N." line.
func (t *terminal) pid(tb testing.TB) int {
	pid := t.said("ready pid=", "ready pid=%d.")
	if pid == 0 {
		tb.Fatal("the probe did not say its pid")
	}
	return pid
}

// jobPID is the process id of the job bash started, from its "[1] N".
func (t *terminal) jobPID(tb testing.TB) int {
	pid := t.said("[1] ", "[1] %d")
	if pid == 0 {
		tb.Fatal("bash did not say the job's pid")
	}
	return pid
}

// awaitState waits, up to 20 seconds, until every thread of process pid
// is stopped (or none is), as /proc says. A Go program's stop reaches its
// threads one by one: a shell says "Stopped" once the last has, and a
// SIGCONT before then ends a stop that is not complete yet.
func awaitState(tb testing.TB, pid int, stopped bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		states, err := threadStates(pid)
		if err != nil {
			tb.Fatal(err)
		}
		all := len(states) > 0
		for _, st := range states {
			if (st == "T") != stopped {
				all = false
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("process %d's threads are in states %q after 20s, want stopped=%v", pid, states, stopped)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// threadStates are the states of process pid's threads (R, S, T, ...).
func threadStates(pid int) ([]string, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return nil, fmt.Errorf("no threads of process %d in /proc (%v)", pid, err)
	}
	var states []string
	for _, f := range stats {
		stat, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that ended
		}
		// The state follows the command name, which is in parentheses.
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
			states = append(states, string(stat[i+2]))
		}
	}
	return states, nil
}

// openPTY opens a new pseudo-terminal: its controlling side and the
// device a session takes as its terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return master, tty
}

// TestRunGivesTheCommandTheTerminal runs a parent in a terminal session of
// its own, as a shell would start idcsctl exec: the command reads the
// terminal (it is the foreground), Ctrl-Z stops both and a SIGCONT to the
// parent (fg) continues both, a Ctrl-C reaches the command once (from the
// terminal, not again from the parent), its exit code comes back, and the
// terminal is the parent's again afterwards.
func TestRunGivesTheCommandTheTerminal(t *testing.T) {
	master, tty := openPTY(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(self)
	parent.Env = append(os.Environ(), roleEnv+"=parent")
	parent.Stdin, parent.Stdout, parent.Stderr = tty, tty, tty
	parent.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	term := &terminal{master: master}
	go term.read()
	var waitErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitErr = parent.Wait()
	}()
	t.Cleanup(func() {
		_ = parent.Process.Kill()
		<-done
	})

	term.await(t, "ready")
	fmt.Fprint(master, "hello\n")
	term.await(t, "read:hello")
	term.await(t, "armed")
	// Ctrl-Z stops the command, and the parent with it, as a shell's job
	// control expects; a SIGCONT to the parent (fg) continues both, and
	// the command has the terminal again.
	probe := term.pid(t)
	fmt.Fprint(master, "\x1a") // Ctrl-Z
	awaitState(t, probe, true)
	awaitState(t, parent.Process.Pid, true)
	if err := syscall.Kill(-parent.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	awaitState(t, parent.Process.Pid, false)
	awaitState(t, probe, false)
	fmt.Fprint(master, "\x03") // Ctrl-C
	term.await(t, "got INT")
	fmt.Fprint(master, "done\n")
	term.await(t, "ints=1 after done")
	term.await(t, "status=7 terminal-back=true")
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("the parent ended with %v", waitErr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the parent did not end")
	}
}

func TestRunPassesOnTheStatusAndTheSignals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		send   []os.Signal
		want   int
	}{
		{"exit code", "exit 7", nil, 7},
		{"success", "true", nil, 0},
		{"ended by a signal: 128+n", "kill -TERM $$", nil, 143},
		// The command waits on a pipe until it has got USR1 then TERM,
		// passed on from the channel, and exits with their order.
		{"signals passed on", `trap 'echo USR1 >&3' USR1; trap 'echo TERM >&3; exit 9' TERM; echo up >&3; while :; do sleep 0.05; done`,
			[]os.Signal{syscall.SIGUSR1, syscall.SIGTERM}, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cmd := exec.Command("sh", "-c", tc.script)
			cmd.ExtraFiles = []*os.File{w}
			sigs := make(chan os.Signal, 4)
			type ended struct {
				code int
				err  error
			}
			done := make(chan ended, 1)
			go func() {
				code, err := Run(cmd, sigs)
				done <- ended{code, err}
			}()
			lines := bufio.NewScanner(r)
			var seen []string
			if len(tc.send) > 0 {
				if !lines.Scan() || lines.Text() != "up" {
					t.Fatalf("the command did not start: %v", lines.Err())
				}
				for _, s := range tc.send {
					sigs <- s
					if !lines.Scan() {
						t.Fatalf("the command did not report %v", s)
					}
					seen = append(seen, lines.Text())
				}
			}
			select {
			case e := <-done:
				w.Close()
				if e.err != nil || e.code != tc.want {
					t.Errorf("Run = %d, %v; want %d", e.code, e.err, tc.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return")
			}
			if want := len(tc.send); len(seen) != want || want > 0 && (seen[0] != "USR1" || seen[1] != "TERM") {
				t.Errorf("the command saw %v, want USR1 then TERM", seen)
			}
		})
	}
}

func TestRunSaysWhenTheCommandCannotStart(t *testing.T) {
	code, err := Run(exec.Command("/nonexistent/command"), make(chan os.Signal))
	if err == nil {
		t.Fatalf("Run of a missing program = %d, nil; want an error", code)
	}
}

// TestRunInABackgroundJobGetsTheTerminalOnFg runs the parent as a job
// that a real interactive bash starts in the background (&): the command
// stops when it reads the terminal, the parent stops with it, bash says
// the job is stopped, and after fg the command has the terminal.
func TestRunInABackgroundJobGetsTheTerminalOnFg(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here (apt-get install bash)")
	}
	master, tty := openPTY(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	shell := exec.Command(bash, "--norc", "--noprofile", "-i")
	shell.Env = append(os.Environ(), "PS1=$ ", "TERM=dumb")
	shell.Stdin, shell.Stdout, shell.Stderr = tty, tty, tty
	shell.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	term := &terminal{master: master}
	t.Cleanup(func() {
		// A failed run leaves the job and its command stopped: end them.
		for _, p := range []int{term.said("[1] ", "[1] %d"), term.said("ready pid=", "ready pid=%d.")} {
			if p > 0 {
				_ = syscall.Kill(-p, syscall.SIGKILL)
			}
		}
		_ = shell.Process.Kill()
		_ = shell.Wait()
	})
	go term.read()
	term.await(t, "$ ")
	fmt.Fprintf(master, "%s=parent '%s' &\n", roleEnv, self)
	term.await(t, "ready pid=")
	// bash says "Stopped" only at its next prompt; /proc says it at once.
	awaitState(t, term.pid(t), true)
	awaitState(t, term.jobPID(t), true)
	fmt.Fprint(master, "fg\n")
	fmt.Fprint(master, "hello\n")
	term.await(t, "read:hello")
	term.await(t, "armed")
	fmt.Fprint(master, "\x03") // Ctrl-C
	term.await(t, "got INT")
	fmt.Fprint(master, "done\n")
	term.await(t, "ints=1 after done")
	term.await(t, "status=7 terminal-back=true")
	fmt.Fprint(master, "exit\n")
}
