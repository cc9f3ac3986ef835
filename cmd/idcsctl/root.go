package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/buildinfo"
	"github.com/idcsctl/idcsctl/internal/store"
)

// deps are everything a command touches outside its own memory. main
// passes the real ones; tests pass buffers, fakes and loopback servers.
type deps struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Environ is the environment a child command starts from.
	Environ func() []string
	// NotifySignals subscribes to signals (os/signal.Notify); stop ends
	// the subscription. nil means the process's own signals.
	NotifySignals func(sigs ...os.Signal) (ch <-chan os.Signal, stop func())
	Now           func() time.Time
	// OpenBrowser opens a URL for the person; nil means the platform's
	// browser, chosen by internal/browser.
	OpenBrowser func(url string) error
	// BrowserName says what OpenBrowser opens, for the sign-in message;
	// "" means the person's own browser.
	BrowserName string
	// Transport is the base of every HTTP client; nil means a transport
	// with the standard proxy variables and timeouts.
	Transport http.RoundTripper
	// Keyring is the OS keyring; nil means the real one.
	Keyring store.Keyring
	// StdoutIsTerminal says whether stdout is a terminal, for pretty output.
	StdoutIsTerminal bool
	// WatchInterrupts makes Ctrl-C and SIGTERM cancel the command's
	// context instead of ending the process; nil leaves them alone (tests).
	// Commands call it (through app.watchInterrupts) only when they start
	// to wait on the network or on the person. Until then ending at once
	// is right, since nothing is written but by an atomic rename under the
	// profile lock, and the cached `idcsctl token` does not pay for the
	// signal-handling threads that os/signal starts.
	WatchInterrupts func()
	// Stamp is what the release build's linker stamped (see main.go);
	// zero outside main, which version reads as "dev".
	Stamp buildinfo.Info
}

func defaultDeps() *deps {
	return &deps{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		Environ:          os.Environ,
		Now:              time.Now,
		StdoutIsTerminal: browser.IsTerminal(os.Stdout),
		Stamp:            buildinfo.Info{Version: version, Commit: commit, Date: date},
	}
}

// globalOptions are the flags every command takes.
type globalOptions struct {
	profile    string
	configPath string
	output     string
	debug      bool
}

// run executes one command line and returns the process's exit code. Its
// error, if any, goes to report (failure.go), which words it on stderr.
func run(ctx context.Context, args []string, d *deps) int {
	root := newRootCmdFor(d, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var name, parent string
	if err != nil {
		if n, _ := fmt.Sscanf(err.Error(), "unknown command %q for %q", &name, &parent); n == 2 {
			// cobra reports a mistyped command with a plain error over
			// several lines; it is a usage error like a mistyped flag.
			err = unknownCommand(name, parent, subcommandNames(root, parent))
		}
	}
	return report(d.Stderr, err)
}

// subcommandNames are the names of the commands under the command whose
// path is parent ("idcsctl", "idcsctl profile").
func subcommandNames(root *cobra.Command, parent string) []string {
	cmd := root
	if fields := strings.Fields(parent); len(fields) > 1 {
		if c, _, err := root.Find(fields[1:]); err == nil {
			cmd = c
		}
	}
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return names
}

// newRootCmd builds the whole command tree, for the reference pages and
// tests.
func newRootCmd(d *deps) *cobra.Command { return newRootCmdFor(d, nil) }

// newRootCmdFor builds the root command for one command line: with only the
// subcommand that args names, since building every command and its flags
// is work each process pays for and scripts call `idcsctl token` in loops;
// or with all of them when args names none of them (help, completion, a
// typo, no command), so that cobra can list them or suggest one.
func newRootCmdFor(d *deps, args []string) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "idcsctl",
		Short: "Sign in to Oracle IDCS / OCI IAM identity domains from a terminal",
		Long: `idcsctl signs you in to an Oracle Identity Cloud Service (IDCS) or OCI IAM
identity domain from a terminal with OpenID Connect (authorization code + PKCE),
keeps the tokens in the OS keyring, and hands scripts fresh access tokens.

Try it with no tenant at all:  idcsctl demo`,
		Example: `  idcsctl login --domain https://idcs-0123456789abcdef.identity.oraclecloud.com --client-id ID
  idcsctl whoami
  curl -H "Authorization: Bearer $(idcsctl token)" https://api.example.com/orders
  idcsctl -p work status -o json`,
		Version:       buildinfo.Read(d.Stamp).Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			switch g.output {
			case "text", "json":
				return nil
			default:
				return usagef("--output must be text or json, not %q", g.output)
			}
		},
	}
	root.SetIn(d.Stdin)
	root.SetOut(d.Stdout)
	root.SetErr(d.Stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see `%s --help`)", err, cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVarP(&g.profile, "profile", "p", "", "profile to use (env IDCSCTL_PROFILE; default: the config's default_profile, else \"default\")")
	pf.StringVar(&g.configPath, "config", "", "config file (env IDCSCTL_CONFIG; default: the user config folder's idcsctl/config.toml)")
	pf.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	pf.BoolVar(&g.debug, "debug", false, "print HTTP requests and timings on stderr, with every secret redacted")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))

	a := &app{deps: d, global: g}
	_ = root.RegisterFlagCompletionFunc("profile", a.completeProfiles)
	subcommands := append([]subcommand{
		{"login", newLoginCmd},
		{"logout", newLogoutCmd},
		{"token", newTokenCmd},
		{"whoami", newWhoamiCmd},
		{"fetch", newFetchCmd},
		{"status", newStatusCmd},
		{"profile", newProfileCmd},
		{"oci", newOCICmd},
		{"exec", newExecCmd},
		{"doctor", newDoctorCmd},
		{"kube", newKubeCmd},
		{"demo", newDemoCmd},
		{"version", newVersionCmd},
	}, releaseCommands()...)
	named := commandName(pf, args)
	for _, c := range subcommands {
		if c.name == named {
			root.AddCommand(c.build(a))
			// Nor is cobra's completion command, with its four shells.
			root.CompletionOptions.DisableDefaultCmd = true
		}
	}
	if !root.HasSubCommands() {
		for _, c := range subcommands {
			root.AddCommand(c.build(a))
		}
		root.AddCommand(newHelpTopicCmds()...)
		root.SetHelpCommand(newHelpCmd(root))
	}
	root.SetVersionTemplate("idcsctl {{.Version}}\n")
	return root
}

// subcommand is a command of the root and the constructor that builds it
// when the command line needs it.
type subcommand struct {
	name  string
	build func(*app) *cobra.Command
}

// commandName is the first argument that is neither one of the root's
// flags nor the value of one, which is where cobra looks for the command;
// "" when there is none.
func commandName(flags *pflag.FlagSet, args []string) string {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		var f *pflag.Flag
		switch {
		case arg == "--":
			return ""
		case strings.HasPrefix(arg, "--"):
			f = flags.Lookup(arg[2:]) // nil for --name=value, which holds its value
		case strings.HasPrefix(arg, "-") && len(arg) == 2:
			f = flags.ShorthandLookup(arg[1:])
		case strings.HasPrefix(arg, "-"):
			continue // -pVALUE, or a flag cobra rejects
		default:
			return arg
		}
		if f != nil && f.NoOptDefVal == "" {
			i++ // the flag's value is the next argument
		}
	}
	return ""
}

// completeProfiles offers the profiles of the config file.
func (a *app) completeProfiles(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	f, err := a.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, n := range f.Names() {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
