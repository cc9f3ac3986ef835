package secretservice

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckNamesMissingProgramsAndTheInstallCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Check()
	var missing *MissingError
	if !errors.As(err, &missing) {
		t.Fatalf("Check() with an empty PATH = %v, want *MissingError", err)
	}
	for _, want := range []string{"dbus-daemon", "gnome-keyring-daemon", "apt-get install"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check() error %q does not mention %q", err, want)
		}
	}
}

func TestStartServesSecretsToAChildProcess(t *testing.T) {
	env := Start(t)
	if len(env) != 1 || !strings.HasPrefix(env[0], "DBUS_SESSION_BUS_ADDRESS=unix:") {
		t.Fatalf("Start() env = %q, want one DBUS_SESSION_BUS_ADDRESS=unix:... entry", env)
	}
	if _, err := exec.LookPath("secret-tool"); err != nil {
		SkipOrFail(t, errors.New("secret-tool not installed: apt-get install libsecret-tools"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	childEnv := append(os.Environ(), env...)

	store := exec.CommandContext(ctx, "secret-tool", "store", "--label=probe", "service", "idcsctl-selftest", "username", "u")
	store.Env = childEnv
	store.Stdin = strings.NewReader("s3cret-value")
	if out, err := store.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, out)
	}
	lookup := exec.CommandContext(ctx, "secret-tool", "lookup", "service", "idcsctl-selftest", "username", "u")
	lookup.Env = childEnv
	out, err := lookup.Output()
	if err != nil {
		t.Fatalf("secret-tool lookup: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "s3cret-value" {
		t.Fatalf("secret-tool lookup = %q, want the stored value", got)
	}
}

func TestLaunchKeepsTheKeyringPrivateAndCloseStopsBothDaemons(t *testing.T) {
	if err := Check(); err != nil {
		SkipOrFail(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), launchTimeout)
	defer cancel()
	svc, err := Launch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The login keyring lives in the private XDG_DATA_HOME, not the user's.
	if _, err := os.Stat(filepath.Join(svc.dir, "data", "keyrings", "login.keyring")); err != nil {
		t.Errorf("private login keyring not created: %v", err)
	}
	if err := svc.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := svc.Close(); err != nil {
		t.Fatalf("second Close() = %v, want nil", err)
	}
	for name, cmd := range map[string]*exec.Cmd{"dbus-daemon": svc.bus, "gnome-keyring-daemon": svc.keyring} {
		// ProcessState is set once the process has exited and been reaped.
		if cmd.ProcessState == nil {
			t.Errorf("%s (pid %d) was not reaped by Close", name, cmd.Process.Pid)
		}
	}
	if _, err := os.Stat(svc.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Close left %s behind (stat: %v)", svc.dir, err)
	}
}
