//go:build !unix

package config

import "io/fs"

// fileOwner is unknown where file ownership is not a user id.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
