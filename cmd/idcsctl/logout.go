package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/oci"
	"github.com/idcsctl/idcsctl/internal/ocir"
	"github.com/idcsctl/idcsctl/internal/store"
)

type logoutOptions struct {
	overrides      config.Overrides
	all            bool
	noRevoke       bool
	browser        bool // also end the domain's browser session
	browserCommand string
	timeout        time.Duration
}

func newLogoutCmd(a *app) *cobra.Command {
	o := &logoutOptions{}
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the profile's tokens at the domain and forget them",
		Long: `Revoke the refresh token and the access token at the domain (when its discovery
document names a revocation endpoint), then delete the stored tokens. The local
tokens are deleted even when revocation fails; idcsctl says so on stderr.

The domain also keeps a session in your browser, which signs the same person in
again without a password. --browser ends it too, after the tokens are revoked
and deleted: the browser goes to the domain's sign-out page (its
end_session_endpoint, /oauth2/v1/userlogout on IDCS) with the ID token as
id_token_hint, and the domain sends it back to a page idcsctl serves on
http://127.0.0.1:PORT/signed-out (the host and ports of the sign-in redirect),
which says the sign-out is done. Register that URL as the application's
post-logout redirect URL. Without a browser here, idcsctl prints the address
to open.`,
		Example: `  idcsctl logout
  idcsctl logout --browser         # also end the domain's session in your browser
  idcsctl logout --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogout(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "log out of every profile and clear every token store")
	f.BoolVar(&o.noRevoke, "no-revoke", false, "only forget the tokens locally; do not contact the domain")
	f.BoolVar(&o.browser, "browser", false, "also end the domain's browser session, so that the next sign-in asks for the password again")
	f.StringVar(&o.browserCommand, "browser-command", "", "with --browser: command that opens the URL (default: $BROWSER, else the system browser)")
	f.DurationVar(&o.timeout, "timeout", auth.DefaultLoginTimeout, "with --browser: how long to wait for the browser to come back from the domain's sign-out page")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	return cmd
}

func runLogout(ctx context.Context, a *app, o *logoutOptions) error {
	switch {
	case o.browser && o.all:
		return usagef("--browser ends the browser session of one profile's domain: use it without --all, with -p NAME")
	case o.browser && o.timeout <= 0:
		return usagef("--timeout must be positive")
	case !o.browser && o.browserCommand != "":
		return usagef("--browser-command opens the domain's sign-out page, which only --browser does")
	}
	resolve := a.resolve
	if o.all {
		resolve = a.resolveUnchecked // logs out of what exists, whatever the name
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
	var (
		idToken   string
		noIDToken string // why there is none, in the sign-out's message
	)
	if o.browser {
		// The sign-out waits on the person: Ctrl-C ends it, and says what is left.
		a.watchInterrupts()
		idToken = a.storedIDToken(ctx, cur)
		if a.storedToken(ctx, cur) == nil {
			noIDToken = fmt.Sprintf("Profile %q was not signed in here", cur.Name)
		}
	}
	var errs []error
	forgotten := false // the profile whose browser session ends lost its tokens here
	for _, p := range targets {
		if err := a.logoutProfile(ctx, p, o.noRevoke); err != nil {
			errs = append(errs, err)
		} else if p.Name == cur.Name {
			forgotten = true
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
	if o.browser {
		if err := a.browserSignOut(ctx, cur, idToken, noIDToken, o, forgotten); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// storedIDToken is the ID token of the profile's stored sign-in, when it
// was issued for the profile's own domain and client: the only hint the
// domain's sign-out may be given. Anything else gives "".
func (a *app) storedIDToken(ctx context.Context, p *config.Resolved) string {
	domain, err := requireDomain(p)
	if err != nil {
		return ""
	}
	t := a.storedToken(ctx, p)
	if t == nil || t.Domain != domain || t.ClientID != p.ClientID {
		return ""
	}
	return t.IDToken
}

// browserSignOut ends the domain's browser session, once the tokens are
// revoked and forgotten (forgotten says they were); its errors say that
// the tokens are gone either way.
func (a *app) browserSignOut(ctx context.Context, p *config.Resolved, idToken, noIDToken string, o *logoutOptions, forgotten bool) error {
	if _, err := requireDomain(p); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return signOutInterrupted(p.Name, o.noRevoke, forgotten, "")
	}
	c, err := a.client(ctx, p)
	if err != nil {
		if ctx.Err() != nil {
			return signOutInterrupted(p.Name, o.noRevoke, forgotten, "")
		}
		return fmt.Errorf("could not end the domain's browser session: %w", err)
	}
	plan := a.planBrowser(false, o.browserCommand, "", false)
	err = c.SignOut(ctx, auth.SignOutOptions{
		IDToken:        idToken,
		NoIDToken:      noIDToken,
		RedirectURL:    p.RedirectURL,
		Ports:          p.RedirectPorts,
		OpenBrowser:    plan.open,
		Stderr:         a.deps.Stderr,
		Timeout:        o.timeout,
		SSHDestination: plan.ssh,
	})
	var refused *auth.SignOutRefusedError
	switch {
	case err == nil:
		if idToken != "" && auth.SignOutComesBack() {
			fmt.Fprintf(a.deps.Stderr, "Signed out of the domain's browser session: the next sign-in asks for the password again.\n")
		}
		return nil
	case errors.Is(err, auth.ErrNoEndSession):
		return fmt.Errorf("the tokens are forgotten, but the domain's browser session cannot be ended: %w", err)
	case errors.As(err, &refused):
		return fmt.Errorf("the tokens are forgotten, but the domain's browser session lives on: %w", err)
	case errors.Is(err, auth.ErrCancelled):
		return signOutInterrupted(p.Name, o.noRevoke, forgotten, c.Metadata.EndSessionEndpoint)
	case errors.Is(err, auth.ErrTimeout):
		return fmt.Errorf("the tokens are forgotten, but the domain did not confirm the end of its browser session (%w); to end it, open %s in the browser", err, c.Metadata.EndSessionEndpoint)
	}
	return fmt.Errorf("the tokens are forgotten, but the domain's browser session could not be ended: %w", err)
}

// interruptedError is Ctrl-C during a command that is not a sign-in, in
// that command's own words; it exits 3 like any interruption.
type interruptedError struct{ msg string }

func (e *interruptedError) Error() string { return e.msg }
func (e *interruptedError) Unwrap() error { return context.Canceled }

// signOutInterrupted says what a Ctrl-C during logout --browser left: the
// tokens went first (revoked, unless --no-revoke), so only the domain's
// browser session may live on, and endSession (when known) ends it by hand.
func signOutInterrupted(profile string, noRevoke, forgotten bool, endSession string) error {
	gone := "revoked at the domain and removed from this machine"
	if noRevoke {
		gone = "removed from this machine (not revoked: --no-revoke)"
	}
	tokens := fmt.Sprintf("the tokens of profile %q were already %s", profile, gone)
	if !forgotten {
		tokens = fmt.Sprintf("the tokens of profile %q may not all be gone (see above)", profile)
	}
	howTo := "sign out of the domain in the browser"
	if endSession != "" {
		howTo = "open " + endSession + " in the browser"
	}
	return &interruptedError{fmt.Sprintf("sign-out interrupted: %s, but the domain's browser session may live on; to end it, %s", tokens, howTo)}
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
	var kept []oci.Record
	for _, rec := range recs.RemovalOrder() {
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
	// The registry tokens minted from the sessions go too; docker's
	// credHelpers entries stay: they hold no secret.
	if dir, err := a.stateDir(); err == nil {
		switch removed, err := ocir.RemoveCache(ocir.CacheDir(dir), profile); {
		case err != nil:
			errs = append(errs, err)
		case removed:
			fmt.Fprintln(a.deps.Stderr, "Removed the cached OCIR registry tokens.")
		}
	}
	return errors.Join(errs...)
}

// revoke asks the domain to revoke the tokens; failures are told, not
// fatal, since the local tokens are deleted either way.
func (a *app) revoke(ctx context.Context, p *config.Resolved, t *store.Token) {
	c, err := a.clientWith(ctx, p, "")
	if err != nil {
		what, _ := explain(err)
		fmt.Fprintf(a.deps.Stderr, "warning: could not revoke the tokens of profile %q at the domain: %s; they stay valid there until they expire\n", p.Name, what)
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
		if isUnreachable(err) {
			// The other token would meet the same silence: one line.
			what, _ := explain(err)
			fmt.Fprintf(a.deps.Stderr, "warning: could not revoke the tokens of profile %q at the domain: %s; they stay valid there until they expire\n", p.Name, what)
			return
		}
		if err != nil {
			what, _ := explain(err)
			fmt.Fprintf(a.deps.Stderr, "warning: could not revoke the %s of profile %q: %s\n", tk.hint, p.Name, what)
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
