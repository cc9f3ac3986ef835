package credhelper

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run runs the helper with a config file of its own and returns its exit
// code, stdout and stderr.
func run(t *testing.T, config string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if config != "" {
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"IDCSCTL_CONFIG": path}
	var stdout, stderr bytes.Buffer
	code := Main(Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return env[k] }, Now: time.Now})
	return code, stdout.String(), stderr.String()
}

func TestProtocolAnswersWithoutTheNetwork(t *testing.T) {
	tests := []struct {
		name, config, stdin string
		args                []string
		code                int
		stdout, stderr      string // substrings; "" means empty
	}{
		{"version", "", "", []string{"version"}, 0, "docker-credential-idcsctl (", ""},
		{"no action", "", "", nil, 1, "Usage: docker-credential-idcsctl <store|get|erase|list|version>", ""},
		{"unknown action", "", "", []string{"fly"}, 1, "unknown action: fly", "unknown action: fly"},
		{"not OCIR: not found, nothing on stderr", "", "registry-1.docker.io\n", []string{"get"}, 1, "credentials not found in native keychain\n", ""},
		{"no server URL", "", "\n", []string{"get"}, 1, "no credentials server URL", "no credentials server URL"},
		{"a profile never signed in: login named", "", "iad.ocir.io\n", []string{"get"}, 4, `profile "default" is not signed in`, "run `idcsctl login -p default`"},
		{"[ocir] profile is used", "[ocir]\nprofile = \"work\"\n", "iad.ocir.io\n", []string{"get"}, 4, "", "run `idcsctl login -p work`"},
		{"a bad config is a usage error", "[ocir]\nprofile = 3\n", "iad.ocir.io\n", []string{"get"}, 2, "", "config file"},
		{"store keeps no password", "", `{"ServerURL":"iad.ocir.io","Username":"u","Secret":"s3cr3t"}`, []string{"store"}, 2, "keeps no passwords", "keeps no passwords"},
		{"erase of nothing", "", "iad.ocir.io\n", []string{"erase"}, 0, "", ""},
		{"list of nothing", "", "", []string{"list"}, 0, "{}\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.config, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", code, tc.code, stdout, stderr)
			}
			for _, c := range []struct{ got, want, what string }{{stdout, tc.stdout, "stdout"}, {stderr, tc.stderr, "stderr"}} {
				if c.want == "" && c.what == "stderr" && c.got != "" || c.want != "" && !strings.Contains(c.got, c.want) {
					t.Errorf("%s %q, want %q", c.what, c.got, c.want)
				}
			}
			if strings.Contains(stdout+stderr, "s3cr3t") {
				t.Error("a secret was echoed")
			}
			if strings.Count(stderr, "\n") > 1 {
				t.Errorf("more than one line on stderr: %q", stderr)
			}
		})
	}
}

// The helper is a program of its own so that idcsctl links nothing of the
// protocol library or of go-containerregistry.
func TestIdcsctlLinksNoneOfTheHelper(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/idcsctl/idcsctl/cmd/idcsctl").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "docker-credential-helpers") || strings.Contains(pkg, "go-containerregistry") || strings.HasSuffix(pkg, "/internal/ocir/credhelper") {
			t.Errorf("idcsctl links %s", pkg)
		}
	}
}
