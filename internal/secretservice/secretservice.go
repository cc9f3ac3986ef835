// Package secretservice runs a private, real Secret Service for tests: its own
// D-Bus session bus (dbus-daemon) and its own gnome-keyring-daemon, with HOME,
// XDG_DATA_HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME and XDG_RUNTIME_DIR in a
// temporary folder, so tests use the real keyring code path without ever
// touching the user's keyring or session bus.
//
// Three ways to use it:
//
//   - Start(t) for a test or benchmark that runs a child process (the built
//     idcsctl, secret-tool): it returns the environment to give the child.
//   - Main(m) from TestMain, for tests that call the keyring in-process. It
//     points this process's DBUS_SESSION_BUS_ADDRESS at the private bus before
//     any test runs, which matters because godbus keeps one session bus
//     connection per process, made on the first keyring call. Tests then call
//     Shared(t).
//   - Check() to learn, without starting anything, whether this machine has
//     the programs needed (for doctor-style tests).
//
// When the programs are missing, Start and Shared skip the test with the
// install command, or fail it when the environment variable CI is "true".
package secretservice

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/idcsctl/idcsctl/internal/testenv"
	"time"

	"github.com/godbus/dbus/v5"
)

// InstallHint says how to get the programs on Debian and Ubuntu.
const InstallHint = "apt-get install gnome-keyring dbus-daemon (or dbus)"

// Environment variables Main uses to hand its outcome to Shared.
const (
	envShared       = "IDCSCTL_TEST_SECRET_SERVICE"       // the private bus address
	envSharedFailed = "IDCSCTL_TEST_SECRET_SERVICE_ERROR" // why it did not start
	envSharedAbsent = "IDCSCTL_TEST_SECRET_SERVICE_ABSENT"
)

// launchTimeout bounds starting both daemons and waiting for the Secret Service.
const launchTimeout = 20 * time.Second

// MissingError says which programs are not on PATH.
type MissingError struct {
	Programs []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("real Secret Service not installed (%s not on PATH): %s", strings.Join(e.Programs, ", "), InstallHint)
}

// Check reports whether this machine can run a private Secret Service: nil
// when it can, else a *MissingError naming the missing programs.
func Check() error {
	var missing []string
	for _, p := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return &MissingError{Programs: missing}
	}
	return nil
}

// Service is a running private Secret Service.
type Service struct {
	// Address is the private bus's D-Bus address.
	Address string
	// Env is what a child process needs to use this Secret Service, as
	// "KEY=value" entries to append to its environment:
	// DBUS_SESSION_BUS_ADDRESS=<Address>.
	Env []string

	dir         string
	bus         *exec.Cmd
	keyring     *exec.Cmd
	keyringDone chan struct{} // closed when gnome-keyring-daemon has exited and been reaped
	closeOnce   sync.Once
	closeErr    error
}

// Launch starts a private session bus and a gnome-keyring-daemon on it,
// unlocks a "login" collection (the default one) with a throwaway password,
// and returns when the Secret Service answers on the bus. Close stops both
// daemons and removes their files. ctx bounds the start.
func Launch(ctx context.Context) (svc *Service, err error) {
	if err := Check(); err != nil {
		return nil, err
	}
	// A short folder under os.TempDir: a Unix socket path is limited to
	// about 100 bytes, and test temp folders can be longer.
	dir, err := os.MkdirTemp("", "idcsctl-ss-")
	if err != nil {
		return nil, fmt.Errorf("secret service: %w", err)
	}
	svc = &Service{dir: dir}
	defer func() {
		if err != nil {
			svc.Close()
			svc = nil
		}
	}()
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	for _, sub := range []struct{ name, env string }{
		{"home", "HOME"}, {"data", "XDG_DATA_HOME"}, {"config", "XDG_CONFIG_HOME"},
		{"cache", "XDG_CACHE_HOME"}, {"run", "XDG_RUNTIME_DIR"},
	} {
		p := filepath.Join(dir, sub.name)
		if err := os.Mkdir(p, 0o700); err != nil {
			return nil, fmt.Errorf("secret service: %w", err)
		}
		env = append(env, sub.env+"="+p)
	}

	if err := svc.startBus(ctx, env); err != nil {
		return nil, err
	}
	env = append(env, "DBUS_SESSION_BUS_ADDRESS="+svc.Address)
	if err := svc.startKeyring(ctx, env); err != nil {
		return nil, err
	}
	svc.Env = []string{"DBUS_SESSION_BUS_ADDRESS=" + svc.Address}
	return svc, nil
}

// busConfig is a session bus that only listens in our folder and activates
// no services, so nothing outside this test can be started on it.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

