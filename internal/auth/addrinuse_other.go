//go:build !windows

package auth

import (
	"errors"
	"syscall"
)

// isAddrInUse reports whether a listen failed because another socket holds
// the port.
func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE)
}
