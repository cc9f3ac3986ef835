package store

import (
	"errors"
	"net"
	"os/exec"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// osKeyring is the OS keyring through zalando/go-keyring: the Secret Service
// over D-Bus on Linux and the BSDs, the Keychain on macOS, the Credential
// Manager on Windows.
type osKeyring struct{}

func (osKeyring) Get(service, user string) (string, error) {
	if err := checkSessionBus(); err != nil {
		return "", err
	}
	v, err := keyring.Get(service, user)
	for i := 0; i < vanishedRetries && itemVanished(err); i++ {
		v, err = keyring.Get(service, user)
	}
	return v, err
}

func (osKeyring) Set(service, user, secret string) error {
	if err := checkSessionBus(); err != nil {
		return err
	}
	return keyring.Set(service, user, secret)
}

func (osKeyring) Delete(service, user string) error {
	if err := checkSessionBus(); err != nil {
		return err
	}
	err := keyring.Delete(service, user)
	for i := 0; i < vanishedRetries && itemVanished(err); i++ {
		err = keyring.Delete(service, user)
	}
	return err
}

// vanishedRetries bounds how often Get and Delete search again after the
// item they found vanished. Only another process's Save or Delete removes
// items, a few at a time, so a second search normally settles it.
const vanishedRetries = 3

// itemVanished reports an error from go-keyring's Secret Service calls that
// means the item its search found a moment ago was deleted before the next
// call reached it: go-keyring searches for the item, then reads or deletes
// it by its object path, and another process's Save deletes the chunks of
// the generation it replaced in between. gnome-keyring answers a call to
// such a path with UnknownMethod ("Object does not exist at path", "No
// such interface"); other providers with UnknownObject or NoSuchObject.
// Searching again then finds the item's replacement or nothing. A keyring
// that is missing its collection gives the same names on every try, so it
// still ends in its error after vanishedRetries.
func itemVanished(err error) bool {
	if err == nil {
		return false
	}
	var name string
	var dbusErr dbus.Error
	var dbusErrPtr *dbus.Error
	switch {
	case errors.As(err, &dbusErr):
		name = dbusErr.Name
	case errors.As(err, &dbusErrPtr):
		name = dbusErrPtr.Name
	}
	switch name {
	case "org.freedesktop.DBus.Error.UnknownMethod",
		"org.freedesktop.DBus.Error.UnknownObject",
		"org.freedesktop.Secret.Error.NoSuchObject":
		return true
	}
	return false
}

// errNoSessionBus is returned instead of calling go-keyring when this process
// has no D-Bus session bus to talk to. Without this check godbus "autolaunches"
// one: it runs dbus-launch, which leaves a new dbus-daemon running (and, where
// gnome-keyring is installed, a gnome-keyring-daemon activated on the user's
// real HOME) behind every idcsctl command, and still finds no unlocked keyring.
var errNoSessionBus = errors.New("DBUS_SESSION_BUS_ADDRESS is not set and no session bus socket exists in /run/user")

func isNotFound(err error) bool {
	return errors.Is(err, keyring.ErrNotFound) || errors.Is(err, ErrNotFound)
}

// Fix texts shared by several reasons.
const (
	fixStartKeyring = "start a Secret Service such as gnome-keyring-daemon (`gnome-keyring-daemon --start --components=secrets`) or KeePassXC with Secret Service integration, or use --token-store file"
	fixSessionBus   = "run idcsctl inside a desktop session or under `dbus-run-session -- $SHELL` with a keyring started, or use --token-store file"
	fixUnlock       = "unlock the login keyring (open your desktop's Passwords and Keys, or run `gnome-keyring-daemon --unlock` and type the password), or use --token-store file"
	fixFile         = "use --token-store file"
)

// classifyUnavailable says why a keyring error means the keyring cannot be
// used, and what the user can do about it.
//
// Typed checks come first (errors.Is/As). go-keyring and godbus build several
// errors with errors.New or fmt.Errorf and export no value for them, so those
// are recognised by their text as a last resort; each such match names the
// source of the text, so a dependency upgrade that rewords it only makes the
// reason more generic, never wrong.
func classifyUnavailable(err error) *UnavailableError {
	u := &UnavailableError{Backend: "keyring", Err: err}
	var dbusErr dbus.Error
	var dbusErrPtr *dbus.Error
	var opErr *net.OpError
	var execErr *exec.Error
	switch {
	case errors.Is(err, ErrTimeout):
		u.Reason, u.Fix = "it did not answer in time, so it may be locked and waiting for a password prompt nobody sees, or hung", fixUnlock
	case errors.Is(err, errNoSessionBus):
		u.Reason, u.Fix = "no D-Bus session bus", fixSessionBus
	case errors.Is(err, keyring.ErrSetDataTooBig):
		u.Reason, u.Fix = "it refused an item as too large", fixFile
	case errors.As(err, &dbusErr):
		u.Reason, u.Fix = classifyDBusName(dbusErr.Name)
	case errors.As(err, &dbusErrPtr):
		u.Reason, u.Fix = classifyDBusName(dbusErrPtr.Name)
	case errors.As(err, &opErr):
		u.Reason, u.Fix = "cannot connect to the D-Bus session bus named by DBUS_SESSION_BUS_ADDRESS", fixSessionBus
	case errors.As(err, &execErr):
		// macOS: go-keyring runs /usr/bin/security.
		u.Reason, u.Fix = "cannot run the keyring tool", fixFile
	default:
		u.Reason, u.Fix = classifyText(err.Error())
	}
	return u
}

// classifyDBusName maps the D-Bus error names a Secret Service call meets.
func classifyDBusName(name string) (reason, fix string) {
	switch {
	case name == "org.freedesktop.DBus.Error.ServiceUnknown",
		name == "org.freedesktop.DBus.Error.NameHasNoOwner",
		strings.HasPrefix(name, "org.freedesktop.DBus.Error.Spawn."):
		return "no Secret Service provider (org.freedesktop.secrets) on the D-Bus session bus", fixStartKeyring
	case name == "org.freedesktop.Secret.Error.IsLocked":
		return "the keyring collection is locked", fixUnlock
	case name == "org.freedesktop.Secret.Error.NoSuchObject",
		name == "org.freedesktop.DBus.Error.UnknownObject":
		return "the Secret Service has no default keyring collection", fixUnlock
	case name == "org.freedesktop.DBus.Error.NoReply",
		name == "org.freedesktop.DBus.Error.Timeout",
		name == "org.freedesktop.DBus.Error.TimedOut":
		return "the Secret Service did not reply", fixUnlock
	case name == "org.freedesktop.DBus.Error.AccessDenied":
		return "the D-Bus session bus denied access to the Secret Service", fixSessionBus
	}
	return "the Secret Service returned an error", fixStartKeyring
}

// classifyText recognises untyped errors by their text.
func classifyText(msg string) (reason, fix string) {
	switch {
	// go-keyring secret_service.Unlock: the collection stayed locked because
	// the unlock prompt was dismissed or could not be shown, or the "default"
	// collection does not exist (gnome-keyring then prompts to create one).
	case strings.Contains(msg, "failed to unlock correct collection"):
		return "the keyring's default collection is locked or missing and no unlock prompt could be shown", fixUnlock
	// godbus Dial / getSessionBusAddress.
	case strings.HasPrefix(msg, "dbus: invalid bus address"), strings.HasPrefix(msg, "dbus: invalid address"):
		return "DBUS_SESSION_BUS_ADDRESS is not a valid D-Bus address", fixSessionBus
	case strings.HasPrefix(msg, "dbus: couldn't determine address of session bus"):
		return "no D-Bus session bus", fixSessionBus
	// godbus Auth.
	case strings.HasPrefix(msg, "dbus: authentication failed"):
		return "the D-Bus session bus refused this user (does it belong to another user?)", fixSessionBus
	}
	return "the OS keyring failed", fixFile
}
