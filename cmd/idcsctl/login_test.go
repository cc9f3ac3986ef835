package main

import (
	"net"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdHoldPort binds 127.0.0.1:PORT for the rest of the script, as another
// program holding a callback port would:
//
//	hold-port PORT...
func cmdHoldPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: hold-port PORT...")
	}
	for _, a := range args {
		port, err := strconv.Atoi(a)
		ts.Check(err)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ts.Check(err)
		ts.Defer(func() { ln.Close() })
	}
}
