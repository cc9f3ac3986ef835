//go:build unix

package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdOwner gives a file to a user and group, or checks who owns it:
//
//	owner set UID:GID PATH   (needs root: guard it with [root])
//	owner is UID:GID PATH
func cmdOwner(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: owner set|is UID:GID PATH")
	}
	u, g, ok := strings.Cut(args[1], ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil {
		ts.Fatalf("owner: %q is not UID:GID", args[1])
	}
	path := ts.MkAbs(args[2])
	switch args[0] {
	case "set":
		ts.Check(os.Lchown(path, uid, gid))
	case "is":
		fi, err := os.Stat(path)
		ts.Check(err)
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != uid || int(st.Gid) != gid {
			ts.Fatalf("%s belongs to %d:%d, want %d:%d", args[2], st.Uid, st.Gid, uid, gid)
		}
	default:
		ts.Fatalf("usage: owner set|is UID:GID PATH")
	}
}
