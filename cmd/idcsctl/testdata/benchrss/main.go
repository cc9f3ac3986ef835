// Command benchrss runs a program and prints the peak resident set size
// of that program, in kilobytes as getrusage reports them on Linux.
//
// The benchmarks measure peak memory through it because on Linux a
// child's ru_maxrss starts at the peak of the process that spawned it:
// exec keeps the high-water mark of the address space it replaces, and Go
// spawns with vfork, so that space is the spawner's (golang/go#32054).
// Measured straight from the test binary, every child would report the
// test binary's peak. This launcher is small, so only a child smaller than
// the launcher itself (about 2 MB, printed by "benchrss -self", Linux
// only) reads high.
//
// Usage: benchrss PROGRAM ARGS...   (the program's stdout is discarded)
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "-self" {
		// VmHWM, not ru_maxrss: this process's own ru_maxrss holds its
		// spawner's peak, for the reason above.
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchrss:", err)
			os.Exit(1)
		}
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				fmt.Println(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				return
			}
		}
		fmt.Fprintln(os.Stderr, "benchrss: no VmHWM in /proc/self/status")
		os.Exit(1)
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchrss PROGRAM ARGS...")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "benchrss:", err)
		os.Exit(1)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "benchrss: no resource usage on this system")
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrss:", err)
		os.Exit(1)
	}
	fmt.Println(ru.Maxrss)
}
