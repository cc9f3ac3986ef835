package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

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
	apiVersion    string
	cluster       string
	// kubectl is the kubectl found on PATH, whose version decides the
	// entry's API version and which may write it; "" for none.
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

The entry is in the exec API version the kubectl on PATH reads
(client.authentication.k8s.io/v1 from kubectl 1.22, v1beta1 before), or the
one --api-version names. With --context, that context uses the entry; a
context that does not exist is created, and needs a cluster (--cluster) before
kubectl can reach an API server through it.

With kubectl on PATH, kubectl writes the entry (kubectl config
set-credentials, and set-context with --context), unless the file holds
comments or the entry other credentials, which kubectl would drop or keep, or
that kubectl cannot write the entry whole (interactiveMode needs kubectl
1.30): then idcsctl edits the file itself, atomically. Running it again
updates the same entry. See docs/kubernetes.md.`,
		Example: `  idcsctl kube setup -p work --user idcs-work --context prod
  idcsctl kube setup -p work --context prod --cluster prod-cluster
  idcsctl kube setup --kubeconfig ./kubeconfig -o json
  idcsctl kube setup --api-version v1beta1   # for a kubectl older than 1.22 elsewhere`,
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
	f.StringVar(&o.cluster, "cluster", "", "make --context use this kubeconfig cluster too (a new context has none)")
	f.StringVar(&o.apiVersion, "api-version", "", "exec API version of the entry: v1 or v1beta1 (default: what the kubectl on PATH reads, else v1)")
	_ = cmd.RegisterFlagCompletionFunc("api-version", cobra.FixedCompletions([]string{"v1", "v1beta1"}, cobra.ShellCompDirectiveNoFileComp))
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
	Cluster                     string                           `json:"cluster,omitempty"`
	ReplacedUser                string                           `json:"replaced_user,omitempty"`
	WrittenBy                   string                           `json:"written_by"`
	Exec                        kube.Exec                        `json:"exec"`
	AuthenticationConfiguration kube.AuthenticationConfiguration `json:"authentication_configuration"`
}

