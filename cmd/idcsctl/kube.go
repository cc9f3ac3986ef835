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
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKubeTokenCmd(a), newKubeSetupCmd(a))
	return cmd
}

type kubeTokenOptions struct {
	overrides   config.Overrides
	accessToken bool
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
expires within a minute. The ID token's audience is the client id, which is
what an API server's OpenID Connect authenticator checks; --access-token hands
out the access token instead.

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
	c, err := a.kubeCredential(ctx, p, o.accessToken)
	if errors.Is(err, session.ErrLoginRequired) && info.Interactive && o.terminal {
		fmt.Fprintf(a.deps.Stderr, "idcsctl: %v\nSigning in to profile %q for kubectl.\n", err, p.Name)
		if err := a.signInForKube(ctx, p, o.overrides); err != nil {
			return err
		}
		c, err = a.kubeCredential(ctx, p, o.accessToken)
	}
	if err != nil {
		return err
	}
	return kube.Write(a.deps.Stdout, info, c)
}

// kubeCredential is the token kubectl gets: the ID token (valid for the
// margin, refreshed like the access token when it is not), or the access
// token.
func (a *app) kubeCredential(ctx context.Context, p *config.Resolved, accessToken bool) (kube.Credential, error) {
	t, m, err := a.freshToken(ctx, p)
	if err != nil {
		return kube.Credential{}, err
	}
	if accessToken {
		return kube.Credential{Token: t.AccessToken, Expiry: t.Expiry}, nil
	}
	if t.IDToken == "" {
		return kube.Credential{}, &session.LoginRequiredError{Profile: p.Name, Reason: fmt.Sprintf("profile %q has no ID token (its grant issues none; kubectl needs a person's sign-in, or --access-token)", p.Name)}
	}
	exp := idTokenExpiry(t)
	if !a.idTokenValid(exp) {
		// An ID token may die before its access token. ForceRefresh takes
		// the lock and refreshes only if no other process has yet.
		if t, err = m.ForceRefresh(ctx, t.AccessToken); err != nil {
			return kube.Credential{}, err
		}
		if exp = idTokenExpiry(t); !a.idTokenValid(exp) {
			return kube.Credential{}, &session.LoginRequiredError{Profile: p.Name, Reason: "the ID token has expired and a refresh brought no new one"}
		}
	}
	return kube.Credential{Token: t.IDToken, Expiry: exp}, nil
}

// idTokenValid reports whether an ID token expiring at exp outlives the
// refresh margin; zero means the token says nothing, and counts as valid.
func (a *app) idTokenValid(exp time.Time) bool {
	return exp.IsZero() || a.deps.Now().Add(session.DefaultMargin).Before(exp)
}

// idTokenExpiry is the exp claim of the stored ID token, which was verified
// when it was stored; zero when it has none.
func idTokenExpiry(t *store.Token) time.Time {
	var c jwt.Claims
	if !storedClaimsInto(t.IDToken, &c) || c.Expiry == nil {
		return time.Time{}
	}
	return c.Expiry.Time()
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
