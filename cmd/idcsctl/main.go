// Command idcsctl signs people in to Oracle Identity Cloud Service (IDCS,
// OCI IAM identity domains) from a terminal and hands scripts fresh tokens.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The release build stamps these (goreleaser's ldflags: -X main.version=...
// -X main.commit=... -X main.date=...); other builds leave them for
// internal/buildinfo to complete from the toolchain's build information.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	d := defaultDeps()
	d.WatchInterrupts = sync.OnceFunc(func() { cancelOnInterrupt(cancel) })
	code := run(ctx, os.Args[1:], d)
	cancel()
	os.Exit(code)
}

// cancelOnInterrupt makes the first Ctrl-C or SIGTERM cancel the command,
// which then ends cleanly (servers stop, ports are freed, exit 3); a second
// one means "now".
func cancelOnInterrupt(cancel context.CancelFunc) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "idcsctl: interrupted again, exiting at once")
		os.Exit(exitCancelled)
	}()
}
