package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/emulator"
)

type demoOptions struct {
	serve          bool
	addr           string
	realBrowser    bool
	accessTTL      time.Duration
	rotate         bool
	browserCommand string
}

func newDemoCmd(a *app) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole sign-in against a built-in IDCS emulator",
		Long: `Run the main job end to end on this machine, with no tenant and no display:
start the built-in IDCS emulator on a free loopback port, sign in to it with the
real login flow, show whoami, the token, what fetch /admin/v1/Me prints, and log out.
It uses a temporary config and token store and never touches your profiles or
keyring.

By default a built-in stand-in browser fills in the emulator's sign-in form
over HTTP; --browser opens your real browser instead (sign in as
demo.user@example.com / Demo-Passw0rd!).

With --serve, only the emulator runs, until Ctrl-C, so you can point a profile
at it; see docs/emulator.md.`,
		Example: `  idcsctl demo
  idcsctl demo --browser
  idcsctl demo --serve --addr 127.0.0.1:9999 --access-token-ttl 2m --rotate-refresh-tokens`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.serve {
				return runDemoServe(cmd.Context(), a, o)
			}
			return runDemo(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.serve, "serve", false, "only run the emulator until Ctrl-C and print how to use it")
	f.StringVar(&o.addr, "addr", "127.0.0.1:0", "with --serve: the loopback address to listen on")
	f.BoolVar(&o.realBrowser, "browser", false, "sign in with your real browser instead of the built-in stand-in")
	f.StringVar(&o.browserCommand, "browser-command", "", "with --browser: command that opens the URL")
	f.DurationVar(&o.accessTTL, "access-token-ttl", time.Hour, "lifetime of the emulator's access tokens")
	f.BoolVar(&o.rotate, "rotate-refresh-tokens", false, "the emulator replaces the refresh token on every refresh")
	return cmd
}

func (o *demoOptions) emulatorOptions() (emulator.Options, error) {
	if o.accessTTL < time.Second {
		return emulator.Options{}, usagef("--access-token-ttl must be at least 1s")
	}
	return emulator.Options{AccessTokenTTL: o.accessTTL, RotateRefreshTokens: o.rotate}, nil
}

