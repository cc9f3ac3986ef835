package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/child"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/oci"
)

type execOptions struct {
	session ociSessionOptions
}

func newExecCmd(a *app) *cobra.Command {
	o := &execOptions{}
	cmd := &cobra.Command{
		Use:   "exec [flags] [--] COMMAND [ARGS...]",
		Short: "Run a command with the profile's OCI session, kept fresh while it runs",
		Long: `Run COMMAND with the environment that makes the oci CLI and Terraform's OCI
provider use the profile's OCI session (see ` + "`idcsctl oci session`" + `), and keep the
session fresh for as long as COMMAND runs: a UPST lives an hour at most, and a
long terraform apply or script outlives it. The session is renewed in place,
with the same key, before it expires: the OCI Go SDK (and so Terraform) reads
the token file again for each request, and each oci command reads it as it
starts.

COMMAND has the terminal, stdin, stdout and stderr; the signals idcsctl is sent
(INT, TERM, HUP, QUIT, WINCH, USR1, USR2) reach it once; idcsctl exits with its
exit code (128+n when signal n ended it; 127 when it is not found, 126 when it
cannot run). If idcsctl is killed, COMMAND gets SIGTERM (Linux).

When the session can no longer be renewed (the sign-in ended, the trust was
removed, the domain does not answer), idcsctl says so once on stderr, with the
time the session ends and what to do, and keeps trying; it never stops COMMAND,
and picks up a new sign-in made in another terminal.

The environment holds names, paths and the region, never a token or a secret:
OCI_CLI_CONFIG_FILE, OCI_CLI_PROFILE, OCI_CLI_AUTH, OCI_CLI_REGION, OCI_AUTH,
OCI_CONFIG_FILE_PROFILE, OCI_REGION, OCI_CONFIG_FILE and IDCSCTL_PROFILE; the
oci CLI's key overrides (OCI_CLI_USER, OCI_CLI_KEY_FILE, ...) and
IDCSCTL_CLIENT_SECRET are left out (docs/oci.md, "Long runs").`,
		Example: `  idcsctl exec -- terraform apply
  idcsctl exec -p work --region eu-frankfurt-1 -- oci os ns get
  idcsctl exec --oci-session deploy -- ./deploy.sh --all`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name the command to run: idcsctl exec [flags] -- COMMAND [ARGS...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExec(cmd.Context(), a, o, args)
		},
	}
	f := cmd.Flags()
	// Flags after COMMAND are COMMAND's, with or without "--".
	f.SetInterspersed(false)
	addOCISessionFlags(cmd, &o.session)
	f.StringVar(&o.session.name, "oci-session", "", "name of the OCI session (default idcsctl-<profile>)")
	_ = cmd.RegisterFlagCompletionFunc("oci-session", a.completeOCISessions)
	return cmd
}

// runExec makes the session fresh, runs argv beside a keeper of the
// session, and passes on argv's exit status.
func runExec(ctx context.Context, a *app, o *execOptions, argv []string) error {
	f, p, err := a.resolve(o.session.overrides)
	if err != nil {
		return err
	}
	// From here on the signals are the command's: subscribed before the
	// first network call, so that Ctrl-C while the session is made ends
	// idcsctl cleanly, and none is lost once the command runs.
	sigs, stop := a.notifySignals(child.Forwarded...)
	defer stop()
	ensure, err := a.ociEnsurer(ctx, p, &o.session)
	if err != nil {
		return err
	}
	s, err := interruptible(ctx, sigs, ensure)
	if err != nil {
		return err
	}
	a.rememberRegion(f, p, &o.session)
	cmd, err := a.execCommand(argv, p.Name, s)
	if err != nil {
		return err
	}
	for _, w := range terraformWarnings(argv[0], s, a.deps.Getenv) {
		fmt.Fprintf(a.deps.Stderr, "idcsctl: warning: %s\n", w)
	}
	if release, err := a.announceKeeper(p.Name, s, "exec"); err != nil {
		fmt.Fprintf(a.deps.Stderr, "idcsctl: warning: %v (oci session --status will not list this run)\n", err)
	} else {
		defer release()
	}
	keepCtx, stopKeeping := context.WithCancel(ctx)
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		k := &oci.Keeper{Ensure: ensure, Margin: o.session.margin, Now: a.deps.Now, Report: a.reportKeeping(true)}
		k.Run(keepCtx, s)
	}()
	code, err := child.Run(cmd, sigs)
	stopKeeping()
	<-kept
	if err != nil {
		return &exitStatus{code: 126, err: fmt.Errorf("%s: cannot run it: %w", argv[0], err)}
	}
	if code == 0 {
		return nil
	}
	return &exitStatus{code: code}
}

