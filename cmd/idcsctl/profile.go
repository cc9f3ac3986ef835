package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/store"
)

// newProfileCmd groups the commands that list, choose and forget profiles,
// in the shape of gh auth switch, kubectl config use-context and az
// account set, so nobody has to edit TOML for them.
func newProfileCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "List the profiles, choose the default one, remove one",
		Long: `List the profiles of the config file, make one the default (the one every
command uses without -p), or remove one: rm logs it out first (revoking its
tokens at the domain), then deletes it from the config file. Only the lines of
the profile change; the rest of the file stays as you wrote it.`,
		Example: `  idcsctl profile list
  idcsctl profile use work
  idcsctl profile rm lab
  idcsctl profile list -o json | jq -r '.profiles[] | select(.default) | .name'`,
		Args: cobra.NoArgs, // Runnable, so that cobra checks its arguments: a mistyped
		// subcommand is a usage error, not this help with exit 0.
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newProfileListCmd(a), newProfileUseCmd(a), newProfileRmCmd(a))
	return cmd
}

type profileListOptions struct {
	doc docFlags
}

func newProfileListCmd(a *app) *cobra.Command {
	o := &profileListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the profiles; * marks the default, > the one IDCSCTL_PROFILE uses instead",
		Example: `  idcsctl profile list
  idcsctl profile list -o json
  idcsctl profile list --jq '.profiles[] | select(.default) | .name'
  idcsctl profile list --template '{{range .profiles}}{{.name}}{{"\t"}}{{.domain}}{{"\n"}}{{end}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProfileList(cmd.Context(), a, o, a.deps.Stdout)
		},
	}
	addDocFlags(cmd, &o.doc)
	return cmd
}

// profileListJSON is profile list's -o json document; a documented contract.
type profileListJSON struct {
	Profiles []profileEntry `json:"profiles"`
}

// profileEntry is one profile in profile list -o json; a documented contract.
type profileEntry struct {
	Name string `json:"name"`
	// Default: the configured default profile (default_profile, else the
	// profile named "default"), whatever this shell uses.
	Default bool `json:"default"`
	// InUse: the profile commands without -p use here, which
	// IDCSCTL_PROFILE (or -p) may make another than the default.
	InUse bool `json:"in_use"`
	// InUseFrom says why it is in use, only when that is not the default:
	// "IDCSCTL_PROFILE" or "--profile".
	InUseFrom string `json:"in_use_from,omitempty"`
	Domain    string `json:"domain,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	// InConfig is false for a profile that has tokens but no entry in the
	// config file (its entry was deleted by hand).
	InConfig bool `json:"in_config"`
}

func runProfileList(ctx context.Context, a *app, o *profileListOptions, w io.Writer) error {
	doc, err := a.document(&o.doc, "profile list", profileListJSON{})
	if err != nil {
		return err
	}
	f, err := a.loadConfig()
	if err != nil {
		return err
	}
	cur, from, err := f.ProfileChoice(a.deps.Getenv, a.global.profile)
	if err != nil {
		return &usageError{err}
	}
	def := f.Default()
	overridden := cur != def && (from == config.FromEnv || from == config.FromFlag)
	known := a.knownProfiles()
	out := []profileEntry{}
	for _, n := range allProfileNames(f, known) {
		e := profileEntry{Name: n, Default: n == def, InUse: n == cur}
		if e.InUse && overridden {
			e.InUseFrom = from
		}
		if p, ok := f.Profiles[n]; ok {
			// As status and whoami show it, however the file writes it.
			e.Domain, _ = config.NormalizeDomain(p.Domain)
			e.ClientID, e.InConfig = p.ClientID, true
		}
		out = append(out, e)
	}
	if doc != nil {
		return doc.write(ctx, w, profileListJSON{out})
	}
	if len(out) == 0 {
		fmt.Fprintln(a.deps.Stderr, "No profiles yet: `idcsctl login --domain https://idcs-<id>.identity.oraclecloud.com --client-id ID` creates one.")
		return nil
	}
	tw := a.newTable(w, "PROFILE", "DOMAIN", "CLIENT")
	for _, e := range out {
		name := "  " + e.Name
		switch {
		case e.Default:
			name = "* " + e.Name
		case e.InUseFrom != "":
			name = "> " + e.Name
		}
		tw.row(name, dash(e.Domain), dash(e.ClientID))
	}
	if err := tw.flush(); err != nil {
		return err
	}
	if overridden {
		// Said beside the table, not in it: the default is what the file
		// says; what this shell uses is another matter.
		fmt.Fprintln(a.deps.Stderr, inUseNote(cur, from, def, slices.ContainsFunc(out, func(e profileEntry) bool { return e.InUse })))
	}
	return nil
}

// inUseNote says which profile commands use here when -p or
// IDCSCTL_PROFILE overrides the default profile, and why.
func inUseNote(cur, from, def string, exists bool) string {
	why := "from " + from
	if from == config.FromEnv {
		why = fmt.Sprintf("from %s=%s", config.EnvProfile, cur)
	}
	if !exists {
		return fmt.Sprintf("Note: commands here use profile %q (%s), which does not exist; * marks the default, %q.", cur, why, def)
	}
	return fmt.Sprintf("> %s is the profile in use here (%s); * marks the default, %q.", cur, why, def)
}

type profileUseOptions struct{ name string }

func newProfileUseCmd(a *app) *cobra.Command {
	o := &profileUseOptions{}
	return &cobra.Command{
		Use:   "use NAME",
		Short: "Make a profile the default, used when no -p is given",
		Long: `Make NAME the default profile: commands without -p (or IDCSCTL_PROFILE) use it.
It is written as default_profile in the config file.`,
		Example: `  idcsctl profile use work
  idcsctl whoami              # now the profile "work"`,
		Args:              oneProfileArg,
		ValidArgsFunction: a.completeProfileArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runProfileUse(a, o)
		},
	}
}