// runDemoServe runs the emulator alone and says how to sign in to it.
func runDemoServe(ctx context.Context, a *app, o *demoOptions) error {
	a.watchInterrupts() // Ctrl-C is how the person stops it
	host, _, err := net.SplitHostPort(o.addr)
	if err != nil || !isLoopback(host) {
		return usagef("--addr must be a loopback address such as 127.0.0.1:9999, not %q", o.addr)
	}
	opts, err := o.emulatorOptions()
	if err != nil {
		return err
	}
	srv, err := emulator.Start(opts, o.addr)
	if err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer srv.Close()
	for _, port := range config.DefaultRedirectPorts {
		for _, c := range []string{emulator.DemoPublicClientID, emulator.DemoConfidentialClientID} {
			if err := srv.AddRedirectURI(c, fmt.Sprintf("http://127.0.0.1:%d/callback", port)); err != nil {
				return err
			}
		}
	}
	if a.global.output == "json" {
		err = writeJSON(a.deps.Stdout, map[string]any{
			"domain":                     srv.URL,
			"public_client_id":           emulator.DemoPublicClientID,
			"confidential_client_id":     emulator.DemoConfidentialClientID,
			"confidential_client_secret": emulator.DemoConfidentialClientSecret,
			"user_name":                  emulator.DemoUser.UserName,
			"password":                   emulator.DemoUserPassword,
			"counts_url":                 srv.URL + "/emulator/v1/counts",
			"knobs_url":                  srv.URL + "/emulator/v1/knobs",
		})
	} else {
		_, err = fmt.Fprintf(a.deps.Stdout, `IDCS emulator listening on %[1]s (Ctrl-C stops it)

  domain URL:            %[1]s
  public client id:      %[2]s
  confidential client:   %[3]s  secret %[4]s
  user / password:       %[5]s / %[6]s
  redirect URIs:         http://127.0.0.1:{8000,18000,28000}/callback
  request counts:        %[1]s/emulator/v1/counts
  knobs:                 POST %[1]s/emulator/v1/knobs

Sign in to it:
  idcsctl login -p emulator --domain %[1]s --client-id %[2]s
`, srv.URL, emulator.DemoPublicClientID, emulator.DemoConfidentialClientID, emulator.DemoConfidentialClientSecret,
			emulator.DemoUser.UserName, emulator.DemoUserPassword)
	}
	if err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(a.deps.Stderr, "Emulator stopped.")
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runDemo signs in to a fresh emulator with the real commands, each step
// told on stderr and its result on stdout.
func runDemo(ctx context.Context, a *app, o *demoOptions) error {
	a.watchInterrupts() // so that Ctrl-C still removes the temporary folder
	opts, err := o.emulatorOptions()
	if err != nil {
		return err
	}
	srv, err := emulator.Start(opts, "")
	if err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer srv.Close()

	dir, err := os.MkdirTemp("", "idcsctl-demo-")
	if err != nil {
		return fmt.Errorf("make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)

	port, err := freePort()
	if err != nil {
		return err
	}
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", port)
	if err := srv.AddRedirectURI(emulator.DemoPublicClientID, redirect); err != nil {
		return err
	}
	cfg := &config.File{}
	cfgPath := filepath.Join(dir, "config.toml")
	if cfg, err = config.Load(cfgPath); err != nil {
		return err
	}
	cfg.Put(config.Profile{Name: "demo", Domain: srv.URL, ClientID: emulator.DemoPublicClientID, RedirectPorts: []int{port}, TokenStore: "file"})
	if err := cfg.Save(); err != nil {
		return err
	}

	// The demo's own app: its config and store, none of the person's
	// IDCSCTL_* settings, the same output streams.
	dd := *a.deps
	dd.Getenv = demoEnv(a.deps.Getenv)
	dd.Keyring = nil
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if !o.realBrowser {
		fb := &browser.FormBrowser{Username: emulator.DemoUser.UserName, Password: emulator.DemoUserPassword,
			Done: func(err error) {
				if err != nil {
					cancel(fmt.Errorf("the stand-in browser failed: %w", err))
				}
			}}
		dd.BrowserName = "the built-in stand-in browser (it signs in as " + emulator.DemoUser.UserName + ")"
		dd.OpenBrowser = fb.Open
	} else {
		dd.OpenBrowser = nil
		fmt.Fprintf(a.deps.Stderr, "Sign in as %s with password %s.\n", emulator.DemoUser.UserName, emulator.DemoUserPassword)
	}
	demo := &app{deps: &dd, global: &globalOptions{configPath: cfgPath, output: "text", profile: "demo", debug: a.global.debug}}

	out, errw := a.deps.Stdout, a.deps.Stderr
	step := func(n int, what string) { fmt.Fprintf(errw, "\n==> %d/5 %s\n", n, what) }

	fmt.Fprintf(errw, "IDCS emulator on %s; temporary profile \"demo\" in %s\n", srv.URL, dir)
	step(1, "idcsctl login")
	if err := runLogin(ctx, demo, &loginOptions{timeout: 2 * time.Minute, browserCommand: o.browserCommand}); err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return fmt.Errorf("%w (%v)", err, cause)
		}
		return err
	}
	step(2, "idcsctl whoami")
	if err := runWhoami(ctx, demo, &whoamiOptions{source: "default"}); err != nil {
		return err
	}
	step(3, "idcsctl token")
	var tok bytes.Buffer
	demo.deps.Stdout = &tok
	err = runToken(ctx, demo, &tokenOptions{margin: time.Minute})
	demo.deps.Stdout = out
	if err != nil {
		return err
	}
	t := strings.TrimSpace(tok.String())
	fmt.Fprintf(out, "%s... (%d characters; the whole token is what `idcsctl token` prints)\n", t[:min(len(t), 24)], len(t))
	step(4, "idcsctl fetch /admin/v1/Me")
	var body bytes.Buffer
	demo.deps.Stdout = &body
	err = runFetch(ctx, demo, &fetchOptions{target: "/admin/v1/Me", retries: 2})
	demo.deps.Stdout = out
	if err != nil {
		return err
	}
	// As a terminal shows it: fetch indents JSON for a terminal only.
	shown := body.Bytes()
	var pretty bytes.Buffer
	if json.Indent(&pretty, shown, "", "  ") == nil {
		shown = pretty.Bytes()
	}
	writeShortened(out, shown, 12, "the whole body is what `idcsctl fetch /admin/v1/Me` prints")
	step(5, "idcsctl logout")
	if err := runLogout(ctx, demo, &logoutOptions{}); err != nil {
		return err
	}
	counts := srv.Counts()
	fmt.Fprintf(errw, "\nDone: signed in, used and revoked tokens against the emulator (%s, %s).\n",
		plural(counts["/oauth2/v1/token"], "token request"), plural(counts["/oauth2/v1/revoke"], "revocation"))
	return nil
}

// writeShortened writes the first lines of body and, when it had more,
// one line that says how much was left out and where the whole is.
func writeShortened(w io.Writer, body []byte, lines int, whole string) {
	text := strings.TrimRight(string(body), "\n")
	all := strings.Split(text, "\n")
	if len(all) <= lines {
		fmt.Fprintln(w, text)
		return
	}
	fmt.Fprintln(w, strings.Join(all[:lines], "\n"))
	fmt.Fprintf(w, "... (%d more lines, %d bytes in all; %s)\n", len(all)-lines, len(body), whole)
}

// demoEnv hides the person's idcsctl settings from the demo, so it cannot
// reach their profiles, and keeps everything else (proxies, BROWSER).
func demoEnv(getenv func(string) string) func(string) string {
	return func(k string) string {
		if strings.HasPrefix(k, "IDCSCTL_") {
			return ""
		}
		return getenv(k)
	}
}

// freePort asks the kernel for a loopback port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
