package browser

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/testenv"
)

// fakeEnv is a machine with the given variables and installed commands.
func fakeEnv(goos string, wsl bool, vars map[string]string, installed ...string) (Env, *[]string) {
	var looked []string
	return Env{
		Getenv: func(k string) string { return vars[k] },
		LookPath: func(name string) (string, error) {
			looked = append(looked, name)
			for _, c := range installed {
				if c == name {
					return "/usr/bin/" + name, nil
				}
			}
			return "", exec.ErrNotFound
		},
		GOOS:  goos,
		IsWSL: wsl,
	}, &looked
}

func TestOpenerPicksTheLauncherForTheMachine(t *testing.T) {
	ssh := map[string]string{"SSH_CONNECTION": "10.0.0.9 50000 10.0.0.5 22", "USER": "alice"}
	tests := []struct {
		name      string
		goos      string
		wsl       bool
		vars      map[string]string
		installed []string
		command   string
		want      string // the launcher, or "" with wantNone
		wantNone  string // part of the ErrNoBrowser reason
	}{
		{name: "linux desktop uses xdg-open", goos: "linux", vars: map[string]string{"DISPLAY": ":0"}, installed: []string{"xdg-open"}, want: "xdg-open"},
		{name: "wayland counts as a display", goos: "linux", vars: map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, installed: []string{"x-www-browser"}, want: "x-www-browser"},
		{name: "linux without a display starts nothing", goos: "linux", installed: []string{"xdg-open"}, wantNone: "there is no display"},
		{name: "ssh without a display starts nothing", goos: "linux", vars: ssh, installed: []string{"xdg-open"}, wantNone: "SSH session with no display"},
		{name: "ssh with X forwarding opens through it", goos: "linux", vars: map[string]string{"SSH_TTY": "/dev/pts/1", "DISPLAY": "localhost:10.0"}, installed: []string{"xdg-open"}, want: "xdg-open"},
		{name: "ssh into a mac does not open the mac's screen", goos: "darwin", vars: ssh, wantNone: "this machine's screen"},
		{name: "a mac desktop uses the system browser", goos: "darwin", want: ""},
		{name: "wsl prefers wslview", goos: "linux", wsl: true, installed: []string{"wslview", "explorer.exe", "xdg-open"}, want: "wslview"},
		{name: "wsl falls back to the windows explorer", goos: "linux", wsl: true, installed: []string{"explorer.exe"}, want: "explorer.exe"},
		{name: "wsl without either says what to install", goos: "linux", wsl: true, wantNone: "install wslu"},
		{name: "wsl ignores a missing DISPLAY", goos: "linux", wsl: true, vars: map[string]string{}, installed: []string{"wslview"}, want: "wslview"},
		{name: "BROWSER wins even over ssh", goos: "linux", vars: map[string]string{"BROWSER": "firefox", "SSH_TTY": "/dev/pts/1"}, installed: []string{"firefox"}, want: "firefox"},
		{name: "BROWSER list takes the first installed", goos: "linux", vars: map[string]string{"BROWSER": "chromium --new-window:firefox"}, installed: []string{"firefox"}, want: "firefox"},
		{name: "BROWSER list skips a text browser", goos: "linux", vars: map[string]string{"BROWSER": "w3m:firefox", "DISPLAY": ":0"}, installed: []string{"w3m", "firefox"}, want: "firefox"},
		{name: "BROWSER with only a text browser starts nothing", goos: "linux", vars: map[string]string{"BROWSER": "lynx"}, installed: []string{"lynx"}, wantNone: "text-mode browser"},
		{name: "command wins over BROWSER", goos: "linux", vars: map[string]string{"BROWSER": "firefox"}, command: "open -a Safari", want: "open -a Safari"},
		{name: "command that is a text browser is refused", goos: "linux", command: "/usr/bin/www-browser", wantNone: "text-mode browser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := tt.vars
			if vars == nil {
				vars = map[string]string{}
			}
			env, _ := fakeEnv(tt.goos, tt.wsl, vars, tt.installed...)
			o := &Opener{Command: tt.command, Env: env}
			got, err := o.Launcher()
			if tt.wantNone != "" {
				if !errors.Is(err, ErrNoBrowser) || !strings.Contains(err.Error(), tt.wantNone) {
					t.Fatalf("Launcher() = %q, %v; want ErrNoBrowser with %q", got, err, tt.wantNone)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Launcher() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestOpenWithoutABrowserStartsNoProcess(t *testing.T) {
	for _, vars := range []map[string]string{
		{},
		{"SSH_CONNECTION": "10.0.0.9 50000 10.0.0.5 22"},
	} {
		env, looked := fakeEnv("linux", false, vars, "xdg-open")
		o := &Opener{Env: env}
		if err := o.Open("https://idcs.example.com/oauth2/v1/authorize"); !errors.Is(err, ErrNoBrowser) {
			t.Fatalf("Open = %v, want ErrNoBrowser", err)
		}
		if len(*looked) != 0 {
			t.Fatalf("Open looked for %v although it must start nothing", *looked)
		}
	}
}

func TestSSHDetectionAndDestination(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		wantSSH  bool
		wantDest string
	}{
		{name: "no ssh variables", vars: map[string]string{"USER": "alice"}},
		{name: "ssh_connection names the address and user", vars: map[string]string{"SSH_CONNECTION": "10.0.0.9 50000 10.0.0.5 22", "USER": "alice"}, wantSSH: true, wantDest: "alice@10.0.0.5"},
		{name: "another port is passed with -p", vars: map[string]string{"SSH_CONNECTION": "10.0.0.9 50000 10.0.0.5 2222", "LOGNAME": "bob"}, wantSSH: true, wantDest: "-p 2222 bob@10.0.0.5"},
		{name: "ipv6 addresses are bracketed", vars: map[string]string{"SSH_CONNECTION": "fe80::1 50000 fd00::5 22", "USER": "alice"}, wantSSH: true, wantDest: "alice@[fd00::5]"},
		{name: "only ssh_tty leaves a placeholder host", vars: map[string]string{"SSH_TTY": "/dev/pts/3", "USER": "alice"}, wantSSH: true, wantDest: "alice@THIS-HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := fakeEnv("linux", false, tt.vars)
			s, ok := env.SSH()
			if ok != tt.wantSSH {
				t.Fatalf("SSH() ok = %v, want %v", ok, tt.wantSSH)
			}
			if ok && s.Destination() != tt.wantDest {
				t.Fatalf("Destination() = %q, want %q", s.Destination(), tt.wantDest)
			}
		})
	}
}

func TestDisplayDetection(t *testing.T) {
	tests := []struct {
		goos string
		vars map[string]string
		want bool
	}{
		{"linux", map[string]string{}, false},
		{"linux", map[string]string{"DISPLAY": ":0"}, true},
		{"freebsd", map[string]string{"WAYLAND_DISPLAY": "wayland-1"}, true},
		{"freebsd", map[string]string{}, false},
		{"darwin", map[string]string{}, true},
		{"windows", map[string]string{}, true},
	}
	for _, tt := range tests {
		env, _ := fakeEnv(tt.goos, false, tt.vars)
		if got := env.HasDisplay(); got != tt.want {
			t.Errorf("HasDisplay on %s with %v = %v, want %v", tt.goos, tt.vars, got, tt.want)
		}
	}
}

func TestWSLDetectionFromTheKernelRelease(t *testing.T) {
	tests := map[string]bool{
		"5.15.153.1-microsoft-standard-WSL2\n": true,
		"4.4.0-19041-Microsoft\n":              true,
		"6.1.0-18-amd64\n":                     false,
		"":                                     false,
	}
	for release, want := range tests {
		if got := isWSLRelease(release); got != want {
			t.Errorf("isWSLRelease(%q) = %v, want %v", release, got, want)
		}
	}
}

// TestLauncherOutputGoesToStderr runs a real launcher that writes to its
// stdout and checks that the output arrives on Opener.Stderr, since idcsctl's
// stdout belongs to scripts.
func TestLauncherOutputGoesToStderr(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses echo from a Unix system")
	}
	echo, err := exec.LookPath("echo")
	if err != nil {
		testenv.SkipOrFail(t, fmt.Errorf("no echo command on PATH (%v)", err))
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	env, _ := fakeEnv("linux", false, map[string]string{})
	o := &Opener{Command: echo + " launcher-says", Stderr: w, Env: env}
	if err := o.Open("https://idcs.example.com/x"); err != nil {
		t.Fatal(err)
	}
	w.Close() // the child holds its own copy; EOF comes when it exits
	if err := r.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Skip("pipes without deadlines on this platform")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("read the launcher's output: %v", err)
	}
	if line != "launcher-says https://idcs.example.com/x\n" {
		t.Fatalf("launcher output = %q", line)
	}
}