func runProfileUse(a *app, o *profileUseOptions) error {
	f, err := a.loadConfig()
	if err != nil {
		return err
	}
	if _, ok := f.Profiles[o.name]; !ok {
		return noSuchProfile(f, o.name, a.knownProfiles())
	}
	was := f.DefaultProfile
	switch {
	case was == o.name:
		fmt.Fprintf(a.deps.Stderr, "Profile %q is the default already.\n", o.name)
	default:
		f.DefaultProfile = o.name
		if err := f.Save(); err != nil {
			return err
		}
		if was == "" {
			fmt.Fprintf(a.deps.Stderr, "Profile %q is the default now.\n", o.name)
		} else {
			fmt.Fprintf(a.deps.Stderr, "Profile %q is the default now (it was %q).\n", o.name, was)
		}
	}
	// Whether it changed or not, the person expects commands here to use
	// it: say when this shell's environment decides otherwise.
	if env := a.deps.Getenv(config.EnvProfile); env != "" && env != o.name {
		fmt.Fprintf(a.deps.Stderr, "warning: %s=%s is set in this shell and wins over the default: commands here use profile %q until you unset it (unset %s).\n",
			config.EnvProfile, env, env, config.EnvProfile)
	}
	return nil
}

type profileRmOptions struct {
	name     string
	noRevoke bool
}

func newProfileRmCmd(a *app) *cobra.Command {
	o := &profileRmOptions{}
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"remove"},
		Short:   "Log a profile out and delete it from the config file",
		Long: `Log NAME out (revoke its tokens at the domain, as idcsctl logout does, and
forget them), forget the client secret login --save-secret kept for it, then
delete its table from the config file. When it was the
default profile, no profile is the default any more.`,
		Example: `  idcsctl profile rm lab
  idcsctl profile rm lab --no-revoke   # the domain is gone: only forget`,
		Args:              oneProfileArg,
		ValidArgsFunction: a.completeProfileArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return runProfileRm(cmd.Context(), a, o)
		},
	}
	cmd.Flags().BoolVar(&o.noRevoke, "no-revoke", false, "only forget the tokens locally; do not contact the domain")
	return cmd
}

func runProfileRm(ctx context.Context, a *app, o *profileRmOptions) error {
	if err := config.CheckProfileName(o.name); err != nil {
		return &usageError{err}
	}
	f, err := a.loadConfig()
	if err != nil {
		return err
	}
	_, inFile := f.Profiles[o.name]
	dir, err := a.stateDir()
	if err != nil {
		return err
	}
	known, _ := store.Known(dir)
	if !inFile && !slices.Contains(known, o.name) {
		// Nothing to remove: no advice to sign in, which would create it.
		return unknownProfileError(o.name, allProfileNames(f, known), false)
	}
	p, err := f.Resolve(a.deps.Getenv, config.Overrides{Profile: o.name})
	if err != nil {
		return &usageError{err}
	}
	// Logged out first: a profile removed with live tokens would leave them
	// valid at the domain with nothing here to revoke them.
	if err := a.logoutProfile(ctx, p, o.noRevoke); err != nil {
		return fmt.Errorf("profile %q was not removed, since logging it out failed: %w", o.name, err)
	}
	// The client secret is a credential of the profile: it goes with it.
	if store.HasSecret(dir, o.name) {
		if err := a.forgetClientSecret(ctx, o.name); err != nil {
			return fmt.Errorf("profile %q was not removed: %w", o.name, err)
		}
		fmt.Fprintf(a.deps.Stderr, "Removed the client secret kept for profile %q.\n", o.name)
	}
	if !inFile {
		return nil
	}
	wasDefault := f.DefaultProfile == o.name
	f.Remove(o.name)
	if err := f.Save(); err != nil {
		return err
	}
	fmt.Fprintf(a.deps.Stderr, "Removed profile %q from %s.\n", o.name, f.Path())
	if wasDefault {
		fmt.Fprintf(a.deps.Stderr, "It was the default profile; choose another with `idcsctl profile use NAME` (%s).\n", strings.Join(orNone(f.Names()), ", "))
	}
	return nil
}

func orNone(names []string) []string {
	if len(names) == 0 {
		return []string{"no profile is left"}
	}
	return names
}

// oneProfileArg wants exactly one profile name: anything else is a usage
// error (exit 2) that says what to give.
func oneProfileArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("`%s` takes one profile name, got %d arguments (see `idcsctl profile list`)", cmd.CommandPath(), len(args))
	}
	return nil
}

// noSuchProfile is the usage error for a profile name that names nothing,
// with how to create it. known is what store.Known found, so that the
// folders are read once.
func noSuchProfile(f *config.File, name string, known []string) error {
	return unknownProfileError(name, allProfileNames(f, known), true)
}

// knownProfiles is the profiles with tokens in the state folder's stores
// (store.Known); none when the folder cannot be read.
func (a *app) knownProfiles() []string {
	dir, err := a.stateDir()
	if err != nil {
		return nil
	}
	known, _ := store.Known(dir)
	return known
}

// allProfileNames is every profile: the config file's and the known ones
// of the stores, sorted, each once.
func allProfileNames(f *config.File, known []string) []string {
	names := append(f.Names(), known...)
	slices.Sort(names)
	return slices.Compact(names)
}

// completeProfileArg offers the config's profiles for a NAME argument.
func (a *app) completeProfileArg(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completeProfiles(cmd, args, toComplete)
}
