//go:build !unix

package ocir

import "io/fs"

// fileOwner: files have no Unix owner to keep here.
func fileOwner(fs.FileInfo) (uid, gid int) { return -1, -1 }
