package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

// Grants a stored token records, so later commands know how to renew it.
const (
	grantAuthorizationCode = "authorization_code"
	grantDeviceCode        = "device_code"
)

// scopeMyScopes is IDCS's scope for "the app roles this application holds",
// what a client credentials token asks for when the profile names no scopes.
const scopeMyScopes = "urn:opc:idm:__myscopes__"

// lockNotice is how long login waits for the profile lock before it says
// that another sign-in holds it.
const lockNotice = 300 * time.Millisecond

type loginOptions struct {
	overrides      config.Overrides
	timeout        time.Duration
	timeoutSet     bool // --timeout given; a device sign-in otherwise lasts as long as its code
	noBrowser      bool
	browserCommand string
	paste          bool
	device         bool
	clientCreds    bool
	secretStdin    bool
	saveSecret     bool
	prompt         string // OpenID Connect prompt: login, select_account, consent or none
	loginHint      string // the user the domain's sign-in page is to expect
	// unlessSignedIn skips the sign-in when, once this login holds the
	// profile lock, the profile has a valid token: a sign-in for kubectl
	// that waited for another one has nothing left to do.
	unlessSignedIn bool
	doc            docFlags
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
http://127.0.0.1:PORT/callback for each port tried (default 8000, 18000, 28000;
a port in use moves on to the next). Two logins of one profile take turns.

Without a browser on this machine (SSH, containers) idcsctl prints the URL, a
short http://127.0.0.1:PORT/ form and, over SSH, the ssh -L line that forwards
the port; --paste lets you sign in on any machine and paste back the address
the browser ended on; --device uses the device code grant.

A confidential application's secret comes from IDCSCTL_CLIENT_SECRET or
--client-secret-stdin; --save-secret keeps it where the profile's tokens are
kept (the OS keyring, or with the file token store a 0600 file beside them),
and the profile remembers that its application is confidential.
--client-credentials gets a token for the application itself, for CI.
The first login with --domain and --client-id saves the profile.

Exits 3 when the sign-in is cancelled: Ctrl-C, Cancel (or Deny) pressed on
the sign-in page (the domain answers access_denied), or no sign-in within
--timeout. Exits 2 on a bad flag or profile, 1 on any other failure.
See docs/login.md for every way to sign in.`,
		Example: `  idcsctl login --domain https://idcs-1234.identity.oraclecloud.com --client-id 0a1b2c...
  idcsctl login -p work
  idcsctl login -p work --jq .user_name   # who signed in, for a script
  idcsctl login --no-browser        # print the URL, open it yourself
  idcsctl login --paste             # sign in elsewhere, paste the address back
  idcsctl login --device            # enter a code on another device
  idcsctl login --prompt login      # sign in again, maybe as someone else
  idcsctl login --prompt none       # only if the browser is still signed in to the domain
  printf %s "$SECRET" | idcsctl login --client-credentials --client-secret-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.timeoutSet = cmd.Flags().Changed("timeout")
			return runLogin(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.overrides.Domain, "domain", "", "identity domain URL, e.g. https://idcs-<id>.identity.oraclecloud.com (env IDCSCTL_DOMAIN)")
	f.StringVar(&o.overrides.ClientID, "client-id", "", "client id of the IDCS application (env IDCSCTL_CLIENT_ID)")
	f.StringSliceVar(&o.overrides.Scopes, "scopes", nil, "scopes to request (default on IDCS: openid,profile,email,urn:opc:idm:t.user.me; on another provider: the standard OpenID scopes it lists; plus offline_access where the domain offers it; with --client-credentials: urn:opc:idm:__myscopes__)")
	f.IntSliceVar(&o.overrides.Ports, "port", nil, "loopback port(s) for the redirect, tried in order (default 8000,18000,28000)")
	f.StringVar(&o.overrides.RedirectURL, "redirect-url", "", "full redirect URI registered in IDCS, e.g. http://localhost:8000/callback")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	f.StringVar(&o.overrides.CAFile, "ca-file", "", "PEM file of an extra CA to trust (a corporate TLS proxy)")
	f.DurationVar(&o.timeout, "timeout", auth.DefaultLoginTimeout, "how long to wait for the sign-in (with --device: default the code's lifetime)")
	f.BoolVar(&o.noBrowser, "no-browser", false, "do not open a browser; print the URL to open by hand")
	f.StringVar(&o.browserCommand, "browser-command", "", "command that opens the URL (default: $BROWSER, else the system browser)")
	f.BoolVar(&o.paste, "paste", false, "sign in on any machine, then paste the address the browser was sent back to")
	f.BoolVar(&o.device, "device", false, "sign in with a code entered on another device (RFC 8628 device code grant)")
	f.BoolVar(&o.clientCreds, "client-credentials", false, "get a token for the application itself, with no person (CI); needs the client secret")
	f.BoolVar(&o.secretStdin, "client-secret-stdin", false, "read the confidential application's client secret from the first line of stdin")
	f.BoolVar(&o.saveSecret, "save-secret", false, "keep the client secret where the profile's tokens are kept (keyring, or a 0600 file with the file store) for its later commands")
	f.StringVar(&o.prompt, "prompt", "", "ask the domain to show its sign-in page again (login), let the person pick an account (select_account), ask for consent again (consent), or sign in only from the browser's existing session (none)")
	f.StringVar(&o.loginHint, "login-hint", "", "user name the domain's sign-in page is to expect (login_hint): sign in as someone else than the browser's session")
	_ = cmd.RegisterFlagCompletionFunc("prompt", cobra.FixedCompletions(promptValues, cobra.ShellCompDirectiveNoFileComp))
	addDocFlags(cmd, &o.doc)
	return cmd
}

