package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

// app resolves what a command works with (config, profile, store, HTTP
// client, provider) from the global flags and the deps. It builds each
// part only when a command asks for it, so the cached-token path never
// parses more than the config or touches the network.
type app struct {
	deps   *deps
	global *globalOptions
	// ownSignals is set once a command handles signals itself (exec):
	// watchInterrupts then leaves them to it.
	ownSignals bool
}

func (a *app) configPath() (string, error) {
	if a.global.configPath != "" {
		return a.global.configPath, nil
	}
	if p := a.deps.Getenv(config.EnvConfig); p != "" {
		return p, nil
	}
	return config.DefaultPath()
}

func (a *app) loadConfig() (*config.File, error) {
	path, err := a.configPath()
	if err != nil {
		return nil, err
	}
	return config.Load(path)
}

// stateDir holds tokens (file store), locks and the discovery cache. It
// sits beside the config file, so one --config or IDCSCTL_CONFIG isolates
// everything, as demo and tests need.
func (a *app) stateDir() (string, error) {
	path, err := a.configPath()
	if err != nil {
		return "", err
	}
	return filepath.Dir(path), nil
}

// resolve loads the config and applies precedence for one command, and is
// the one rule for a profile that does not exist, on every command: a
// profile named by --profile, IDCSCTL_PROFILE or default_profile that is in
// neither the config file nor any token store, and that no flag or
// environment variable defines (login --domain, IDCSCTL_DOMAIN), is a
// mistyped name: a usage error (exit 2) naming the profiles that exist, not
// a "sign in" (exit 4) or a "has no domain" that would send the person the
// wrong way. The profile "default" is exempt: it is what a newcomer has
// before any sign-in, and its answer is "sign in".
func (a *app) resolve(o config.Overrides) (*config.File, *config.Resolved, error) {
	f, p, err := a.resolveUnchecked(o)
	if err != nil {
		return nil, nil, err
	}
	if err := a.checkExists(f, p); err != nil {
		return nil, nil, err
	}
	return f, p, nil
}

// resolveUnchecked is resolve without the check that the profile exists,
// for logout --all, which logs out of whatever exists.
func (a *app) resolveUnchecked(o config.Overrides) (*config.File, *config.Resolved, error) {
	f, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	o.Profile = a.global.profile
	p, err := f.Resolve(a.deps.Getenv, o)
	if err != nil {
		return nil, nil, &usageError{err}
	}
	if p.DomainNote != "" {
		fmt.Fprintf(a.deps.Stderr, "Note: %s.\n", p.DomainNote)
	}
	return f, p, nil
}

// checkExists is resolve's rule for an unknown profile, for the commands
// that resolve a profile in their own way (doctor).
func (a *app) checkExists(f *config.File, p *config.Resolved) error {
	if a.defined(p) {
		return nil
	}
	dir, err := a.stateDir()
	if err != nil {
		return err
	}
	known, err := store.Known(dir)
	if err != nil || slices.Contains(known, p.Name) {
		// Unreadable folders: the store itself will say what is wrong.
		return nil
	}
	return noSuchProfile(f, p.Name, known)
}

// defined says whether the profile exists without looking at the token
// stores: it is in the config file, flags or environment give its domain,
// or it is the profile "default".
func (a *app) defined(p *config.Resolved) bool {
	return p.InFile || p.Domain != "" || p.Name == config.DefaultProfile
}

// exists says whether the profile is one a list of profiles shows: in the
// config file, defined by flags or environment, or holding tokens.
// Unlike defined, "default" alone does not count.
func (a *app) exists(p *config.Resolved) bool {
	if p.InFile || p.Domain != "" {
		return true
	}
	return slices.Contains(a.knownProfiles(), p.Name)
}

