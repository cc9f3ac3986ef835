// Package store keeps idcsctl's tokens between commands: in the OS keyring,
// in a private file, in memory, or nowhere.
//
// Open picks a backend by Kind. The default, KindAuto, uses the OS keyring
// when it answers and otherwise falls back to the file store with a one-line
// notice. Every backend stores any size of token idcsctl meets (a 16 KB
// record is tested): the keyring backend splits large records across several
// keyring items because Windows and macOS cap one secret at about 2.5 KB.
//
// Everything the store writes outside the keyring lives under Options.Dir:
//
//	<Dir>/tokens/<profile>.json   file store entries (0600, in 0700 folders)
//	<Dir>/keyring/<profile>       "the keyring holds an entry for this profile" (no secret)
//	<Dir>/fallback/<profile>      auto's "notice already shown" marker (no secret)
//	<Dir>/<profile>.lock          the per-profile lock taken by Lock
//
// A Store is safe for concurrent use by several goroutines, but a sequence of
// Load, refresh and Save must run under Lock so that two idcsctl processes
// do not refresh the same profile at once.
//
// Errors never contain token text. They are typed: ErrNotFound when there is
// no entry, *CorruptError when an entry cannot be decoded, *UnavailableError
// when the backend cannot be used at all.
package store

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Token is what one profile keeps between commands.
type Token struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"` // access token expiry
	Scope        string    `json:"scope,omitempty"`
	Grant        string    `json:"grant,omitempty"`     // how it was obtained: "authorization_code", "device_code", "client_credentials"
	Domain       string    `json:"domain,omitempty"`    // which domain URL issued it, so a changed profile is detected
	ClientID     string    `json:"client_id,omitempty"` // which client it was issued to
	// RefreshRejectedAt is when the provider rejected RefreshToken
	// (invalid_grant: expired, revoked or already used); zero while it is
	// not known to be bad. The tokens stay stored, since the access token
	// may work until it expires; the next sign-in, which stores a new
	// Token, clears it.
	RefreshRejectedAt time.Time `json:"refresh_rejected_at,omitzero"`
}

// Store keeps one Token per profile name.
//
// Profile names follow the config package's rule: 1 to 64 letters, digits,
// '.', '_' or '-', starting with a letter or digit. Other names are refused,
// because they become file and keyring item names.
type Store interface {
	// Load returns the profile's token, or an error wrapping ErrNotFound when there is none.
	Load(ctx context.Context, profile string) (*Token, error)
	// Save replaces the profile's token. A failed Save leaves the previous token loadable.
	Save(ctx context.Context, profile string, t *Token) error
	// Delete removes the profile's token from every place this store keeps it.
	// Deleting nothing is not an error.
	Delete(ctx context.Context, profile string) error
	// Profiles lists, sorted, the profile names that have an entry (for logout --all).
	Profiles(ctx context.Context) ([]string, error)
	// Name says where tokens go: "keyring", "file", "memory" or "none".
	// The auto store reports the backend it chose when it was opened.
	Name() string
}

// Kind selects a backend for Open.
type Kind string

// The kinds of store Open knows.
const (
	KindAuto    Kind = "auto"    // the keyring when it answers, else the file store (the default)
	KindKeyring Kind = "keyring" // only the OS keyring
	KindFile    Kind = "file"    // only <Dir>/tokens
	KindNone    Kind = "none"    // keep nothing: every command signs in again
	KindMemory  Kind = "memory"  // this process only (tests, the demo)
)

const validKinds = "auto, keyring, file, none, memory"

// ParseKind reads a --token-store value. The empty string means KindAuto.
// Case and surrounding spaces are ignored.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(strings.TrimSpace(s))); k {
	case "":
		return KindAuto, nil
	case KindAuto, KindKeyring, KindFile, KindNone, KindMemory:
		return k, nil
	}
	return "", fmt.Errorf("unknown token store %q: use one of %s", s, validKinds)
}

// Keyring is the subset of zalando/go-keyring that idcsctl needs, so tests can
// inject a slow, broken or size-limited keyring. Get and Delete report a
// missing item with go-keyring's keyring.ErrNotFound (this package's
// ErrNotFound is accepted too).
type Keyring interface {
	Get(service, user string) (string, error)
	Set(service, user, secret string) error
	Delete(service, user string) error
}

// Options configures Open and the backends.
type Options struct {
	// Dir is the folder for the file store, the keyring index, the fallback
	// markers and the lock files. It is created 0700. Required by the auto,
	// keyring and file kinds.
	Dir string
	// Service is the keyring service name; default "idcsctl".
	Service string
	// KeyringTimeout bounds every single keyring call; default 3s.
	KeyringTimeout time.Duration
	// Warn receives auto's one-line fallback notice (stderr); nil discards it.
	Warn io.Writer
	// Keyring is the keyring backend; nil means the OS keyring via zalando/go-keyring.
	Keyring Keyring
}

// Defaults applied by Open and NewKeyring.
const (
	DefaultService        = "idcsctl"
	DefaultKeyringTimeout = 3 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Service == "" {
		o.Service = DefaultService
	}
	if o.KeyringTimeout <= 0 {
		o.KeyringTimeout = DefaultKeyringTimeout
	}
	if o.Warn == nil {
		o.Warn = io.Discard
	}
	if o.Keyring == nil {
		o.Keyring = osKeyring{}
	}
	return o
}

// Open returns the store of the given kind.
//
// Only KindAuto does I/O here: it asks the keyring once, bounded by
// KeyringTimeout, whether it answers, and settles on the keyring or the file
// store for the life of the returned Store (switching to the file store later
// only if the keyring stops answering). Open fails only on a bad kind, a
// missing Dir, or a cancelled ctx.
func Open(ctx context.Context, kind Kind, opts Options) (Store, error) {
	switch kind {
	case KindMemory:
		return NewMemory(), nil
	case KindNone:
		return NewNone(), nil
	case KindAuto, KindKeyring, KindFile, "":
	default:
		return nil, fmt.Errorf("unknown token store %q: use one of %s", string(kind), validKinds)
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("open %s token store: no state folder given (Options.Dir is required)", kind)
	}
	opts = opts.withDefaults()
	switch kind {
	case KindFile:
		return NewFile(opts.Dir), nil
	case KindKeyring:
		return NewKeyring(opts), nil
	}
	return openAuto(ctx, opts)
}
