//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/kube"
	"github.com/idcsctl/idcsctl/internal/testenv"
)

// oldKubectlPath is where .ci/run unpacks Debian's kubernetes-client
// package (kubectl 1.20), apart from the machine's own kubectl, with which
// the package conflicts when installed.
const oldKubectlPath = "/opt/kubectl-1.20/usr/bin/kubectl"

// oldKubectl finds a real kubectl older than 1.22, which reads only v1beta1
// exec entries: IDCSCTL_OLD_KUBECTL, else oldKubectlPath.
func oldKubectl(t *testing.T) string {
	t.Helper()
	p := os.Getenv("IDCSCTL_OLD_KUBECTL")
	if p == "" {
		p = oldKubectlPath
	}
	if _, err := os.Stat(p); err != nil {
		testenv.SkipOrFail(t, fmt.Errorf("no kubectl older than 1.22 at %s (%v): apt-get download kubernetes-client && dpkg -x kubernetes-client_*.deb /opt/kubectl-1.20 (as .ci/run does), or set IDCSCTL_OLD_KUBECTL", p, err))
	}
	out, err := exec.Command(p, "version", "--client", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version: %v", p, err)
	}
	v, err := kube.ParseKubectlVersion(out)
	if err != nil || v.ExecAPIVersion() != kube.APIVersionV1beta1 {
		t.Fatalf("%s is kubectl %v (%v), not one older than 1.22", p, v, err)
	}
	return p
}

// TestKubeSetupEntryWorksWithKubectlOlderThan122: with kubectl 1.20 on
// PATH, kube setup writes a v1beta1 entry, and that kubectl then signs its
// requests to an API server with the plugin's ID token. idcsctl edits the
// file itself, since Debian's kubectl 1.20 crashes in config
// set-credentials. A v1 entry, which --api-version v1 still writes when
// asked, is one that kubectl cannot use.
func TestKubeSetupEntryWorksWithKubectlOlderThan122(t *testing.T) {
	old := oldKubectl(t)
	c := newCLIEnv(t, "", nil)
	c.login()
	api := newAPIServer(t, c.url, emulator.DemoPublicClientID)
	// PATH: the old kubectl, and nothing else of the machine's.
	bin := t.TempDir()
	if err := os.Symlink(old, filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	path := []string{"PATH=" + bin + string(os.PathListSeparator) + filepath.Dir(c.bin)}
	base := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: test
  context:
    cluster: test
current-context: test
`, api.URL, api.caData())

	tests := []struct {
		name, kubeconfig string
		args             []string
		wantWrittenBy    string
		wantAPIVersion   string
		wantStderr       string
		kubectlFails     bool
	}{
		{name: "a plain file", kubeconfig: base,
			wantWrittenBy: "idcsctl", wantAPIVersion: kube.APIVersionV1beta1,
			wantStderr: "since kubectl v1.20.2 predates 1.22, and idcsctl does not use its config set-credentials"},
		{name: "a file with comments", kubeconfig: "# my clusters\n" + base,
			wantWrittenBy: "idcsctl", wantAPIVersion: kube.APIVersionV1beta1, wantStderr: "kubectl would lose its comments"},
		{name: "v1 when asked, which this kubectl cannot use", kubeconfig: base, args: []string{"--api-version", "v1"},
			wantWrittenBy: "idcsctl", wantAPIVersion: kube.APIVersionV1, kubectlFails: true,
			wantStderr: "warning: kubectl v1.20.2 on PATH reads only client.authentication.k8s.io/v1beta1 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := filepath.Join(t.TempDir(), "config")
			if err := os.WriteFile(kc, []byte(tt.kubeconfig), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
			defer cancel()
			args := append([]string{"kube", "setup", "--kubeconfig", kc, "--context", "test", "--exec-command", c.bin, "-o", "json"}, tt.args...)
			setup := c.command(ctx, path, args...)
			var stdout, stderr bytes.Buffer
			setup.Stdout, setup.Stderr = &stdout, &stderr
			if err := setup.Run(); err != nil {
				t.Fatalf("kube setup: %v\nstderr:\n%s", err, stderr.String())
			}
			var got struct {
				WrittenBy string    `json:"written_by"`
				Exec      kube.Exec `json:"exec"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("kube setup -o json: %v\n%s", err, stdout.String())
			}
			if got.WrittenBy != tt.wantWrittenBy || got.Exec.APIVersion != tt.wantAPIVersion {
				t.Errorf("written by %s with %s, want by %s with %s\nstderr:\n%s", got.WrittenBy, got.Exec.APIVersion, tt.wantWrittenBy, tt.wantAPIVersion, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantStderr, stderr.String())
			}
			written, err := os.ReadFile(kc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(written, []byte("apiVersion: "+tt.wantAPIVersion+"\n")) {
				t.Errorf("the kubeconfig has no %s entry:\n%s", tt.wantAPIVersion, written)
			}

			accepted := api.accepted.Load()
			get := exec.CommandContext(ctx, old, "--kubeconfig", kc, "get", "--raw", "/version")
			get.Env = append([]string(nil), c.env...)
			var out, errb bytes.Buffer
			get.Stdout, get.Stderr = &out, &errb
			err = get.Run()
			if tt.kubectlFails {
				if err == nil {
					t.Fatalf("kubectl 1.20 used a v1 entry:\n%s", out.String())
				}
				if !strings.Contains(errb.String(), "client.authentication.k8s.io/v1") {
					t.Errorf("kubectl 1.20 failed, but not on the entry's version:\n%s", errb.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("kubectl 1.20 with the entry kube setup wrote: %v\nstderr:\n%s\nkubeconfig:\n%s", err, errb.String(), written)
			}
			checkVersion(t, out.String())
			if api.accepted.Load() == accepted {
				t.Error("the API server accepted no request of kubectl 1.20")
			}
		})
	}
	if n := api.refused.Load(); n != 0 {
		t.Errorf("the API server refused %d requests", n)
	}
}
