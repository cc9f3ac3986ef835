package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

type loginOptions struct {
	overrides      config.Overrides
	timeout        time.Duration
	noBrowser      bool
	browserCommand string
}

func newLoginCmd(a *app) *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in with the browser and keep the tokens",
		Long: `Sign in to the profile's identity domain with the OpenID Connect authorization
code flow and PKCE: idcsctl listens on 127.0.0.1, opens the sign-in page in your
browser, receives the code, exchanges it, verifies the ID token and keeps the
tokens in the OS keyring (or the store the profile names).

The redirect URIs to register in the IDCS application are
http://127.0.0.1:PORT/callback for each port tried (default 8000, 18000, 28000).
A confidential application's secret is read from IDCSCTL_CLIENT_SECRET.
The first login with --domain and --client-id saves the profile.`,
		Example: `  idcsctl login --domain https://idcs-1234.identity.oraclecloud.com --client-id 0a1b2c...
  idcsctl login -p work
  idcsctl login --no-browser        # print the URL, open it yourself`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogin(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.overrides.Domain, "domain", "", "identity domain URL, e.g. https://idcs-<id>.identity.oraclecloud.com (env IDCSCTL_DOMAIN)")
	f.StringVar(&o.overrides.ClientID, "client-id", "", "client id of the IDCS application (env IDCSCTL_CLIENT_ID)")
	f.StringSliceVar(&o.overrides.Scopes, "scopes", nil, "scopes to request (default: openid,profile,email,urn:opc:idm:t.user.me, plus offline_access where the domain offers it)")
	f.IntSliceVar(&o.overrides.Ports, "port", nil, "loopback port(s) for the redirect, tried in order (default 8000,18000,28000)")
	f.StringVar(&o.overrides.RedirectURL, "redirect-url", "", "full redirect URI registered in IDCS, e.g. http://localhost:8000/callback")
	f.StringVar(&o.overrides.TokenStore, "token-store", "", "where to keep tokens: auto, keyring, file or none (env IDCSCTL_TOKEN_STORE)")
	f.StringVar(&o.overrides.CAFile, "ca-file", "", "PEM file of an extra CA to trust (a corporate TLS proxy)")
	f.DurationVar(&o.timeout, "timeout", 3*time.Minute, "how long to wait for the sign-in")
	f.BoolVar(&o.noBrowser, "no-browser", false, "do not open a browser; print the URL to open by hand")
	f.StringVar(&o.browserCommand, "browser-command", "", "command that opens the URL (default: $BROWSER, else the system browser)")
	_ = cmd.RegisterFlagCompletionFunc("token-store", cobra.FixedCompletions([]string{"auto", "keyring", "file", "none"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runLogin(ctx context.Context, a *app, o *loginOptions) error {
	if o.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	file, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	domain, err := requireDomain(p)
	if err != nil {
		return err
	}
	st, err := a.openStore(ctx, p)
	if err != nil {
		return err
	}
	client, err := a.client(ctx, p)
	if err != nil {
		return err
	}
	if len(o.overrides.Scopes) == 0 && slices.Contains(client.Metadata.ScopesSupported, "offline_access") && !slices.Contains(client.Scopes, "offline_access") {
		client.Scopes = append(client.Scopes, "offline_access")
	}
	dir, err := a.stateDir()
	if err != nil {
		return err
	}
	// One sign-in per profile at a time: a second login waits here rather
	// than failing on a port the first one holds.
	unlock, err := store.Lock(ctx, dir, p.Name)
	if err != nil {
		return fmt.Errorf("wait for another sign-in of profile %q: %w", p.Name, err)
	}
	defer unlock()

	res, err := client.Login(ctx, auth.LoginOptions{
		RedirectURL: p.RedirectURL,
		Ports:       p.RedirectPorts,
		OpenBrowser: a.browserOpener(o.noBrowser, o.browserCommand),
		Stderr:      a.deps.Stderr,
		Timeout:     o.timeout,
	})
	if err != nil {
		return loginError(err)
	}
	tok := session.FromResult(res, domain, p.ClientID, "authorization_code")
	if err := st.Save(ctx, p.Name, tok); err != nil {
		return fmt.Errorf("signed in, but could not keep the tokens: %w", err)
	}
	if err := saveProfile(file, p, o.overrides); err != nil {
		fmt.Fprintf(a.deps.Stderr, "warning: signed in, but could not save profile %q: %v\n", p.Name, err)
	}
	sum := summarize(p, st.Name(), tok)
	if a.global.output == "json" {
		return writeJSON(a.deps.Stdout, sum)
	}
	fmt.Fprintf(a.deps.Stderr, "Signed in to %s as %s (profile %s, tokens in %s, access token valid until %s).\n",
		domain, sum.displayUser(), p.Name, st.Name(), formatTime(tok.Expiry))
	return nil
}

// loginError adds what to do next to the errors a sign-in ends with.
func loginError(err error) error {
	switch {
	case isErr(err, auth.ErrTimeout):
		return fmt.Errorf("%w: no sign-in arrived in time; run `idcsctl login` again (or raise --timeout)", err)
	case isErr(err, auth.ErrCancelled):
		return fmt.Errorf("%w: sign-in cancelled", err)
	}
	return fmt.Errorf("sign-in failed: %w", err)
}

// browserOpener picks how the sign-in page is opened: the injected one
// (demo, tests), none, or the platform's browser.
func (a *app) browserOpener(noBrowser bool, command string) func(string) error {
	if noBrowser {
		return nil
	}
	if a.deps.OpenBrowser != nil && command == "" {
		return a.deps.OpenBrowser
	}
	env := browser.HostEnv()
	env.Getenv = a.deps.Getenv
	op := &browser.Opener{Command: command, Stderr: a.deps.Stderr, Env: env}
	return op.Open
}

// saveProfile writes the profile to the config file when the login used
// settings the file does not have yet, so the next command needs no flags.
// It leaves a profile that came wholly from the file untouched, as
// rewriting would drop the person's comments.
func saveProfile(f *config.File, p *config.Resolved, o config.Overrides) error {
	saved, ok := f.Profiles[p.Name]
	next := config.Profile{Name: p.Name}
	if ok {
		next = *saved
	}
	changed := !ok
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst, changed = v, true
		}
	}
	set(&next.Domain, p.Domain)
	set(&next.ClientID, p.ClientID)
	set(&next.RedirectURL, o.RedirectURL)
	set(&next.TokenStore, o.TokenStore)
	set(&next.CAFile, o.CAFile)
	if len(o.Scopes) > 0 && !slices.Equal(next.Scopes, o.Scopes) {
		next.Scopes, changed = o.Scopes, true
	}
	if len(o.Ports) > 0 && !slices.Equal(next.RedirectPorts, o.Ports) {
		next.RedirectPorts, changed = o.Ports, true
	}
	if !changed {
		return nil
	}
	f.Put(next)
	return f.Save()
}
