//go:build !unix

package main

import "github.com/rogpeppe/go-internal/testscript"

// cmdOwner has no owners to set or check where files have no Unix owner.
func cmdOwner(ts *testscript.TestScript, _ bool, _ []string) {
	ts.Fatalf("owner: files have no Unix owner here")
}