func (s *Service) startBus(ctx context.Context, env []string) error {
	conf := filepath.Join(s.dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, filepath.Join(s.dir, "run")), 0o600); err != nil {
		return fmt.Errorf("secret service: write bus config: %w", err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	setDeathSignal(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("secret service: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("secret service: start dbus-daemon: %w", err)
	}
	s.bus = cmd
	lines := make(chan string, 1)
	go func() {
		// dbus-daemon prints its address once, then keeps stdout open.
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	select {
	case addr := <-lines:
		if addr == "" {
			return fmt.Errorf("secret service: dbus-daemon printed no address: %s", strings.TrimSpace(stderr.String()))
		}
		s.Address = addr
		return nil
	case <-ctx.Done():
		return fmt.Errorf("secret service: waiting for dbus-daemon's address: %w", ctx.Err())
	}
}

// keyringPassword unlocks the throwaway login keyring; it protects nothing.
const keyringPassword = "idcsctl-test-keyring"

func (s *Service) startKeyring(ctx context.Context, env []string) error {
	// --unlock reads the password from stdin and creates the "login"
	// collection, which becomes the default alias go-keyring uses.
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env = env
	cmd.Stdin = strings.NewReader(keyringPassword)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("secret service: start gnome-keyring-daemon: %w", err)
	}
	s.keyring = cmd
	s.keyringDone = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(s.keyringDone)
	}()

	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return fmt.Errorf("secret service: connect to the private bus: %w", err)
	}
	defer conn.Close()
	if err := waitForName(ctx, conn, "org.freedesktop.secrets", s.keyringDone); err != nil {
		return fmt.Errorf("%w; gnome-keyring-daemon said: %s", err, strings.TrimSpace(stderr.String()))
	}
	return checkDefaultCollection(conn)
}

// waitForName polls the bus until name has an owner, the owner's process
// exits, or ctx ends.
func waitForName(ctx context.Context, conn *dbus.Conn, name string, exited <-chan struct{}) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var has bool
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err != nil {
			return fmt.Errorf("secret service: ask the bus for %s: %w", name, err)
		}
		if has {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("secret service: gnome-keyring-daemon exited before serving %s", name)
		case <-ctx.Done():
			return fmt.Errorf("secret service: %s did not appear on the bus: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
}

// checkDefaultCollection makes sure go-keyring will find an unlocked default collection.
func checkDefaultCollection(conn *dbus.Conn) error {
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var path dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&path); err != nil {
		return fmt.Errorf("secret service: read the default collection: %w", err)
	}
	if path == "/" {
		return errors.New("secret service: gnome-keyring-daemon made no default collection")
	}
	locked, err := conn.Object("org.freedesktop.secrets", path).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return fmt.Errorf("secret service: read the lock state of %s: %w", path, err)
	}
	if b, ok := locked.Value().(bool); !ok || b {
		return fmt.Errorf("secret service: the default collection %s is locked", path)
	}
	return nil
}

// Close stops the keyring daemon and the bus and removes their folder. It is
// safe to call more than once.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		// The keyring first, so it does not see its bus vanish mid-write.
		if s.keyring != nil {
			_ = s.keyring.Process.Kill()
			<-s.keyringDone // its Wait runs in startKeyring's goroutine
		}
		if s.bus != nil {
			_ = s.bus.Process.Kill()
			_ = s.bus.Wait()
		}
		if s.dir != "" {
			s.closeErr = os.RemoveAll(s.dir)
		}
	})
	return s.closeErr
}

// Start runs a private Secret Service for the test and stops it at cleanup.
// It returns the environment a child process needs (see Service.Env). When
// the programs are missing it skips the test, or fails it when CI=true.
//
// For keyring calls inside the test process itself, use Main and Shared:
// godbus caches its session bus connection per process.
func Start(t testing.TB) []string {
	t.Helper()
	if err := Check(); err != nil {
		SkipOrFail(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), launchTimeout)
	defer cancel()
	svc, err := Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc.Env
}

// SkipOrFail ends a test that cannot run because the Secret Service programs
// are missing: a skip with the install command, or a failure when CI=true,
// because CI must run every real-keyring test.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	testenv.SkipOrFail(t, err)
}

// Main runs the package's tests with one private Secret Service for the whole
// test binary, and sets this process's DBUS_SESSION_BUS_ADDRESS to it before
// any test runs. Call it from TestMain; tests that use the keyring call
// Shared. It returns m.Run's result.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), launchTimeout)
	svc, err := Launch(ctx)
	cancel()
	var missing *MissingError
	switch {
	case errors.As(err, &missing):
		os.Setenv(envSharedAbsent, err.Error())
	case err != nil:
		os.Setenv(envSharedFailed, err.Error())
	default:
		os.Setenv("DBUS_SESSION_BUS_ADDRESS", svc.Address)
		os.Setenv(envShared, svc.Address)
		defer svc.Close()
	}
	return m.Run()
}

// Shared returns the environment of the Secret Service Main started, for a
// test that uses the keyring in-process. It skips (or, with CI=true, fails)
// when the programs are missing, and fails when they are present but the
// service did not start.
func Shared(t testing.TB) []string {
	t.Helper()
	if msg := os.Getenv(envSharedAbsent); msg != "" {
		SkipOrFail(t, errors.New(msg))
	}
	if msg := os.Getenv(envSharedFailed); msg != "" {
		t.Fatal(msg)
	}
	addr := os.Getenv(envShared)
	if addr == "" {
		t.Fatal("secretservice.Shared: call secretservice.Main from this package's TestMain first")
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != addr {
		t.Fatal("secretservice.Shared: DBUS_SESSION_BUS_ADDRESS was changed after Main set it")
	}
	return []string{"DBUS_SESSION_BUS_ADDRESS=" + addr}
}

// lockedBuffer collects a child's stderr while another goroutine may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