// interruptible runs ensure until it ends or a signal that asks to stop
// (INT, TERM, HUP, QUIT) comes: then the command is not started, even if
// the session was ready by then, and idcsctl exits as the signal would
// have ended it.
func interruptible(ctx context.Context, sigs <-chan os.Signal, ensure func(context.Context) (*oci.Session, error)) (*oci.Session, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		s   *oci.Session
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := ensure(ctx)
		done <- result{s, err}
	}()
	var stopped syscall.Signal
	for {
		select {
		case r := <-done:
			if stopped != 0 {
				return nil, &exitStatus{code: 128 + int(stopped), err: fmt.Errorf("stopped (%v) before the command started", stopped)}
			}
			return r.s, r.err
		case sig := <-sigs:
			switch sig {
			case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
				if stopped == 0 {
					stopped = sig.(syscall.Signal)
				}
				cancel()
			}
		}
	}
}

// execCommand is argv, found on PATH as a shell finds it, with the
// environment that points the OCI tools at session s of profile. A
// command that is not there exits 127, one that cannot run 126, as in a
// shell.
func (a *app) execCommand(argv []string, profile string, s *oci.Session) (*exec.Cmd, error) {
	path, err := exec.LookPath(argv[0])
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return nil, &exitStatus{code: 127, err: fmt.Errorf("%s: command not found (check its name and PATH)", argv[0])}
	case errors.Is(err, exec.ErrDot):
		return nil, &exitStatus{code: 126, err: fmt.Errorf("%s: found in the current folder only; run it as ./%s", argv[0], argv[0])}
	case err != nil:
		return nil, &exitStatus{code: 126, err: fmt.Errorf("%s: cannot run it: %w", argv[0], errors.Unwrap(err))}
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = withEnv(a.environ(), ociSessionEnv(profile, s), ociCLIOverrides)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.deps.Stdin, a.deps.Stdout, a.deps.Stderr
	return cmd, nil
}

// ociSessionEnv is what points the oci CLI, the OCI SDKs and Terraform's
// OCI provider at session s: names, paths and the region only. docs/oci.md
// ("Long runs") says which tool reads which, from their sources.
func ociSessionEnv(profile string, s *oci.Session) []string {
	return []string{
		// The oci CLI: its file, profile and auth (flags still win).
		"OCI_CLI_CONFIG_FILE=" + s.Paths.Config,
		"OCI_CLI_PROFILE=" + s.Name,
		"OCI_CLI_AUTH=security_token",
		"OCI_CLI_REGION=" + s.Region,
		// Terraform's provider: auth = "SecurityToken" needs the profile
		// and the region; it reads ~/.oci/config alone.
		"OCI_AUTH=SecurityToken",
		"OCI_CONFIG_FILE_PROFILE=" + s.Name,
		"OCI_REGION=" + s.Region,
		// The SDKs read it when ~/.oci/config is missing.
		"OCI_CONFIG_FILE=" + s.Paths.Config,
		// A nested idcsctl uses the same profile.
		"IDCSCTL_PROFILE=" + profile,
	}
}

