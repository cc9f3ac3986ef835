//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package store

// checkSessionBus has nothing to check where go-keyring does not use D-Bus
// (macOS Keychain, Windows Credential Manager).
func checkSessionBus() error { return nil }