func runLogin(ctx context.Context, a *app, o *loginOptions) error {
	// A sign-in waits on the person (and on another login of the profile),
	// so Ctrl-C ends it as "cancelled" (exit 3) from the start.
	a.watchInterrupts()
	if err := o.check(); err != nil {
		return err
	}
	doc, err := a.document(&o.doc, "login", identity{})
	if err != nil {
		return err
	}
	file, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	domain, err := requireDomain(p)
	if err != nil {
		return err
	}
	var secret string
	if o.secretStdin {
		if secret, err = readSecret(a.deps.Stdin); err != nil {
			return err
		}
	} else if o.saveSecret && a.deps.Getenv(config.EnvClientSecret) == "" {
		return usagef("--save-secret keeps the secret given by %s or --client-secret-stdin, and neither is given", config.EnvClientSecret)
	}
	st, err := a.openStore(ctx, p)
	if err != nil {
		return err
	}
	// Find out now, not after the person has signed in, that the tokens
	// (or the secret to keep beside them) could not be kept.
	if err := store.CanSave(ctx, st); err != nil {
		return fmt.Errorf("not signing in: the %s token store of profile %q cannot keep tokens: %w", st.Name(), p.Name, err)
	}
	at := signInAttempt{file: file, p: p, o: o.overrides, device: o.device}
	if o.saveSecret {
		if err := a.canSaveSecret(ctx, p); err != nil {
			return err
		}
	}
	client, err := a.clientWith(ctx, p, secret)
	if err != nil {
		return at.notStarted(err)
	}
	if o.clientCreds && client.ClientSecret == "" {
		return usagef("--client-credentials needs the application's client secret: set %s, or pipe it to --client-secret-stdin", config.EnvClientSecret)
	}
	if p.ScopesDefaulted && !client.Metadata.IsIDCS() && client.IsIDCS(ctx) {
		// An IDCS domain behind a declared issuer of its own still grants
		// IDCS's scopes.
		client.Scopes = slices.Clone(p.Scopes)
	}
	if o.device {
		if _, err := client.DeviceEndpoint(ctx); err != nil {
			return at.notStarted(err)
		}
	}
	if !o.clientCreds && len(o.overrides.Scopes) == 0 && slices.Contains(client.Metadata.ScopesSupported, "offline_access") && !slices.Contains(client.Scopes, "offline_access") {
		client.Scopes = append(client.Scopes, "offline_access")
	}
	dir, err := a.stateDir()
	if err != nil {
		return err
	}
	// One sign-in per profile at a time: a second login waits here rather
	// than failing on a port the first one holds.
	unlock, err := lockProfile(ctx, dir, p.Name, a.deps.Stderr)
	if err != nil {
		return fmt.Errorf("wait for another sign-in of profile %q: %w", p.Name, err)
	}
	defer unlock()
	if o.unlessSignedIn {
		m := &session.Manager{Margin: session.DefaultMargin, Now: a.deps.Now}
		if t, err := st.Load(ctx, p.Name); err == nil && checkIssuedFor(t, p) == nil && m.Valid(t) {
			return nil
		}
	}
	a.sayAlreadySignedIn(ctx, st, p, domain)

	tok, err := a.signIn(ctx, client, file, p, o)
	if err != nil {
		return at.failed(err)
	}
	tok.Domain, tok.ClientID = domain, p.ClientID
	if err := st.Save(ctx, p.Name, tok); err != nil {
		return fmt.Errorf("signed in, but could not keep the tokens: %w", err)
	}
	if o.saveSecret {
		if where, err := a.saveClientSecret(ctx, p, domain, client.ClientSecret); err != nil {
			fmt.Fprintf(a.deps.Stderr, "warning: signed in, but could not keep the client secret beside the tokens (%v); set %s for later commands instead\n", err, config.EnvClientSecret)
		} else {
			fmt.Fprintf(a.deps.Stderr, "Kept the client secret of profile %q in %s; `idcsctl profile rm %s` removes it.\n", p.Name, where, p.Name)
		}
	}
	// The profile remembers that its application is confidential, so a
	// later command without the secret says it is missing.
	p.Confidential = client.ClientSecret != ""
	madeDefault, err := saveProfile(file, p, o.overrides)
	if err != nil {
		fmt.Fprintf(a.deps.Stderr, "warning: signed in, but could not save profile %q: %v\n", p.Name, err)
	}
	sum := summarize(p, st.Name(), tok)
	if o.loginHint != "" && !sum.isUser(o.loginHint) {
		fmt.Fprintf(a.deps.Stderr, "Note: --login-hint asked for %s, but the domain signed in %s (a browser session, or another account picked on its page). To sign in as %s, run `%s`.\n",
			o.loginHint, sum.displayUser(), o.loginHint, loginCommand(p.Name, "--prompt", "login", "--login-hint", o.loginHint))
	}
	if doc != nil {
		return doc.write(ctx, a.deps.Stdout, sum)
	}
	fmt.Fprintf(a.deps.Stderr, "Signed in to %s as %s (profile %s, tokens in %s, access token valid until %s).\n",
		domain, sum.displayUser(), p.Name, st.Name(), a.when(tok.Expiry))
	if madeDefault {
		fmt.Fprintf(a.deps.Stderr, "Profile %q is the default now: commands without -p use it (`idcsctl profile use NAME` changes that).\n", p.Name)
	}
	return nil
}