func runKubeSetup(ctx context.Context, a *app, o *kubeSetupOptions) error {
	if o.usernameClaim == "" {
		return usagef("--username-claim must name a claim")
	}
	if o.cluster != "" && o.context == "" {
		return usagef("--cluster sets the cluster of --context: give --context too")
	}
	var apiVersion string
	if o.apiVersion != "" {
		v, err := kube.ParseAPIVersion(o.apiVersion)
		if err != nil {
			return usagef("--api-version: %v", err)
		}
		apiVersion = v
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
	before, err := kube.Read(src)
	if err != nil {
		return &usageError{fmt.Errorf("kubeconfig %s: %w; fix or move it, nothing was changed", path, err)}
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

	k := findKubectl(ctx, a, o.kubectl)
	switch {
	case apiVersion != "":
		if k != nil && k.version != nil && apiVersion != k.version.ExecAPIVersion() && apiVersion == kube.APIVersionV1 {
			fmt.Fprintf(a.deps.Stderr, "warning: kubectl %s on PATH reads only %s entries; this %s entry is for another kubectl\n", k.version, k.version.ExecAPIVersion(), apiVersion)
		}
	case k != nil && k.version != nil:
		apiVersion = k.version.ExecAPIVersion()
	default:
		apiVersion = kube.APIVersionV1
	}
	entry := kube.Entry{User: user, Exec: kube.ExecFor(apiVersion, o.command, a.pluginArgs(p, o)), Context: o.context, Cluster: o.cluster}
	writtenBy, err := writeKubeUser(ctx, a, k, path, src, entry)
	var partial *contextNotSetError
	switch {
	case errors.As(err, &partial):
		return fmt.Errorf("%w; user %q is set in %s, run the command again to set the context", err, user, path)
	case err != nil:
		return fmt.Errorf("%w; the kubeconfig %s was not changed", err, path)
	}
	cc := describeContext(before, entry)
	cc.warn(a.deps.Stderr, path)
	if a.global.output == "json" {
		return writeJSON(a.deps.Stdout, kubeSetupJSON{Kubeconfig: path, User: user, Context: o.context, Cluster: cc.cluster, ReplacedUser: cc.replaced,
			WrittenBy: writtenBy, Exec: entry.Exec, AuthenticationConfiguration: settings.AuthenticationConfiguration()})
	}
	fmt.Fprintf(a.deps.Stderr, "Set user %q in %s (written by %s): kubectl runs %s %s.\n", user, path, writtenBy, entry.Exec.Command, strings.Join(entry.Exec.Args, " "))
	if o.context != "" && cc.cluster != "" {
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

// kubectlOnPath is the kubectl found on PATH and its version; version is
// nil when kubectl would not say it.
type kubectlOnPath struct {
	path    string
	version *kube.KubectlVersion
}

// findKubectl asks the kubectl at path (none when "") its version, which
// decides what entry it reads and can write. A kubectl that will not say is
// not given the file to write, and the person is told what that means.
func findKubectl(ctx context.Context, a *app, path string) *kubectlOnPath {
	if path == "" {
		return nil
	}
	k := &kubectlOnPath{path: path}
	v, err := kubectlVersion(ctx, path)
	if err != nil {
		fmt.Fprintf(a.deps.Stderr, "warning: could not tell the version of %s (%v): idcsctl writes the entry itself, and a kubectl before 1.22 needs --api-version v1beta1\n", path, err)
		return k
	}
	k.version = &v
	return k
}

// kubectlVersionTimeout bounds `kubectl version --client`, which reads no
// network: a kubectl that hangs must not hang setup.
const kubectlVersionTimeout = 20 * time.Second

func kubectlVersion(ctx context.Context, path string) (kube.KubectlVersion, error) {
	ctx, cancel := context.WithTimeout(ctx, kubectlVersionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "version", "--client", "-o", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return kube.KubectlVersion{}, fmt.Errorf("kubectl version --client: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return kube.ParseKubectlVersion(stdout.Bytes())
}

// writeKubeUser sets the user entry (and context) in the kubeconfig, with
// kubectl when it can write the entry whole and would lose nothing, else
// by editing the file; it returns which of the two wrote it. A new folder
// for the file is made 0700 either way (kubectl would make it 0755).
func writeKubeUser(ctx context.Context, a *app, k *kubectlOnPath, path string, src []byte, e kube.Entry) (string, error) {
	lose, err := kube.KubectlWouldLose(src, e.User)
	if err != nil {
		return "", err
	}
	var why string
	switch {
	case k == nil:
	case k.version == nil:
		why = "kubectl did not say its version"
	case lose != "":
		why = "kubectl would lose " + lose
	case strings.Contains(strings.Join(e.Exec.Args, ""), ","):
		why = "an argument holds a comma, where kubectl's --exec-arg splits"
	default:
		why = k.version.CannotWrite(e.Exec)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("make the kubeconfig's folder: %w", err)
	}
	if k != nil && why == "" {
		if err := kubectlSetUser(ctx, k.path, path, e); err != nil {
			return "", err
		}
		return "kubectl", nil
	}
	if k != nil && k.version != nil {
		fmt.Fprintf(a.deps.Stderr, "Editing %s directly, since %s.\n", path, why)
	}
	out, err := kube.SetUser(src, e)
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
func kubectlSetUser(ctx context.Context, kubectl, path string, e kube.Entry) error {
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, kubectl, append(args, "--kubeconfig", path)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl %s %s: %w: %s", args[0], args[1], err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	args := []string{"config", "set-credentials", e.User,
		"--exec-command", e.Exec.Command, "--exec-api-version", e.Exec.APIVersion, "--exec-arg", strings.Join(e.Exec.Args, ",")}
	if e.Exec.InteractiveMode != "" {
		args = append(args, "--exec-interactive-mode", e.Exec.InteractiveMode)
	}
	if err := run(args...); err != nil || e.Context == "" {
		return err
	}
	args = []string{"config", "set-context", e.Context, "--user", e.User}
	if e.Cluster != "" {
		args = append(args, "--cluster", e.Cluster)
	}
	if err := run(args...); err != nil {
		return &contextNotSetError{err}
	}
	return nil
}

// contextChange is what setting the entry did to --context's context.
type contextChange struct {
	name, user string
	// cluster is the context's cluster now, "" for none.
	cluster string
	// replaced is the user the context used before, when another.
	replaced string
	// unknownCluster is a --cluster the file does not list.
	unknownCluster string
	// clusters are the file's clusters, for the hint.
	clusters []string
}

// describeContext works out what writing e changed in the context of a
// kubeconfig that held before.
func describeContext(before kube.Contents, e kube.Entry) contextChange {
	if e.Context == "" {
		return contextChange{}
	}
	old := before.Contexts[e.Context]
	c := contextChange{name: e.Context, user: e.User, cluster: old.Cluster, clusters: before.Clusters}
	if e.Cluster != "" {
		c.cluster = e.Cluster
		if !before.HasCluster(e.Cluster) {
			c.unknownCluster = e.Cluster
		}
	}
	if old.User != "" && old.User != e.User {
		c.replaced = old.User
	}
	return c
}

// warn tells the person what the context change means for kubectl: a user
// replaced, a cluster that is missing or not in the file.
func (c contextChange) warn(w io.Writer, path string) {
	if c.name == "" {
		return
	}
	if c.replaced != "" {
		fmt.Fprintf(w, "Context %q used user %q; it now uses %q.\n", c.name, c.replaced, c.user)
	}
	if c.unknownCluster != "" {
		fmt.Fprintf(w, "warning: %s has no cluster %q; kubectl finds it only if another file of KUBECONFIG has it\n", path, c.unknownCluster)
	}
	if c.cluster != "" {
		return
	}
	if len(c.clusters) == 0 {
		fmt.Fprintf(w, "warning: context %q has no cluster, so kubectl --context %s would reach no API server, and %s has no clusters yet: add one (kubectl config set-cluster NAME --server URL --kubeconfig %s), then run this again with --cluster NAME\n",
			c.name, c.name, path, path)
		return
	}
	fmt.Fprintf(w, "warning: context %q has no cluster, so kubectl --context %s would reach no API server: run this again with --cluster NAME (the clusters of %s: %s), or kubectl config set-context %s --cluster NAME --kubeconfig %s\n",
		c.name, c.name, path, strings.Join(c.clusters, ", "), c.name, path)
}

// contextNotSetError is a kubectl that set the user entry and then failed
// to set the context: the file has changed, unlike after other failures.
type contextNotSetError struct{ err error }

func (e *contextNotSetError) Error() string { return e.err.Error() }
func (e *contextNotSetError) Unwrap() error { return e.err }
