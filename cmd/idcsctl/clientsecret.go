package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/store"
)

// A confidential application's client secret comes from
// IDCSCTL_CLIENT_SECRET, else from where login --save-secret kept it:
// beside the profile's tokens (the keyring, or a 0600 file with the file
// store; see store.Secrets). The profile remembers that its application is
// confidential (config.Profile.Confidential), so a secret that cannot be
// found now is named as missing, never taken for a public application.

// secretStore opens where the profile's client secret is kept: the same
// kind of place as its tokens.
func (a *app) secretStore(ctx context.Context, p *config.Resolved) (*store.Secrets, error) {
	kind, err := store.ParseKind(p.TokenStore)
	if err != nil {
		return nil, &usageError{fmt.Errorf("token store of profile %q: %w", p.Name, err)}
	}
	dir, err := a.stateDir()
	if err != nil {
		return nil, err
	}
	return store.OpenSecrets(ctx, kind, store.Options{Dir: dir, Keyring: a.deps.Keyring})
}

// saveClientSecret keeps the secret of the profile's application beside its
// tokens, and says where.
func (a *app) saveClientSecret(ctx context.Context, p *config.Resolved, domain, secret string) (string, error) {
	st, err := a.secretStore(ctx, p)
	if err != nil {
		return "", err
	}
	if err := st.Save(ctx, p.Name, store.Secret{Value: secret, Domain: domain, ClientID: p.ClientID}); err != nil {
		return "", err
	}
	return st.Where(p.Name), nil
}

// clientSecret is the profile's client secret: IDCSCTL_CLIENT_SECRET, else
// the one kept for the profile's own domain and client, else "" for a
// public application. A confidential application without one is a
// *missingSecretError. A secret kept for another application is never
// sent. A profile with nothing kept never touches the keyring.
func (a *app) clientSecret(ctx context.Context, p *config.Resolved) (string, error) {
	if s := a.deps.Getenv(config.EnvClientSecret); s != "" {
		return s, nil
	}
	missing := func(cause error) error {
		if !p.Confidential && cause == nil {
			return nil
		}
		return missingSecret(p.Name, p.ClientID, cause)
	}
	dir, err := a.stateDir()
	if err != nil {
		return "", err
	}
	if !store.HasSecret(dir, p.Name) {
		return "", missing(nil)
	}
	st, err := a.secretStore(ctx, p)
	if err != nil {
		return "", err
	}
	saved, err := st.Load(ctx, p.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", missing(nil)
	case err != nil:
		return "", missing(err)
	}
	if !auth.SameDomain(saved.Domain, p.Domain) || saved.ClientID != p.ClientID {
		return "", missing(nil)
	}
	return saved.Value, nil
}

// forgetClientSecret removes the profile's kept secret, wherever it is.
func (a *app) forgetClientSecret(ctx context.Context, profile string) error {
	dir, err := a.stateDir()
	if err != nil {
		return err
	}
	return store.ForgetSecret(ctx, store.Options{Dir: dir, Keyring: a.deps.Keyring}, profile)
}

// canSaveSecret tells, before a sign-in, whether --save-secret could keep
// the secret: a token store that keeps nothing is a usage error.
func (a *app) canSaveSecret(ctx context.Context, p *config.Resolved) error {
	st, err := a.secretStore(ctx, p)
	if err != nil {
		return err
	}
	err = st.CanSave(ctx)
	if errors.Is(err, store.ErrSecretsNotKept) {
		return usagef("--save-secret keeps the client secret where the profile's tokens are kept, and the %q token store keeps nothing: use --token-store auto, keyring or file, or set %s for each command", p.TokenStore, config.EnvClientSecret)
	}
	if err != nil {
		return fmt.Errorf("not signing in: the client secret of profile %q could not be kept (--save-secret): %w", p.Name, err)
	}
	return nil
}