// sayAlreadySignedIn tells in one line that the profile already holds a
// working sign-in to this domain and client, whose, and until when, so that
// signing in again (perhaps as someone else) is a choice the person sees.
// Whatever it cannot read, it leaves for the sign-in to replace.
func (a *app) sayAlreadySignedIn(ctx context.Context, st store.Store, p *config.Resolved, domain string) {
	t, err := st.Load(ctx, p.Name)
	if err != nil || t.AccessToken == "" || t.Domain != domain || t.ClientID != p.ClientID {
		return
	}
	if !t.Expiry.IsZero() && !a.deps.Now().Before(t.Expiry) {
		return
	}
	fmt.Fprintf(a.deps.Stderr, "Already signed in to %s as %s (access token valid until %s); signing in again.\n",
		domain, summarize(p, st.Name(), t).displayUser(), a.when(t.Expiry))
}

// check refuses flag combinations that cannot work together.
func (o *loginOptions) check() error {
	if o.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	var modes []string
	for _, m := range []struct {
		on   bool
		name string
	}{{o.paste, "--paste"}, {o.device, "--device"}, {o.clientCreds, "--client-credentials"}} {
		if m.on {
			modes = append(modes, m.name)
		}
	}
	if len(modes) > 1 {
		return usagef("%s are different ways to sign in: pick one", strings.Join(modes, " and "))
	}
	if o.paste && o.secretStdin {
		return usagef("--paste and --client-secret-stdin both read stdin: set %s for the secret instead", config.EnvClientSecret)
	}
	if o.prompt != "" && !slices.Contains(promptValues, o.prompt) {
		return usagef("--prompt %q is not one of %s", o.prompt, strings.Join(promptValues, ", "))
	}
	if strings.IndexFunc(o.loginHint, unicode.IsControl) >= 0 || len(o.loginHint) > 256 {
		return usagef("--login-hint must be a user name of at most 256 characters, without control characters")
	}
	if (o.prompt != "" || o.loginHint != "") && (o.device || o.clientCreds) {
		return usagef("--prompt and --login-hint shape the browser sign-in; --device and --client-credentials have none")
	}
	return nil
}