// unknownProfileError says that a profile does not exist, which ones do,
// and, when create is set, how to create it: a command about to use the
// profile offers that, one that removes it does not.
func unknownProfileError(name string, names []string, create bool) error {
	how := ""
	if create {
		how = fmt.Sprintf("; to create it, sign in with `idcsctl login -p %s --domain https://idcs-<id>.identity.oraclecloud.com --client-id ID`", name)
	}
	if len(names) == 0 {
		return usagef("profile %q does not exist, nor does any other yet%s", name, how)
	}
	hint := ""
	if s := config.Suggest(name, names); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usagef("profile %q does not exist%s; the profiles are %s (`idcsctl profile list`)%s", name, hint, strings.Join(names, ", "), how)
}

// requireDomain checks that the profile names a provider idcsctl may talk
// to, and says how to name one when it does not.
// Everything missing is named at once, so the person fixes it in one go.
func requireDomain(p *config.Resolved) (string, error) {
	var missing, fixes []string
	if p.Domain == "" {
		missing = append(missing, "no domain")
		fixes = append(fixes, "--domain https://idcs-<id>.identity.oraclecloud.com (or set "+config.EnvDomain+")")
	}
	if p.ClientID == "" {
		missing = append(missing, "no client id")
		fixes = append(fixes, "--client-id ID (or set "+config.EnvClientID+")")
	}
	if len(missing) > 0 {
		return "", usagef("profile %q has %s: pass %s; docs/registering.md says where to find them",
			p.Name, strings.Join(missing, " and "), strings.Join(fixes, " and "))
	}
	u, err := auth.CheckDomainURL(p.Domain)
	if err != nil {
		return "", &usageError{fmt.Errorf("domain of profile %q: %w", p.Name, err)}
	}
	return u.String(), nil
}

// openStore opens the token store the profile names.
func (a *app) openStore(ctx context.Context, p *config.Resolved) (store.Store, error) {
	return a.openStoreOf(ctx, p, func(dir string) store.Options {
		return store.Options{Dir: dir, Warn: a.deps.Stderr}
	})
}

// openStoreOf opens a store of the kind the profile names, with the options
// opts makes from the state folder.
func (a *app) openStoreOf(ctx context.Context, p *config.Resolved, opts func(stateDir string) store.Options) (store.Store, error) {
	kind, err := store.ParseKind(p.TokenStore)
	if err != nil {
		return nil, &usageError{fmt.Errorf("token store of profile %q: %w", p.Name, err)}
	}
	dir, err := a.stateDir()
	if err != nil {
		return nil, err
	}
	o := opts(dir)
	o.Keyring = a.deps.Keyring
	return store.Open(ctx, kind, o)
}

// storedToken is the profile's stored token, for what it hints at (who
// signed in, how, where); nil when there is none or it cannot be read.
func (a *app) storedToken(ctx context.Context, p *config.Resolved) *store.Token {
	st, err := a.openStore(ctx, p)
	if err != nil {
		return nil
	}
	t, err := st.Load(ctx, p.Name)
	if err != nil {
		return nil
	}
	return t
}

// watchInterrupts turns Ctrl-C into a cancelled context from now on; see
// deps.WatchInterrupts.
func (a *app) watchInterrupts() {
	if a.deps.WatchInterrupts != nil && !a.ownSignals {
		a.deps.WatchInterrupts()
	}
}

// httpClient builds the client for every request of one command: the
// standard proxy variables, bounded connects and waits, the profile's CA,
// and the redacting debug log. There is no overall timeout, since fetch
// may stream a large body; contexts bound the rest. The command is about
// to wait on the network, so from now on Ctrl-C cancels it.
func (a *app) httpClient(p *config.Resolved) (*http.Client, error) {
	a.watchInterrupts()
	var rt http.RoundTripper = a.deps.Transport
	if rt == nil {
		tr := &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:      true,
			TLSHandshakeTimeout:    10 * time.Second,
			ResponseHeaderTimeout:  30 * time.Second,
			IdleConnTimeout:        90 * time.Second,
			MaxResponseHeaderBytes: 1 << 20,
			TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		}
		if p != nil && p.CAFile != "" {
			pool, err := certPool(p.CAFile)
			if err != nil {
				return nil, err
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		rt = tr
	}
	if a.global.debug {
		rt = &debugTransport{base: rt, w: a.deps.Stderr, now: a.deps.Now}
	}
	return &http.Client{Transport: rt}, nil
}

// certPool adds the PEM certificates of file to the system pool, for a
// corporate CA that intercepts TLS.
func certPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, usagef("read CA file: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usagef("CA file %s holds no PEM certificate", file)
	}
	return pool, nil
}

