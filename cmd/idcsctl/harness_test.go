package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/idcsctl/idcsctl/internal/emulator"
)

// isolatedEnv is the environment of an idcsctl child that must not reach
// the person's own setup: its config in dir, HOME and XDG folders under
// root, the file token store, no session bus, and the test browser; the
// rest of this process's environment (PATH, proxies) is kept.
func isolatedEnv(root, dir string) []string {
	env := []string{
		"HOME=" + filepath.Join(root, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(root, "home", ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(root, "home", ".cache"),
		"IDCSCTL_CONFIG=" + filepath.Join(dir, "config.toml"),
		"IDCSCTL_TOKEN_STORE=file",
		// No session bus: nothing may reach the person's real keyring.
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(root, "no-bus"),
		"BROWSER=testbrowser",
		"TESTBROWSER_USER=" + emulator.DemoUser.UserName,
		"TESTBROWSER_PASSWORD=" + emulator.DemoUserPassword,
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "IDCSCTL_"), strings.HasPrefix(name, "XDG_"), strings.HasPrefix(name, "TESTBROWSER_"),
			name == "HOME", name == "BROWSER", name == "DBUS_SESSION_BUS_ADDRESS":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// landingRecorder is a browser's transport that records the address it is
// sent to on host instead of loading it, as a browser on another machine
// fails to load the loopback callback while its address bar shows it.
type landingRecorder struct {
	host string
	mu   sync.Mutex
	addr string
}

func (l *landingRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != l.host {
		return http.DefaultTransport.RoundTrip(req)
	}
	l.mu.Lock()
	l.addr = req.URL.String()
	l.mu.Unlock()
	return &http.Response{StatusCode: http.StatusBadGateway, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// get returns the recorded address.
func (l *landingRecorder) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}
