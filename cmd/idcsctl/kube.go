package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/kube"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

func newKubeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kube",
		Short: "Sign kubectl in through idcsctl (a credential plugin)",
		Long: `kubectl runs "idcsctl kube token" as an exec credential plugin to get the
profile's ID token, refreshed under the same lock as "idcsctl token", so that
many kubectl calls at once refresh once. See docs/kubernetes.md.`,
		Example: `  idcsctl login -p work && kubectl get pods   # with the kubeconfig entry of docs/kubernetes.md
  idcsctl kube token -p work                  # the ExecCredential kubectl gets`,
		Args: cobra.NoArgs, // Runnable, so that cobra checks its arguments: a mistyped
		// subcommand is a usage error, not this help with exit 0.
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newKubeTokenCmd(a), newKubeSetupCmd(a))
	return cmd
}

type kubeTokenOptions struct {
	overrides    config.Overrides
	accessToken  bool
	forceRefresh bool
	// terminal says whether stdin is a terminal: kubectl's interactive
	// mode hands the plugin its own, and only then may a sign-in start.
	terminal bool
}

func newKubeTokenCmd(a *app) *cobra.Command {
	o := &kubeTokenOptions{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print an ExecCredential for kubectl (the credential plugin)",
		Long: `Print the profile's ID token as a client.authentication.k8s.io ExecCredential
on stdout, for kubectl's exec credential plugin, refreshing it first when it
expires within a minute (within a quarter of its lifetime, for tokens that
live less than four minutes). A call refreshes at most once, under the same
lock as "idcsctl token". The ID token's audience is the client id, which is
what an API server's OpenID Connect authenticator checks; --access-token hands
out the access token instead. --force-refresh refreshes now, however long the
token has yet to live.

The answer is in the API version kubectl asks for in KUBERNETES_EXEC_INFO (v1
or v1beta1; v1beta1 when the variable is absent). When there is no usable
token, idcsctl signs in only if kubectl says the call is interactive and stdin
is a terminal; otherwise it exits 4 with the command to run, so that kubectl
fails at once instead of waiting on a prompt nobody sees.`,
		Example: `  # in a kubeconfig's user entry:
  #   exec:
  #     apiVersion: client.authentication.k8s.io/v1
  #     command: idcsctl
  #     args: [kube, token, -p, work]
  #     interactiveMode: IfAvailable
  KUBERNETES_EXEC_INFO='{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}' idcsctl kube token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, ok := a.deps.Stdin.(*os.File)
			o.terminal = ok && browser.IsTerminal(f)
			return runKubeToken(cmd.Context(), a, o)
		},
	}
	cmd.Flags().BoolVar(&o.accessToken, "access-token", false, "hand kubectl the access token instead of the ID token")
	cmd.Flags().BoolVar(&o.forceRefresh, "force-refresh", false, "refresh the token now, even if it is still valid (once, under the profile lock)")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	return cmd
}

func runKubeToken(ctx context.Context, a *app, o *kubeTokenOptions) error {
	info, err := kube.ParseExecInfo(a.deps.Getenv(kube.EnvExecInfo))
	if err != nil {
		return &usageError{err}
	}
	_, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	c, err := a.kubeCredential(ctx, p, o)
	if errors.Is(err, session.ErrLoginRequired) && info.Interactive && o.terminal {
		fmt.Fprintf(a.deps.Stderr, "idcsctl: %s\nSigning in to profile %q for kubectl.\n", describe(err), p.Name)
		if err := a.signInForKube(ctx, p, o.overrides); err != nil {
			return err
		}
		// The sign-in brought new tokens: no forced refresh of them.
		again := *o
		again.forceRefresh = false
		c, err = a.kubeCredential(ctx, p, &again)
	}
	if err != nil {
		return err
	}
	return kube.Write(a.deps.Stdout, info, c)
}

// kubeCredential is the token kubectl gets: the ID token, or with
// --access-token the access token, refreshed at most once. The ID token is
// refreshed when it, not the access token, is within the margin that fits
// its lifetime; what a refresh brings is handed out while it lives, even
// when it is short-lived itself, so that a call never refreshes twice.
func (a *app) kubeCredential(ctx context.Context, p *config.Resolved, o *kubeTokenOptions) (kube.Credential, error) {
	var t *store.Token
	var err error
	switch {
	case o.forceRefresh:
		t, err = a.refreshedToken(ctx, p)
	case o.accessToken:
		t, _, err = a.freshToken(ctx, p)
	default:
		t, _, err = a.freshTokenBy(ctx, p, func(m *session.Manager) { m.Fresh = a.idTokenFresh })
	}
	if err != nil {
		return kube.Credential{}, err
	}
	if o.accessToken {
		return kube.Credential{Token: t.AccessToken, Expiry: t.Expiry}, nil
	}
	if t.IDToken == "" {
		return kube.Credential{}, &session.LoginRequiredError{Profile: p.Name, Reason: fmt.Sprintf("profile %q has no ID token (its grant issues none; kubectl needs a person's sign-in, or --access-token)", p.Name)}
	}
	exp, _ := idTokenTimes(t)
	if !exp.IsZero() && !a.deps.Now().Before(exp) {
		return kube.Credential{}, &session.LoginRequiredError{Profile: p.Name, Reason: "the ID token has expired and a refresh brought no new one"}
	}
	return kube.Credential{Token: t.IDToken, Expiry: exp}, nil
}

// idTokenFresh reports whether the stored ID token may go to kubectl
// without a refresh: it outlives the margin that fits its lifetime (iat to
// exp), or says nothing of its expiry. A token without an ID token counts
// as fresh, since a refresh would not give it one; kubeCredential refuses it.
func (a *app) idTokenFresh(t *store.Token) bool {
	if t.IDToken == "" {
		return true
	}
	exp, iat := idTokenTimes(t)
	if exp.IsZero() {
		return true
	}
	var lifetime time.Duration
	if !iat.IsZero() {
		lifetime = exp.Sub(iat)
	}
	return a.deps.Now().Add(session.MarginFor(lifetime)).Before(exp)
}

// idTokenTimes are the exp and iat claims of the stored ID token, which was
// verified when it was stored; zero for a claim it lacks.
func idTokenTimes(t *store.Token) (exp, iat time.Time) {
	var c jwt.Claims
	if !storedClaimsInto(t.IDToken, &c) {
		return time.Time{}, time.Time{}
	}
	if c.Expiry != nil {
		exp = c.Expiry.Time()
	}
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time()
	}
	return exp, iat
}

// signInForKube runs the profile's sign-in for kubectl: the way it signed in
// last (a device code when it did so, else the browser). Its summary goes to
// stderr whatever --output says, since stdout is kubectl's, and it does not
// sign in again when another kubectl call signed in while this one waited.
func (a *app) signInForKube(ctx context.Context, p *config.Resolved, o config.Overrides) error {
	g := *a.global
	g.output = "text"
	la := &app{deps: a.deps, global: &g}
	lo := &loginOptions{overrides: o, timeout: auth.DefaultLoginTimeout, unlessSignedIn: true}
	if t := a.storedToken(ctx, p); t != nil && t.Grant == grantDeviceCode {
		lo.device = true
	}
	return runLogin(ctx, la, lo)
}
