package store

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNotFound means the profile has no stored token. Callers check it with errors.Is.
var ErrNotFound = errors.New("no token stored for this profile")

// ErrTimeout is wrapped by an *UnavailableError when a keyring call did not
// answer within Options.KeyringTimeout.
var ErrTimeout = errors.New("the keyring did not answer in time: the keyring may be locked or hung")

// CorruptError reports an entry that exists but cannot be decoded: bad JSON, a
// wrong checksum, a missing chunk, an unsupported format. The store never
// deletes such an entry by itself; the message tells the user how to clear it.
type CorruptError struct {
	Backend string // "keyring" or "file"
	Profile string
	Err     error // what is wrong, never the entry's content
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("the stored token of profile %q in the %s store is unreadable (%v): run `idcsctl logout -p %s` to clear it, then sign in again",
		e.Profile, e.Backend, e.Err, e.Profile)
}

// Unwrap returns the decoding problem.
func (e *CorruptError) Unwrap() error { return e.Err }

// UnsafeFileError reports a token file the file store will not read: others
// could read or change it, another user owns it, or it is a link or a
// special file. Its tokens may have been read or planted, so it is never
// used; logout removes it without reading it.
type UnsafeFileError struct {
	Path    string
	Profile string
	Problem string // "has mode 0644, so other users could read or change it ..."
	Fix     string // an extra way out, or ""
	// What names the file: "token file" when empty.
	What string
	// Remedy replaces the advice to log out and sign in again, when set.
	Remedy string
}

func (e *UnsafeFileError) Error() string {
	what := cmp.Or(e.What, "token file")
	remedy := cmp.Or(e.Remedy, fmt.Sprintf("run `idcsctl logout -p %s` to remove it, and sign in again", e.Profile))
	msg := fmt.Sprintf("%s %s %s: %s", what, e.Path, e.Problem, remedy)
	if e.Fix != "" {
		msg += " (" + e.Fix + ")"
	}
	return msg
}

// UnavailableError reports a backend that cannot be used at all: no D-Bus
// session bus, no Secret Service on it, a locked collection, a keyring that
// did not answer in time (Err wraps ErrTimeout), or a refused item.
type UnavailableError struct {
	Backend string // "keyring"
	Reason  string // why, for a person: "no Secret Service provider on the D-Bus session bus"
	Fix     string // what to do: "start gnome-keyring-daemon ..., or use --token-store file"
	Err     error  // the underlying error, for errors.Is/As
}

func (e *UnavailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s unavailable: %s", e.Backend, e.Reason)
	if e.Err != nil && !strings.Contains(e.Reason, e.Err.Error()) {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// redactedError hides secret strings from an error message that a keyring
// implementation might have built from the value it was given, while keeping
// the chain for errors.Is/As. go-keyring's own errors do not echo values; this
// guards against keyrings (and future versions) that do.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with every non-empty secret replaced in its message.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		// Also the escaped form %q would print, since a JSON chunk is full of quotes.
		quoted := strconv.Quote(s)
		for _, form := range []string{s, quoted[1 : len(quoted)-1]} {
			if form != "" && strings.Contains(msg, form) {
				msg = strings.ReplaceAll(msg, form, "[redacted]")
				changed = true
			}
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
