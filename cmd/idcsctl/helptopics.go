package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
)

// Help topics: `idcsctl help environment`, `idcsctl help exit-codes` and
// `idcsctl help config` answer what docs/configuration.md and
// docs/exit-codes.md say, for someone with the binary and no package (the
// man pages come with the deb, rpm and apk only). TestHelpTopicsAgreeWithDocs
// holds each to its docs page; exit-codes is made from exitCodes, the table
// the failure classifier uses.

// helpEnvironment is `idcsctl help environment`.
const helpEnvironment = `idcsctl reads these environment variables. A flag wins over them; they win
over the config file (see idcsctl help config).

  IDCSCTL_PROFILE        the profile to use, as -p (default: the config's
                         default_profile, else "default")
  IDCSCTL_CONFIG         the config file, as --config (default: the user
                         config folder's idcsctl/config.toml)
  IDCSCTL_DOMAIN         the identity domain URL, as login --domain
  IDCSCTL_CLIENT_ID      the application's client id, as login --client-id
  IDCSCTL_CLIENT_SECRET  a confidential application's secret; never written
                         to the config file
  IDCSCTL_TOKEN_STORE    where tokens are kept, as --token-store: auto,
                         keyring, file or none

Others it honours:

  HTTPS_PROXY, HTTP_PROXY, NO_PROXY
                         the proxy of every request
  BROWSER                the browser command login opens
  NO_COLOR               no colour even on a terminal (so does TERM=dumb)
  XDG_CONFIG_HOME        the user config folder on Linux (default ~/.config)
  KUBERNETES_EXEC_INFO   set by kubectl when it runs idcsctl kube token

More: docs/configuration.md.`

// helpConfig is `idcsctl help config`.
const helpConfig = `The config file is TOML, human-editable, and yours: --config or IDCSCTL_CONFIG
names it, else <user config folder>/idcsctl/config.toml ($XDG_CONFIG_HOME or
~/.config on Linux, ~/Library/Application Support on macOS, %AppData% on
Windows). idcsctl login --domain ... --client-id ... writes the profile it used;
idcsctl edits only the lines it changes, so your comments and layout stay.

  default_profile = "work"

  [profiles.work]
  domain = "https://idcs-0123456789abcdef.identity.oraclecloud.com"
  client_id = "a1b2c3d4e5f6"
  redirect_ports = [8000, 18000]

Keys of a [profiles.NAME] table:

  domain          the identity domain URL
  client_id       the application's client id
  scopes          the scopes to ask for, as a list
  redirect_ports  loopback ports of login's callback (default 8000, 18000, 28000)
  redirect_url    the redirect URI registered in the application
  token_store     auto, keyring, file or none
  allowed_hosts   hosts fetch may send the token to (default: the domain only)
  ca_file         a PEM file of an extra CA to trust
  timeout         the network timeout, a duration such as "30s" (at most "1h")
  oci_region      the region of oci session (remembered from --region)
  confidential    true: the application has a client secret (never in the
                  file), so a command without one says it is missing

A flag wins over the environment (idcsctl help environment), which wins over
the file. A file or folder other users can write, an unknown key or a bad value
is refused (exit 2) with the file, the line and the fix.

More: docs/configuration.md.`

// helpExitCodes is `idcsctl help exit-codes`, from exitCodes.
func helpExitCodes() string {
	var b strings.Builder
	b.WriteString("idcsctl's exit codes are a contract with scripts:\n\n")
	for _, c := range exitCodes {
		fmt.Fprintf(&b, "  %d  %s\n", c.code, strings.ReplaceAll(c.meaning, "`", ""))
		if c.remedy != "" {
			fmt.Fprintf(&b, "     %s\n", strings.ReplaceAll(c.remedy, "`", ""))
		}
	}
	b.WriteString("\nidcsctl exec -- COMMAND exits with COMMAND's status once it has started it:\nits exit code, 128+n when signal n ended it, 127 when it is not found, 126\nwhen it cannot run.\n")
	b.WriteString("\nEvery failure is one line on stderr: what happened and what to do.\nMore: docs/exit-codes.md.")
	return b.String()
}

// newHelpTopicCmds are the help topics: commands without a run function,
// which cobra lists as "Additional help topics" and shows with help.
func newHelpTopicCmds() []*cobra.Command {
	return []*cobra.Command{
		{Use: "environment", Short: "The environment variables idcsctl reads", Long: helpEnvironment},
		{Use: "exit-codes", Short: "What each exit code means and what to do", Long: helpExitCodes()},
		{Use: "config", Short: "The config file: where it is, its keys, an example", Long: helpConfig},
	}
}

// newHelpCmd is cobra's help command, except that a command or topic it
// does not know is a usage error (exit 2) naming the nearest one, where
// cobra prints the whole usage and exits 0: a script's typo must not pass.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command or topic",
		Long:  "Help about any command or topic: idcsctl help COMMAND [SUBCOMMAND], or idcsctl help TOPIC.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
					names = append(names, sub.Name())
				}
			}
			return withPrefix(names, toComplete), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				parent := root
				if cmd != nil {
					parent = cmd
				}
				name := args[len(args)-1]
				if len(rest) > 0 {
					name = rest[0]
				}
				var names []string
				for _, sub := range parent.Commands() {
					if sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
						names = append(names, sub.Name())
					}
				}
				hint := ""
				if s := config.Suggest(name, names); len(s) > 0 {
					hint = fmt.Sprintf(" (did you mean %q?)", s[0])
				}
				list := "`idcsctl help` lists the commands and topics"
				if parent != root {
					list = fmt.Sprintf("`%s` lists its commands", "idcsctl help "+strings.TrimPrefix(parent.CommandPath(), root.Name()+" "))
				}
				return usagef("no help for %q%s; %s", strings.Join(args, " "), hint, list)
			}
			return cmd.Help()
		},
	}
}
