//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"fmt"
	"os"
	"path/filepath"
)

// checkSessionBus reports errNoSessionBus when godbus would have to autolaunch
// a session bus. It mirrors godbus's own lookup: DBUS_SESSION_BUS_ADDRESS
// (unless empty or "autolaunch:"), then /run/user/<uid>/bus, then the address
// file /run/user/<uid>/dbus-session.
func checkSessionBus() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	run := filepath.Join("/run/user", fmt.Sprint(os.Getuid()))
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(filepath.Join(run, name)); err == nil {
			return nil
		}
	}
	return errNoSessionBus
}
