// Package browser opens the sign-in page for a person, and stands in for
// one where there is no person (demo, tests).
//
// Opening a browser from a terminal goes wrong in ways the usual launchers
// ignore: over SSH or in a container there is no display, on WSL the
// browser lives on the Windows side, and a text-mode browser started in the
// user's own terminal takes it over. Opener handles those cases.
package browser

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	pkgbrowser "github.com/pkg/browser"
)

// ErrNoBrowser means no browser should or could be started here; the
// caller has already printed the URL for the person to open by hand.
var ErrNoBrowser = errors.New("no browser to open")

// Env is what Opener learns about the machine; tests pass fakes.
type Env struct {
	Getenv   func(string) string
	LookPath func(string) (string, error)
	GOOS     string
	// IsWSL reports whether this is Windows Subsystem for Linux.
	IsWSL bool
}

// HostEnv describes the machine idcsctl runs on.
func HostEnv() Env {
	return Env{Getenv: os.Getenv, LookPath: exec.LookPath, GOOS: runtime.GOOS, IsWSL: detectWSL()}
}

func detectWSL() bool {
	if runtime.GOOS != "linux" {
		return false
	}
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	return err == nil && strings.Contains(strings.ToLower(string(b)), "microsoft")
}

// Opener starts the person's browser on a URL.
type Opener struct {
	// Command, when set, is run with the URL as its last argument (or in
	// place of %s); it wins over $BROWSER.
	Command string
	// Stderr receives the launcher's own output, which must never reach
	// stdout, where scripts read results.
	Stderr io.Writer
	Env    Env
}

// textBrowsers would take over the terminal idcsctl is waiting in.
func isTextBrowser(name string) bool {
	switch strings.ToLower(strings.TrimSuffix(baseName(name), ".exe")) {
	case "www-browser", "lynx", "links", "links2", "elinks", "w3m", "browsh", "carbonyl":
		return true
	}
	return false
}

func baseName(cmd string) string {
	if i := strings.LastIndexAny(cmd, `/\`); i >= 0 {
		return cmd[i+1:]
	}
	return cmd
}

// Reason says why no browser will be started, or "" when one may be.
func (o *Opener) Reason() string {
	e := o.Env
	if o.Command != "" || e.Getenv("BROWSER") != "" {
		return ""
	}
	if e.IsWSL {
		return ""
	}
	if e.GOOS == "linux" || strings.HasSuffix(e.GOOS, "bsd") {
		if e.Getenv("DISPLAY") == "" && e.Getenv("WAYLAND_DISPLAY") == "" {
			if e.Getenv("SSH_CONNECTION") != "" || e.Getenv("SSH_TTY") != "" {
				return "this is an SSH session with no display"
			}
			return "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)"
		}
	}
	return ""
}

// Open starts the browser on url without waiting for it to exit, as a
// person's browser keeps running. It returns ErrNoBrowser (wrapped with
// the reason) when no browser should be started here.
func (o *Opener) Open(url string) error {
	if reason := o.Reason(); reason != "" {
		return fmt.Errorf("%w: %s", ErrNoBrowser, reason)
	}
	if o.Command != "" {
		return o.start(strings.Fields(o.Command), url)
	}
	if b := o.Env.Getenv("BROWSER"); b != "" {
		// $BROWSER is a colon-separated list of commands (the
		// sensible-browser convention); use the first that exists.
		var lastErr error
		for _, c := range strings.Split(b, string(os.PathListSeparator)) {
			args := strings.Fields(c)
			if len(args) == 0 {
				continue
			}
			if _, err := o.Env.LookPath(args[0]); err != nil {
				lastErr = err
				continue
			}
			return o.start(args, url)
		}
		return fmt.Errorf("start $BROWSER: %w", lastErr)
	}
	if o.Env.IsWSL {
		for _, c := range [][]string{{"wslview"}, {"explorer.exe"}} {
			if _, err := o.Env.LookPath(c[0]); err == nil {
				return o.start(c, url)
			}
		}
		return fmt.Errorf("%w: on WSL, install wslu (wslview) or set BROWSER", ErrNoBrowser)
	}
	if o.Env.GOOS == "linux" || strings.HasSuffix(o.Env.GOOS, "bsd") {
		for _, c := range []string{"xdg-open", "x-www-browser"} {
			if _, err := o.Env.LookPath(c); err == nil {
				return o.start([]string{c}, url)
			}
		}
		return fmt.Errorf("%w: neither xdg-open nor x-www-browser is installed", ErrNoBrowser)
	}
	pkgbrowser.Stdout = o.Stderr
	pkgbrowser.Stderr = o.Stderr
	return pkgbrowser.OpenURL(url)
}

func (o *Opener) start(args []string, url string) error {
	if isTextBrowser(args[0]) {
		return fmt.Errorf("%w: %s is a text-mode browser and would take over this terminal", ErrNoBrowser, args[0])
	}
	replaced := false
	for i, a := range args {
		if strings.Contains(a, "%s") {
			args[i] = strings.ReplaceAll(a, "%s", url)
			replaced = true
		}
	}
	if !replaced {
		args = append(args, url)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout = o.Stderr
	cmd.Stderr = o.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start browser %s: %w", args[0], err)
	}
	// A launcher may run as long as the browser does, so it is reaped in
	// the background; a failure is reported, as the person then has to
	// open the printed URL by hand.
	go func() {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(o.Stderr, "The browser command %s failed (%v); open the URL above by hand.\n", args[0], err)
		}
	}()
	return nil
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
