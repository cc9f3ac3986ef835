package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A confidential application's client secret is a credential of the
// profile, kept where that profile's tokens are kept: in the OS keyring,
// or with the file store in a 0600 file under the same rules as token
// files (refused when others can read it, when it is a link, or when
// another user owns it; replaced atomically). Secrets live apart from the
// tokens (their own keyring service and folder), so neither is mistaken
// for the other:
//
//	<Dir>/client-secrets/tokens/<profile>.json   file store entries
//	<Dir>/client-secrets/keyring/<profile>       "the keyring holds the secret" (no secret)

// SecretService is the keyring service of client secrets.
const SecretService = "idcsctl-client-secret"

const secretsFolder = "client-secrets"

// Secret is a client secret and the application it belongs to, so that a
// secret kept for another domain or client is never sent.
type Secret struct {
	Value    string
	Domain   string
	ClientID string
}

// Secrets keeps the client secrets of profiles.
type Secrets struct {
	st  Store
	dir string // the secrets' folder, <Dir>/client-secrets
}

// ErrSecretsNotKept means the store kind keeps nothing between commands
// (none), so a secret cannot be kept in it.
var ErrSecretsNotKept = errors.New("this token store keeps nothing between commands")

// OpenSecrets opens the place for client secrets that matches a token
// store of kind: the keyring, the file store, or auto's choice between
// them (its fallback is not announced again: the token store announces
// its own). opts.Dir is the state folder, as for Open; opts.Service is
// ignored.
func OpenSecrets(ctx context.Context, kind Kind, opts Options) (*Secrets, error) {
	if opts.Dir == "" {
		return nil, errors.New("open the client secret store: no state folder given (Options.Dir is required)")
	}
	opts.Dir = filepath.Join(opts.Dir, secretsFolder)
	opts.Service = SecretService
	opts.Warn = nil
	st, err := Open(ctx, kind, opts)
	if err != nil {
		return nil, err
	}
	return &Secrets{st: st, dir: opts.Dir}, nil
}

// Where says where a secret saved now goes: "the keyring", or the file's
// path.
func (s *Secrets) Where(profile string) string {
	switch s.st.Name() {
	case "file":
		return "the 0600 file " + filepath.Join(s.dir, tokensFolder, profile+fileSuffix)
	case "keyring":
		return "the OS keyring"
	}
	return "the " + s.st.Name() + " store"
}

// CanSave tells, before a sign-in, whether a secret could be kept.
func (s *Secrets) CanSave(ctx context.Context) error {
	if s.st.Name() == string(KindNone) {
		return ErrSecretsNotKept
	}
	return CanSave(ctx, s.st)
}

// Save keeps the profile's secret, replacing any other.
func (s *Secrets) Save(ctx context.Context, profile string, sec Secret) error {
	if s.st.Name() == string(KindNone) {
		return ErrSecretsNotKept
	}
	if sec.Value == "" {
		return fmt.Errorf("keep the client secret of profile %q: no secret given", profile)
	}
	return s.st.Save(ctx, profile, &Token{AccessToken: sec.Value, Domain: sec.Domain, ClientID: sec.ClientID})
}

// Load returns the profile's secret, or an error wrapping ErrNotFound. A
// secret file the file store refuses is an *UnsafeFileError that says how
// to keep the secret anew.
func (s *Secrets) Load(ctx context.Context, profile string) (*Secret, error) {
	t, err := s.st.Load(ctx, profile)
	var u *UnsafeFileError
	if errors.As(err, &u) {
		c := *u
		c.What = "client secret file"
		c.Problem = strings.ReplaceAll(c.Problem, "its tokens may", "the secret may")
		c.Remedy = fmt.Sprintf("delete it and keep the secret anew with `idcsctl login -p %s --save-secret`", profile)
		return nil, &c
	}
	if err != nil {
		return nil, err
	}
	return &Secret{Value: t.AccessToken, Domain: t.Domain, ClientID: t.ClientID}, nil
}

// HasSecret reports, from folders alone (never asking the keyring),
// whether a secret of the profile may be kept under the state folder dir:
// a file, or the keyring's marker. A public application's commands use it
// to leave the keyring alone.
//
// Anything in the file's place counts, a link or a folder too, so that
// Load refuses it by name rather than the secret being called missing.
func HasSecret(dir, profile string) bool {
	if checkProfile(profile) != nil {
		return false
	}
	base := filepath.Join(dir, secretsFolder)
	for _, p := range []string{filepath.Join(base, tokensFolder, profile+fileSuffix), filepath.Join(base, indexFolder, profile)} {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// ForgetSecret removes the profile's secret from every place it may be
// kept under the state folder in opts.Dir: the file, and the keyring when
// its marker says it holds one (so a profile without a kept secret never
// touches the keyring).
func ForgetSecret(ctx context.Context, opts Options, profile string) error {
	dir := filepath.Join(opts.Dir, secretsFolder)
	if err := NewFile(dir).Delete(ctx, profile); err != nil {
		return fmt.Errorf("forget the client secret of profile %q: %w", profile, err)
	}
	opts.Dir, opts.Service = dir, SecretService
	k := newKeyring(opts)
	if !k.indexed(profile) {
		return nil
	}
	if err := k.Delete(ctx, profile); err != nil {
		return fmt.Errorf("forget the client secret of profile %q in the keyring: %w", profile, err)
	}
	return nil
}