func (a *app) discoverer(hc *http.Client) (*auth.Discoverer, error) {
	dir, err := a.stateDir()
	if err != nil {
		return nil, err
	}
	return &auth.Discoverer{HTTP: hc, CacheDir: filepath.Join(dir, "cache"), Now: a.deps.Now}, nil
}

// client builds the provider client for the profile, reading the
// discovery document from the cache when it is fresh, for what needs no
// client secret (discovery, userinfo, SCIM, the browser sign-out): a
// confidential application's secret that is not available now leaves it
// without one. What the token endpoint does needs clientWith.
func (a *app) client(ctx context.Context, p *config.Resolved) (*auth.Client, error) {
	secret, err := a.clientSecret(ctx, p)
	var missing *missingSecretError
	if err != nil && !errors.As(err, &missing) {
		return nil, err
	}
	return a.newClient(ctx, p, secret)
}

// clientWith builds the client for the token endpoint (sign-in, refresh,
// revocation, the UPST exchange), with the client secret given (login's
// --client-secret-stdin), or, when secret is "", the profile's own: a
// confidential application's missing secret is a *missingSecretError.
func (a *app) clientWith(ctx context.Context, p *config.Resolved, secret string) (*auth.Client, error) {
	if secret == "" {
		var err error
		if secret, err = a.clientSecret(ctx, p); err != nil {
			return nil, err
		}
	}
	return a.newClient(ctx, p, secret)
}

// newClient builds the provider client with exactly this client secret.
func (a *app) newClient(ctx context.Context, p *config.Resolved, secret string) (*auth.Client, error) {
	domain, err := requireDomain(p)
	if err != nil {
		return nil, err
	}
	hc, err := a.httpClient(p)
	if err != nil {
		return nil, err
	}
	// Every request to the provider has a deadline that covers its body
	// and a cap on its size; fetch's own requests to resources do not.
	hc = auth.BoundedClient(hc, p.NetworkTimeout)
	disc, err := a.discoverer(hc)
	if err != nil {
		return nil, err
	}
	md, err := disc.Discover(ctx, domain)
	if err != nil {
		return nil, fmt.Errorf("read the discovery document of %s: %w", domain, err)
	}
	c := &auth.Client{
		Metadata:     md,
		ClientID:     p.ClientID,
		ClientSecret: secret,
		Scopes:       p.Scopes,
		HTTP:         hc,
		Now:          a.deps.Now,
		Domain:       domain,
	}
	if p.ScopesDefaulted {
		// IDCS's own scope makes another provider refuse the sign-in
		// (invalid_scope at Dex). Only the declared issuer decides here,
		// so that commands that never sign in ask nothing more; login
		// also asks idcs-configuration.
		c.Scopes = md.DefaultScopes(p.Scopes)
	}
	return c, nil
}

// manager opens the profile's token store and builds its token manager.
func (a *app) manager(ctx context.Context, p *config.Resolved) (*session.Manager, error) {
	st, err := a.openStore(ctx, p)
	if err != nil {
		return nil, err
	}
	dir, err := a.stateDir()
	if err != nil {
		return nil, err
	}
	return &session.Manager{
		Profile: p.Name,
		Store:   st,
		LockDir: dir,
		Refresher: func(ctx context.Context) (session.Refresher, error) {
			return a.clientWith(ctx, p, "")
		},
		Margin:  session.DefaultMargin,
		Timeout: p.NetworkTimeout,
		Now:     a.deps.Now,
		Warn:    a.deps.Stderr,
	}, nil
}

// freshToken returns a valid token of the profile, refreshing it when it
// is about to expire, and checks it was issued for the profile's domain
// and client (a changed profile must not reuse another domain's token).
func (a *app) freshToken(ctx context.Context, p *config.Resolved) (*store.Token, *session.Manager, error) {
	return a.freshTokenWithMargin(ctx, p, session.DefaultMargin)
}

