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
	"golang.org/x/term"
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
	return err == nil && isWSLRelease(string(b))
}

// isWSLRelease reads the kernel release: WSL 1 says "Microsoft", WSL 2
// "microsoft-standard-WSL2".
func isWSLRelease(release string) bool {
	return strings.Contains(strings.ToLower(release), "microsoft")
}

// SSH describes the SSH session idcsctl runs in, from the variables sshd
// sets, so that idcsctl can tell the person how to forward a port back.
type SSH struct {
	User string // the account on this machine ($USER or $LOGNAME)
	Host string // this machine's address as the client reached it; "" when unknown
	Port string // this machine's SSH port; "" when unknown
}

// Destination is what follows `ssh -L ...` on the person's own computer to
// reach this machine again, e.g. "-p 2222 alice@10.0.0.5". Where sshd did not
// say which address it was reached on, a placeholder names what to type.
func (s SSH) Destination() string {
	host := s.Host
	if host == "" {
		host = "THIS-HOST"
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if s.User != "" {
		host = s.User + "@" + host
	}
	if s.Port != "" && s.Port != "22" {
		return "-p " + s.Port + " " + host
	}
	return host
}

// SSH reports whether this is an SSH session and, when sshd said so, how the
// client reached this machine.
func (e Env) SSH() (SSH, bool) {
	conn := e.Getenv("SSH_CONNECTION")
	if conn == "" && e.Getenv("SSH_TTY") == "" && e.Getenv("SSH_CLIENT") == "" {
		return SSH{}, false
	}
	s := SSH{User: firstNonEmpty(e.Getenv("USER"), e.Getenv("LOGNAME"))}
	// SSH_CONNECTION is "client-ip client-port server-ip server-port".
	if f := strings.Fields(conn); len(f) == 4 {
		s.Host, s.Port = f[2], f[3]
	}
	return s, true
}

// HasDisplay reports whether a graphical browser could show a window: always
// on Windows and macOS, with DISPLAY or WAYLAND_DISPLAY on Linux and the
// BSDs.
func (e Env) HasDisplay() bool {
	if !e.unixDesktop() {
		return true
	}
	return e.Getenv("DISPLAY") != "" || e.Getenv("WAYLAND_DISPLAY") != ""
}

// unixDesktop is true where a display server decides whether there is a
// screen at all.
func (e Env) unixDesktop() bool {
	return e.GOOS == "linux" || strings.HasSuffix(e.GOOS, "bsd") || e.GOOS == "dragonfly" || e.GOOS == "illumos" || e.GOOS == "solaris"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
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

// Reason says why no browser will be started, or "" when one may be. A
// browser the person named (Command, $BROWSER) is always tried; otherwise
// an SSH session or a Linux machine without a display gets none, as a
// browser started there would open on a screen nobody is looking at, or
// not at all.
func (o *Opener) Reason() string {
	e := o.Env
	if o.Command != "" || e.Getenv("BROWSER") != "" {
		return ""
	}
	_, ssh := e.SSH()
	switch {
	case e.IsWSL:
		// WSL reaches the Windows desktop whatever DISPLAY says.
		return ""
	case !e.HasDisplay() && ssh:
		return "this is an SSH session with no display"
	case !e.HasDisplay():
		return "there is no display (DISPLAY and WAYLAND_DISPLAY are unset)"
	case ssh && !e.unixDesktop():
		// macOS' open and Windows' start would show the page on this
		// machine's own screen, not to the person at the other end.
		return "this is an SSH session: a browser would open on this machine's screen, not yours"
	}
	return ""
}

// Launcher says which command Open would run, without running it: the
// command line ("" for the system's default browser through pkg/browser), or
// an error wrapping ErrNoBrowser that says why no browser would start.
func (o *Opener) Launcher() (string, error) {
	args, err := o.launcher()
	if err != nil {
		return "", err
	}
	return strings.Join(args, " "), nil
}

// launcher picks the command to run; nil means pkg/browser's default.
func (o *Opener) launcher() ([]string, error) {
	if reason := o.Reason(); reason != "" {
		return nil, fmt.Errorf("%w: %s", ErrNoBrowser, reason)
	}
	if o.Command != "" {
		args := strings.Fields(o.Command)
		if isTextBrowser(args[0]) {
			return nil, textBrowserError(args[0])
		}
		return args, nil
	}
	if b := o.Env.Getenv("BROWSER"); b != "" {
		return o.fromBrowserVar(b)
	}
	if o.Env.IsWSL {
		for _, c := range []string{"wslview", "explorer.exe"} {
			if _, err := o.Env.LookPath(c); err == nil {
				return []string{c}, nil
			}
		}
		return nil, fmt.Errorf("%w: on WSL, install wslu (wslview) or set BROWSER", ErrNoBrowser)
	}
	if o.Env.unixDesktop() {
		for _, c := range []string{"xdg-open", "x-www-browser"} {
			if _, err := o.Env.LookPath(c); err == nil {
				return []string{c}, nil
			}
		}
		return nil, fmt.Errorf("%w: neither xdg-open nor x-www-browser is installed", ErrNoBrowser)
	}
	return nil, nil
}

// fromBrowserVar reads $BROWSER, a colon-separated list of commands (the
// sensible-browser convention), and picks the first that is installed and
// is not a text-mode browser.
func (o *Opener) fromBrowserVar(b string) ([]string, error) {
	var lastErr error
	for _, c := range strings.Split(b, string(os.PathListSeparator)) {
		args := strings.Fields(c)
		if len(args) == 0 {
			continue
		}
		if isTextBrowser(args[0]) {
			lastErr = textBrowserError(args[0])
			continue
		}
		if _, err := o.Env.LookPath(args[0]); err != nil {
			lastErr = fmt.Errorf("start $BROWSER: %w", err)
			continue
		}
		return args, nil
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: $BROWSER names no command", ErrNoBrowser)
	}
	return nil, lastErr
}

func textBrowserError(name string) error {
	return fmt.Errorf("%w: %s is a text-mode browser and would take over this terminal", ErrNoBrowser, name)
}

// Open starts the browser on url without waiting for it to exit, as a
// person's browser keeps running. It returns ErrNoBrowser (wrapped with
// the reason) when no browser should be started here.
func (o *Opener) Open(url string) error {
	args, err := o.launcher()
	if err != nil {
		return err
	}
	if args == nil {
		pkgbrowser.Stdout = o.stderr()
		pkgbrowser.Stderr = o.stderr()
		return pkgbrowser.OpenURL(url)
	}
	return o.start(args, url)
}

func (o *Opener) stderr() io.Writer {
	if o.Stderr == nil {
		return io.Discard
	}
	return o.Stderr
}

func (o *Opener) start(args []string, url string) error {
	args = append([]string(nil), args...)
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
	cmd.Stdout = o.stderr()
	cmd.Stderr = o.stderr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start browser %s: %w", args[0], err)
	}
	// A launcher may run as long as the browser does, so it is reaped in
	// the background; a failure is reported, as the person then has to
	// open the printed URL by hand.
	go func() {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(o.stderr(), "The browser command %s failed (%v); open the URL above by hand.\n", args[0], err)
		}
	}()
	return nil
}

// IsTerminal reports whether f is a terminal. Being a character device is
// not enough: /dev/null is one, and a program whose stdin is /dev/null
// must not wait for a person to type.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}