// ociCLIOverrides are the oci CLI's variables that take the place of the
// profile's keys: inherited, they would sign with another identity or
// stop the CLI reading the session at all (and some carry a key). exec
// leaves them out of the command's environment.
var ociCLIOverrides = []string{
	"OCI_CLI_USER", "OCI_CLI_TENANCY", "OCI_CLI_FINGERPRINT", "OCI_CLI_KEY_FILE",
	"OCI_CLI_KEY_CONTENT", "OCI_CLI_PASSPHRASE", "OCI_CLI_SECURITY_TOKEN_FILE",
	"OCI_CLI_DELEGATION_TOKEN_FILE",
	// idcsctl's own secret stays with idcsctl.
	config.EnvClientSecret,
}

// withEnv is env without the variables named in drop, and with those of
// set in place of any of the same name.
func withEnv(env, set, drop []string) []string {
	names := map[string]bool{}
	for _, n := range drop {
		names[n] = true
	}
	for _, kv := range set {
		n, _, _ := strings.Cut(kv, "=")
		names[n] = true
	}
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		if n, _, _ := strings.Cut(kv, "="); !names[n] {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}

// terraformWarnings says what would keep Terraform's OCI provider from the
// session: its TF_VAR_ variables win over the OCI_ ones exec sets, and it
// reads sessions from ~/.oci/config alone (said when COMMAND is terraform
// or tofu).
func terraformWarnings(command string, s *oci.Session, getenv func(string) string) []string {
	var out []string
	for _, v := range []struct{ name, want string }{
		{"TF_VAR_auth", "SecurityToken"}, {"TF_VAR_config_file_profile", s.Name}, {"TF_VAR_region", s.Region},
	} {
		if got := getenv(v.name); got != "" && !strings.EqualFold(got, v.want) {
			out = append(out, fmt.Sprintf("%s=%s wins over the session's %s for Terraform's OCI provider; unset it to use the session", v.name, got, v.want))
		}
	}
	switch strings.TrimSuffix(filepath.Base(command), ".exe") {
	case "terraform", "tofu":
		if def, err := oci.DefaultConfigPath(); err == nil && s.Paths.Config != def {
			out = append(out, fmt.Sprintf("Terraform's OCI provider reads sessions from %s alone, and this one is in %s: drop --oci-config for Terraform", def, s.Paths.Config))
		}
	}
	return out
}

// reportKeeping words what a keeper of a session reports, on stderr: each
// renewal only for oci session --keep-fresh, where nothing else is said; a
// run of failures always, once as it starts, once when the session
// expires and once as it ends. exec's lines say they are idcsctl's, among
// the command's own.
func (a *app) reportKeeping(exec bool) func(oci.KeepEvent) {
	w := a.deps.Stderr
	prefix := ""
	if exec {
		prefix = "idcsctl: "
	}
	return func(ev oci.KeepEvent) {
		s := ev.Session
		switch ev.Kind {
		case oci.Renewed:
			if !exec {
				fmt.Fprintf(w, "OCI session %q renewed; valid until %s.\n", s.Name, a.when(s.Expiry))
			}
		case oci.Failing:
			what, fix := explain(ev.Err)
			if fix != "" {
				fix = "; " + fix
			}
			fmt.Fprintf(w, "%swarning: cannot renew OCI session %q: %s%s. It ends %s; idcsctl keeps trying, and a new sign-in needs no restart.\n", prefix, s.Name, what, fix, a.when(s.Expiry))
		case oci.Expired:
			fmt.Fprintf(w, "%swarning: OCI session %q expired %s: OCI calls fail until it is renewed.\n", prefix, s.Name, a.when(s.Expiry))
		case oci.Recovered:
			tries := "1 failed try"
			if ev.Tries > 1 {
				tries = fmt.Sprintf("%d failed tries", ev.Tries)
			}
			fmt.Fprintf(w, "%sOCI session %q renewed after %s; valid until %s.\n", prefix, s.Name, tries, a.when(s.Expiry))
		}
	}
}
