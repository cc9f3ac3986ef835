package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/oci"
	"github.com/idcsctl/idcsctl/internal/store"
)

type logoutOptions struct {
	overrides config.Overrides
	all       bool
	noRevoke  bool
}

func newLogoutCmd(a *app) *cobra.Command {
	o := &logoutOptions{}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the profile's tokens at the domain and forget them",
		Long: `Revoke the refresh token and the access token at the domain (when its discovery
document names a revocation endpoint), then delete the stored tokens. The local
tokens are deleted even when revocation fails; idcsctl says so on stderr.`,
		Example: `  idcsctl logout
  idcsctl logout --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogout(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "log out of every profile and clear every token store")
	f.BoolVar(&o.noRevoke, "no-revoke", false, "only forget the tokens locally; do not contact the domain")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	return cmd
}

func runLogout(ctx context.Context, a *app, o *logoutOptions) error {
	resolve := a.resolveExisting
	if o.all {
		resolve = a.resolve // logs out of what exists, whatever the name
	}
	f, cur, err := resolve(o.overrides)
	if err != nil {
		return err
	}
	targets := []*config.Resolved{cur}
	if o.all {
		targets = nil
		for _, name := range f.Names() {
			p, err := f.Resolve(a.deps.Getenv, config.Overrides{Profile: name})
			if err != nil {
				return &usageError{err}
			}
			targets = append(targets, p)
		}
		if !slices.ContainsFunc(targets, func(p *config.Resolved) bool { return p.Name == cur.Name }) {
			targets = append(targets, cur)
		}
	}
	var errs []error
	for _, p := range targets {
		if err := a.logoutProfile(ctx, p, o.noRevoke); err != nil {
			errs = append(errs, err)
		}
	}
	if o.all {
		// Entries may remain under names no longer in the config, or in a
		// store a profile no longer names: clear every backend.
		for _, kind := range []string{"file", "auto"} {
			p := &config.Resolved{Profile: config.Profile{Name: cur.Name, TokenStore: kind}}
			st, err := a.openStore(ctx, p)
			if err != nil {
				continue
			}
			names, err := st.Profiles(ctx)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, n := range names {
				if err := st.Delete(ctx, n); err != nil {
					errs = append(errs, fmt.Errorf("forget tokens of %q in %s: %w", n, st.Name(), err))
				} else {
					fmt.Fprintf(a.deps.Stderr, "Forgot the tokens of %q in the %s store.\n", n, st.Name())
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (a *app) logoutProfile(ctx context.Context, p *config.Resolved, noRevoke bool) error {
	st, err := a.openStore(ctx, p)
	if err != nil {
		return err
	}
	dir, err := a.stateDir()
	if err != nil {
		return err
	}
	// A refresh in another process must not write the tokens back after
	// they are deleted here.
	unlock, err := store.LockWith(ctx, dir, p.Name, store.LockOptions{Purpose: "logging out", Notice: a.deps.Stderr})
	if err != nil {
		return fmt.Errorf("lock profile %q: %w", p.Name, err)
	}
	defer unlock()
	// The OCI sessions made from this sign-in go with it, whether or not
	// tokens are left.
	ociErr := a.removeOCISessions(p.Name)
	t, err := st.Load(ctx, p.Name)
	var (
		corrupt *store.CorruptError
		unsafe  *store.UnsafeFileError
	)
	switch {
	case isNotFound(err):
		fmt.Fprintf(a.deps.Stderr, "Profile %q was not signed in.\n", p.Name)
		return ociErr
	case errors.As(err, &corrupt):
		// Nothing to revoke can be read; clearing is what the person asked.
		t = nil
	case errors.As(err, &unsafe):
		// The person's own file, refused for its permissions or kind: its
		// tokens are not trusted enough to send for revocation, and
		// removing it is what the person asked.
		fmt.Fprintf(a.deps.Stderr, "Removing token file %s without reading it: it %s.\n", unsafe.Path, unsafe.Problem)
		t = nil
	case err != nil:
		return err
	}
	if t != nil && !noRevoke {
		a.revoke(ctx, p, t)
	}
	if err := st.Delete(ctx, p.Name); err != nil {
		return fmt.Errorf("forget the tokens of profile %q: %w", p.Name, err)
	}
	a.forgetScoped(ctx, p)
	fmt.Fprintf(a.deps.Stderr, "Logged out of profile %q.\n", p.Name)
	return ociErr
}

// removeOCISessions deletes the OCI sessions the profile made (their files
// and config sections, nothing else) and forgets them.
func (a *app) removeOCISessions(profile string) error {
	path, err := a.ociRecordsPath(profile)
	if err != nil {
		return err
	}
	recs, err := oci.LoadRecords(path)
	if err != nil {
		return err
	}
	var errs []error
	kept := recs.Sessions[:0]
	for _, rec := range recs.Sessions {
		removed, err := oci.Remove(rec)
		for _, r := range removed {
			fmt.Fprintf(a.deps.Stderr, "Removed the OCI session's %s.\n", r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove OCI session %q: %w", rec.Name, err))
			kept = append(kept, rec)
		}
	}
	recs.Sessions = kept
	if err := recs.Save(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// revoke asks the domain to revoke the tokens; failures are told, not
// fatal, since the local tokens are deleted either way.
func (a *app) revoke(ctx context.Context, p *config.Resolved, t *store.Token) {
	c, err := a.client(ctx, p)
	if err != nil {
		fmt.Fprintf(a.deps.Stderr, "warning: could not revoke the tokens of profile %q at the domain: %v\n", p.Name, err)
		return
	}
	for _, tk := range []struct{ value, hint string }{{t.RefreshToken, "refresh_token"}, {t.AccessToken, "access_token"}} {
		if tk.value == "" {
			continue
		}
		err := c.Revoke(ctx, tk.value, tk.hint)
		if errors.Is(err, auth.ErrNoRevocation) {
			fmt.Fprintf(a.deps.Stderr, "The domain offers no revocation endpoint; the tokens stay valid until they expire.\n")
			return
		}
		if err != nil {
			fmt.Fprintf(a.deps.Stderr, "warning: could not revoke the %s of profile %q: %v\n", tk.hint, p.Name, err)
		}
	}
}

// forgetScoped deletes the profile's tokens of narrower scopes (token
// --scope); they were traded for the refresh token just revoked.
func (a *app) forgetScoped(ctx context.Context, p *config.Resolved) {
	dir, err := a.stateDir()
	if err != nil {
		return
	}
	if _, err := os.Stat(filepath.Join(dir, "scoped", p.Name)); err != nil {
		return // none was ever kept: do not wake the keyring for nothing
	}
	scoped, err := a.scopedStore(ctx, p)
	if err != nil {
		return
	}
	entries, err := scoped.Profiles(ctx)
	if err != nil {
		fmt.Fprintf(a.deps.Stderr, "warning: could not list the scoped tokens of profile %q: %v\n", p.Name, err)
		return
	}
	for _, e := range entries {
		if err := scoped.Delete(ctx, e); err != nil {
			fmt.Fprintf(a.deps.Stderr, "warning: could not forget a scoped token of profile %q: %v\n", p.Name, err)
		}
	}
}
