// Command idcsctl signs people in to Oracle Identity Cloud Service (IDCS,
// OCI IAM identity domains) from a terminal and hands scripts fresh tokens.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is stamped by the release build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first Ctrl-C ends the command cleanly (servers stop, ports
		// are freed, exit 3); a second one means "now".
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "idcsctl: interrupted again, exiting at once")
		os.Exit(exitCancelled)
	}()
	code := run(ctx, os.Args[1:], defaultDeps())
	cancel()
	os.Exit(code)
}
