// Command typecheck type-checks packages and every package they import,
// the standard library included, from source, for the GOOS and GOARCH of
// its environment, without compiling anything. test.sh runs it for the
// arm64 release targets: our code has no per-architecture files, but the
// syscall and golang.org/x/sys types it reads differ per architecture
// (syscall.Stat_t's Nlink is a uint64 on linux/amd64 and a uint32 on
// linux/arm64), and so do some of its dependencies' files. It takes a
// tenth of the CPU of a build (docs/testing.md, "CI on a fresh machine").
//
//	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 go run ./tools/typecheck ./cmd/idcsctl
package main

import (
	"fmt"
	"os"

	"golang.org/x/tools/go/packages"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: typecheck PACKAGE...")
		os.Exit(2)
	}
	pkgs, err := packages.Load(&packages.Config{Mode: packages.LoadAllSyntax}, os.Args[1:]...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "typecheck:", err)
		os.Exit(1)
	}
	if packages.PrintErrors(pkgs) > 0 {
		os.Exit(1)
	}
	n := 0
	packages.Visit(pkgs, nil, func(*packages.Package) { n++ })
	fmt.Printf("typecheck: %d packages type-check\n", n)
}