func (a *app) freshTokenWithMargin(ctx context.Context, p *config.Resolved, margin time.Duration) (*store.Token, *session.Manager, error) {
	return a.freshTokenBy(ctx, p, func(m *session.Manager) { m.Margin = margin })
}

// freshTokenBy is freshToken with the token manager tuned first: its
// margin (token --margin), or its own test of what is fresh (kube token).
func (a *app) freshTokenBy(ctx context.Context, p *config.Resolved, tune func(*session.Manager)) (*store.Token, *session.Manager, error) {
	var domain *url.URL
	if p.Domain != "" {
		// A domain idcsctl may not talk to is a usage error whether or not
		// a token is stored, not a reason to sign in again.
		d, err := auth.CheckDomainURL(p.Domain)
		if err != nil {
			return nil, nil, &usageError{fmt.Errorf("domain of profile %q: %w", p.Name, err)}
		}
		domain = d
	}
	m, err := a.manager(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	tune(m)
	t, err := m.Token(ctx)
	if err != nil {
		return nil, m, err
	}
	if err := issuedFor(t, p, domain); err != nil {
		return nil, m, err
	}
	return t, m, nil
}

// refreshedToken refreshes the profile's token now, as --force-refresh asks.
func (a *app) refreshedToken(ctx context.Context, p *config.Resolved) (*store.Token, error) {
	m, err := a.manager(ctx, p)
	if err != nil {
		return nil, err
	}
	// Not signed in, or signed in to another domain: say so rather than
	// refresh tokens the profile must not use.
	cur, err := m.Load(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkIssuedFor(cur, p); err != nil {
		return nil, err
	}
	return m.Refresh(ctx)
}

func checkIssuedFor(t *store.Token, p *config.Resolved) error {
	if p.Domain == "" || t.Domain == "" {
		return nil
	}
	d, err := auth.CheckDomainURL(p.Domain)
	if err != nil {
		return &usageError{err}
	}
	return issuedFor(t, p, d)
}

// issuedFor is checkIssuedFor with the profile's domain already checked
// (nil when it has none), so that the cached-token path checks it once:
// the same comparison as auth.SameDomain, without parsing it again.
func issuedFor(t *store.Token, p *config.Resolved, domain *url.URL) error {
	if domain == nil || t.Domain == "" {
		return nil
	}
	td, err := auth.CheckDomainURL(t.Domain)
	if err != nil || td.String() != domain.String() || (p.ClientID != "" && t.ClientID != p.ClientID) {
		return &session.LoginRequiredError{Profile: p.Name, Reason: fmt.Sprintf("the stored tokens of profile %q were issued for %s (client %s), not for the profile's current domain and client", p.Name, t.Domain, t.ClientID)}
	}
	return nil
}

// isNotFound reports a store miss.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// addTokenStoreFlag gives a command the --token-store flag, with one help
// text and completion for every command that reads or writes tokens.
func addTokenStoreFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "token-store", "", "where tokens are kept: auto, keyring, file or none (env IDCSCTL_TOKEN_STORE)")
	_ = cmd.RegisterFlagCompletionFunc("token-store", cobra.FixedCompletions([]string{"auto", "keyring", "file", "none"}, cobra.ShellCompDirectiveNoFileComp))
}

// notifySignals subscribes to sigs for a command that handles them itself
// (exec, oci session --keep-fresh) rather than through watchInterrupts.
func (a *app) notifySignals(sigs ...os.Signal) (<-chan os.Signal, func()) {
	a.ownSignals = true
	if a.deps.NotifySignals != nil {
		return a.deps.NotifySignals(sigs...)
	}
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, sigs...)
	return ch, func() { signal.Stop(ch) }
}

// environ is the environment a child command starts from.
func (a *app) environ() []string {
	if a.deps.Environ != nil {
		return a.deps.Environ()
	}
	return os.Environ()
}
