package auth

import (
	"errors"
	"syscall"
)

// wsaeaddrinuse is Winsock's "address already in use"; Go's syscall package
// on Windows has no constant for it, and its EADDRINUSE is a different value.
const wsaeaddrinuse = syscall.Errno(10048)

// isAddrInUse reports whether a listen failed because another socket holds
// the port.
func isAddrInUse(err error) bool {
	return errors.Is(err, wsaeaddrinuse) || errors.Is(err, syscall.EADDRINUSE)
}