// promptValues are the values of OpenID Connect's prompt parameter (Core
// 3.1.2.1) that --prompt takes, one at a time.
var promptValues = []string{"login", "select_account", "consent", "none"}

// authorizeParams are the parameters the options add to the authorization
// request.
func (o *loginOptions) authorizeParams() map[string]string {
	params := map[string]string{}
	if o.prompt != "" {
		params["prompt"] = o.prompt
	}
	if o.loginHint != "" {
		params["login_hint"] = o.loginHint
	}
	return params
}

// signIn runs the grant the options ask for and returns the token to keep.
func (a *app) signIn(ctx context.Context, client *auth.Client, file *config.File, p *config.Resolved, o *loginOptions) (*store.Token, error) {
	if o.clientCreds {
		scopes := clientCredentialsScopes(file, p, o.overrides)
		res, err := client.ClientCredentials(ctx, scopes...)
		if err != nil {
			return nil, err
		}
		tok := session.FromResult(res, "", "", session.GrantClientCredentials)
		if tok.Scope == "" {
			// Renewal asks for the same scopes again; keep them.
			tok.Scope = strings.Join(scopes, " ")
		}
		return tok, nil
	}
	elsewhere := ""
	if !o.paste && !o.device {
		elsewhere = "(--paste and --device sign in with a browser on another machine.)"
	}
	// --paste and --device are made for a browser on another machine: no
	// word about why none opens here.
	plan := a.planBrowser(o.noBrowser, o.browserCommand, elsewhere, o.device || o.paste)
	if o.device {
		timeout := time.Duration(0)
		if o.timeoutSet {
			timeout = o.timeout
		}
		res, err := client.DeviceLogin(ctx, auth.DeviceOptions{Stderr: a.deps.Stderr, OpenBrowser: plan.open, Timeout: timeout})
		if err != nil {
			return nil, err
		}
		return session.FromResult(res, "", "", grantDeviceCode), nil
	}
	opts := auth.LoginOptions{
		RedirectURL:    p.RedirectURL,
		Ports:          p.RedirectPorts,
		OpenBrowser:    plan.open,
		BrowserName:    plan.name,
		Stderr:         a.deps.Stderr,
		Timeout:        o.timeout,
		SSHDestination: plan.ssh,
		CheckRequest:   true,
		ExtraParams:    o.authorizeParams(),
	}
	if o.paste {
		opts.Paste = a.deps.Stdin
		opts.SSHDestination = ""
	}
	res, err := client.Login(ctx, opts)
	if err != nil {
		return nil, err
	}
	return session.FromResult(res, "", "", grantAuthorizationCode), nil
}

// browserPlan is how a sign-in reaches the person's browser.
type browserPlan struct {
	open func(string) error // nil: only print the URL
	name string             // what open opens, for the message; "": the person's browser
	ssh  string             // over SSH with no browser here: the destination for the ssh -L line
}

