package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/kube"
)

type kubeSetupOptions struct {
	overrides     config.Overrides
	kubeconfig    string
	user          string
	context       string
	command       string
	accessToken   bool
	usernameClaim string
	prefix        string
	// kubectl is the kubectl to write with; "" writes the file directly.
	kubectl string
}

func newKubeSetupCmd(a *app) *cobra.Command {
	o := &kubeSetupOptions{}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Add the idcsctl plugin to a kubeconfig and print the API server's settings",
		Long: `Add or update the kubeconfig user entry that runs "idcsctl kube token" for the
profile, keeping everything else in the file, and print the API server's
OpenID Connect settings for the profile's tokens (a structured authentication
configuration: the issuer, the domain's discovery URL, the client id as
audience, the username claim and, when the ID token has one, the groups
claim).

With kubectl on PATH, kubectl writes the entry (kubectl config
set-credentials, and set-context with --context), unless the file holds
comments or the entry other credentials, which kubectl would drop or keep:
then idcsctl edits the file itself, atomically. Running it again updates the
same entry. See docs/kubernetes.md.`,
		Example: `  idcsctl kube setup -p work --user idcs-work --context prod
  idcsctl kube setup --kubeconfig ./kubeconfig -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if p, err := exec.LookPath("kubectl"); err == nil {
				o.kubectl = p
			}
			return runKubeSetup(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file to change (default: the first file of KUBECONFIG, else ~/.kube/config)")
	f.StringVar(&o.user, "user", "", `name of the kubeconfig user entry (default "idcs-PROFILE")`)
	f.StringVar(&o.context, "context", "", "also make this kubeconfig context use the entry (created when missing)")
	f.StringVar(&o.command, "exec-command", "idcsctl", "the idcsctl kubectl runs: a name on PATH or an absolute path")
	f.BoolVar(&o.accessToken, "access-token", false, "make the plugin hand out the access token instead of the ID token")
	f.StringVar(&o.usernameClaim, "username-claim", "sub", "ID token claim the API server takes as the user name: sub, user_displayname or email")
	f.StringVar(&o.prefix, "prefix", "idcs:", `prefix of user and group names at the API server ("" for none)`)
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	return cmd
}

// kubeSetupJSON is the -o json shape of kube setup; a documented contract.
// exec and authentication_configuration keep Kubernetes' own field names.
type kubeSetupJSON struct {
	Kubeconfig                  string                           `json:"kubeconfig"`
	User                        string                           `json:"user"`
	Context                     string                           `json:"context,omitempty"`
	WrittenBy                   string                           `json:"written_by"`
	Exec                        kube.Exec                        `json:"exec"`
	AuthenticationConfiguration kube.AuthenticationConfiguration `json:"authentication_configuration"`
}

func runKubeSetup(ctx context.Context, a *app, o *kubeSetupOptions) error {
	if o.usernameClaim == "" {
		return usagef("--username-claim must name a claim")
	}
	_, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	domain, err := requireDomain(p)
	if err != nil {
		return err
	}
	path, err := kube.KubeconfigPath(o.kubeconfig, a.deps.Getenv)
	if err != nil {
		return err
	}
	user := o.user
	if user == "" {
		user = "idcs-" + p.Name
	}
	src, err := readKubeconfig(path)
	if err != nil {
		return err
	}
	client, err := a.client(ctx, p)
	if err != nil {
		return err
	}
	settings := kube.OIDCSettings{
		Issuer:        client.Metadata.Issuer,
		DiscoveryURL:  kube.DiscoveryURLFor(domain, client.Metadata.Issuer),
		ClientID:      p.ClientID,
		UsernameClaim: o.usernameClaim,
		Prefix:        o.prefix,
	}
	if claims := a.signedInClaims(ctx, p); claims != nil {
		if _, ok := claims["groups"]; ok {
			settings.GroupsClaim = "groups"
		}
		if _, ok := claims[o.usernameClaim]; !ok {
			fmt.Fprintf(a.deps.Stderr, "warning: the profile's ID token has no %q claim; the API server would refuse it (try --username-claim sub)\n", o.usernameClaim)
		}
	}

	e := kube.Exec{APIVersion: kube.APIVersionV1, Command: o.command, Args: a.pluginArgs(p, o), InteractiveMode: kube.InteractiveIfAvailable}
	writtenBy, err := writeKubeUser(ctx, a, o, path, src, user, e)
	var partial *contextNotSetError
	switch {
	case errors.As(err, &partial):
		return fmt.Errorf("%w; user %q is set in %s, run the command again to set the context", err, user, path)
	case err != nil:
		return fmt.Errorf("%w; the kubeconfig %s was not changed", err, path)
	}
	if a.global.output == "json" {
		return writeJSON(a.deps.Stdout, kubeSetupJSON{Kubeconfig: path, User: user, Context: o.context, WrittenBy: writtenBy,
			Exec: e, AuthenticationConfiguration: settings.AuthenticationConfiguration()})
	}
	fmt.Fprintf(a.deps.Stderr, "Set user %q in %s (written by %s): kubectl runs %s %s.\n", user, path, writtenBy, e.Command, strings.Join(e.Args, " "))
	if o.context != "" {
		fmt.Fprintf(a.deps.Stderr, "Context %q uses it: kubectl --context %s get pods\n", o.context, o.context)
	}
	y, err := settings.YAML()
	if err != nil {
		return err
	}
	_, err = a.deps.Stdout.Write(y)
	return err
}

// readKubeconfig reads the file to change: "" for one that does not exist
// yet. A file that is no kubeconfig, or cannot be written, stops the
// command before anything is written.
func readKubeconfig(path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the kubeconfig %s: %w", path, err)
	}
	if _, err := kube.KubectlWouldLose(src, ""); err != nil {
		return nil, &usageError{fmt.Errorf("kubeconfig %s: %w; fix or move it, nothing was changed", path, err)}
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig %s cannot be written (%w); nothing was changed", path, err)
	}
	f.Close()
	return src, nil
}

// pluginArgs are the arguments kubectl passes idcsctl: the profile always,
// so a new default profile does not change who kubectl is, and the config
// file when this command was told one.
func (a *app) pluginArgs(p *config.Resolved, o *kubeSetupOptions) []string {
	args := []string{"kube", "token", "-p", p.Name}
	if path, err := a.configPath(); err == nil && (a.global.configPath != "" || a.deps.Getenv(config.EnvConfig) != "") {
		args = append(args, "--config", path)
	}
	if o.overrides.TokenStore != "" {
		args = append(args, "--token-store", o.overrides.TokenStore)
	}
	if o.accessToken {
		args = append(args, "--access-token")
	}
	return args
}

// signedInClaims are the claims of the profile's stored ID token, or nil.
func (a *app) signedInClaims(ctx context.Context, p *config.Resolved) map[string]any {
	t := a.storedToken(ctx, p)
	if t == nil {
		return nil
	}
	return storedClaims(t.IDToken)
}

// writeKubeUser sets the user entry (and context) in the kubeconfig, with
// kubectl when it would lose nothing, else by editing the file; it returns
// which of the two wrote it.
func writeKubeUser(ctx context.Context, a *app, o *kubeSetupOptions, path string, src []byte, user string, e kube.Exec) (string, error) {
	lose, err := kube.KubectlWouldLose(src, user)
	if err != nil {
		return "", err
	}
	commas := strings.Contains(strings.Join(e.Args, ""), ",")
	if o.kubectl != "" && lose == "" && !commas {
		if err := kubectlSetUser(ctx, o.kubectl, path, user, e, o.context); err != nil {
			return "", err
		}
		return "kubectl", nil
	}
	if o.kubectl != "" && lose != "" {
		fmt.Fprintf(a.deps.Stderr, "Editing %s directly, since kubectl would lose %s.\n", path, lose)
	}
	out, err := kube.SetUser(src, user, e, o.context)
	if err != nil {
		return "", err
	}
	if err := kube.WriteFile(path, out); err != nil {
		return "", fmt.Errorf("write the kubeconfig: %w", err)
	}
	return "idcsctl", nil
}

// kubectlSetUser lets kubectl write the entry, as it writes its own
// kubeconfig (its lock file, its formatting).
func kubectlSetUser(ctx context.Context, kubectl, path, user string, e kube.Exec, kctx string) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, kubectl, append(args, "--kubeconfig", path)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl %s %s: %w: %s", args[0], args[1], err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	err := run("config", "set-credentials", user,
		"--exec-command", e.Command, "--exec-api-version", e.APIVersion,
		"--exec-arg", strings.Join(e.Args, ","), "--exec-interactive-mode", e.InteractiveMode)
	if err != nil || kctx == "" {
		return err
	}
	if err := run("config", "set-context", kctx, "--user", user); err != nil {
		return &contextNotSetError{err}
	}
	return nil
}

// contextNotSetError is a kubectl that set the user entry and then failed
// to set the context: the file has changed, unlike after other failures.
type contextNotSetError struct{ err error }

func (e *contextNotSetError) Error() string { return e.err.Error() }
func (e *contextNotSetError) Unwrap() error { return e.err }