// planBrowser decides whether to start a browser (command, when set, is
// --browser-command), and says in one line why not when the machine has
// none to start, followed by elsewhere, a hint of what else to do, when set;
// silent says nothing (the ways to sign in with a browser elsewhere).
func (a *app) planBrowser(noBrowser bool, command, elsewhere string, silent bool) browserPlan {
	if noBrowser {
		return browserPlan{ssh: a.sshDestination()}
	}
	if a.deps.OpenBrowser != nil && command == "" {
		return browserPlan{open: a.deps.OpenBrowser, name: a.deps.BrowserName}
	}
	op := a.opener(command)
	if reason := op.Reason(); reason != "" && silent {
		// The device sign-in is made for a browser elsewhere: its code and
		// URL are all the person needs, not why none opens here.
		return browserPlan{}
	} else if reason != "" {
		fmt.Fprintf(a.deps.Stderr, "Not opening a browser: %s.\n", reason)
		if elsewhere != "" {
			fmt.Fprintln(a.deps.Stderr, elsewhere)
		}
		return browserPlan{ssh: a.sshDestination()}
	}
	return browserPlan{open: op.Open}
}

// opener is the platform's browser launcher, seen through the deps.
func (a *app) opener(command string) *browser.Opener {
	env := browser.HostEnv()
	env.Getenv = a.deps.Getenv
	return &browser.Opener{Command: command, Stderr: a.deps.Stderr, Env: env}
}

// sshDestination is how the person reaches this machine over SSH, or "".
func (a *app) sshDestination() string {
	env := browser.HostEnv()
	env.Getenv = a.deps.Getenv
	if s, ok := env.SSH(); ok {
		return s.Destination()
	}
	return ""
}

// lockProfile takes the profile's lock, saying on stderr who holds it when
// the wait lasts, so that a waiting login does not look hung.
func lockProfile(ctx context.Context, dir, profile string, stderr io.Writer) (func() error, error) {
	return store.LockWith(ctx, dir, profile, store.LockOptions{Purpose: "signing in", Notice: stderr, NoticeAfter: lockNotice})
}

// clientCredentialsScopes are the scopes of a token for the application
// itself: those the person named (flag or profile), else IDCS's
// urn:opc:idm:__myscopes__. The sign-in defaults (openid, profile...) mean
// nothing without a person, and IDCS refuses them for this grant.
func clientCredentialsScopes(file *config.File, p *config.Resolved, o config.Overrides) []string {
	if len(o.Scopes) > 0 {
		return o.Scopes
	}
	if saved, ok := file.Profiles[p.Name]; ok && len(saved.Scopes) > 0 {
		return saved.Scopes
	}
	return []string{scopeMyScopes}
}

// readSecret reads the client secret from the first line of r. The secret
// is never echoed, not even in an error.
func readSecret(r io.Reader) (string, error) {
	if r == nil {
		return "", usagef("--client-secret-stdin: there is no stdin to read the secret from")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the client secret from stdin: %w", err)
	}
	secret := strings.TrimSpace(line)
	if secret == "" {
		return "", usagef("--client-secret-stdin: stdin holds no secret (pipe it in: printf %%s \"$SECRET\" | idcsctl login --client-secret-stdin ...)")
	}
	return secret, nil
}

// redirectURIs are the redirect URIs the profile's sign-ins use, which must
// be registered in the IDCS application.
func redirectURIs(p *config.Resolved) []string {
	if p.RedirectURL != "" {
		return []string{p.RedirectURL}
	}
	out := make([]string, len(p.RedirectPorts))
	for i, port := range p.RedirectPorts {
		out[i] = fmt.Sprintf("http://127.0.0.1:%d/callback", port)
	}
	return out
}

// saveProfile writes the profile to the config file when the login used
// settings the file does not have yet, so the next command needs no flags.
// It leaves a profile that came wholly from the file untouched. It reports
// whether the profile became the default (the file had none).
func saveProfile(f *config.File, p *config.Resolved, o config.Overrides) (madeDefault bool, err error) {
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
	if next.Confidential != p.Confidential {
		next.Confidential, changed = p.Confidential, true
	}
	if len(o.Scopes) > 0 && !slices.Equal(next.Scopes, o.Scopes) {
		next.Scopes, changed = o.Scopes, true
	}
	if len(o.Ports) > 0 && !slices.Equal(next.RedirectPorts, o.Ports) {
		next.RedirectPorts, changed = o.Ports, true
	}
	if !changed {
		return false, nil
	}
	before := f.DefaultProfile
	f.Put(next)
	if err := f.Save(); err != nil {
		return false, err
	}
	return before != p.Name && f.DefaultProfile == p.Name, nil
}
