//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/store"
)

// requireKubectl finds the real kubectl: it skips the test when kubectl is
// missing, or fails it under CI=true, whose machines have it.
func requireKubectl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		msg := "kubectl not found: install it (apt-get install kubectl, from the Kubernetes or Google Cloud CLI apt repository)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// apiServer is a stand-in for a Kubernetes API server with an OpenID
// Connect authenticator: it accepts only ID tokens that the emulator
// signed (checked with the emulator's JWKS, as the API server fetches it
// from the discovery URL) for the given audience, from the IDCS issuer.
type apiServer struct {
	*httptest.Server
	accepted, refused atomic.Int64
	mu                sync.Mutex
	subjects          []string
}

func newAPIServer(t *testing.T, domain, audience string) *apiServer {
	t.Helper()
	keys := oidc.NewRemoteKeySet(context.Background(), domain+"/admin/v1/SigningCert/jwk")
	verifier := oidc.NewVerifier(emulator.DefaultIssuer, keys, &oidc.Config{ClientID: audience})
	s := &apiServer{}
	// TLS, as kubectl sends exec credentials only over it.
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok, err := verifier.Verify(r.Context(), raw)
		if !ok || err != nil {
			s.refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		s.subjects = append(s.subjects, tok.Subject)
		s.mu.Unlock()
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"major":"1","minor":"33","gitVersion":"v1.33.0-idcsctl-test","platform":"linux/amd64"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// caData is the server's certificate as a kubeconfig's
// certificate-authority-data.
func (s *apiServer) caData() string {
	return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}))
}

// writeKubeconfig writes a kubeconfig whose user runs idcsctl as its exec
// credential plugin against server, and returns its path.
func writeKubeconfig(t *testing.T, dir string, api *apiServer, idcsctl string, args ...string) string {
	t.Helper()
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: idcs
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %s
      args: [%s]
      interactiveMode: IfAvailable
      provideClusterInfo: false
contexts:
- name: test
  context:
    cluster: test
    user: idcs
current-context: test
`, api.URL, api.caData(), idcsctl, strings.Join(quoted, ", "))
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubeEnv is a signed-out idcsctl home, an API server that trusts its
// emulator, and a kubeconfig that execs the idcsctl under test.
type kubeEnv struct {
	*cliEnv
	kubectl    string
	api        *apiServer
	kubeconfig string
}

func newKubeEnv(t *testing.T) *kubeEnv {
	t.Helper()
	kubectl := requireKubectl(t)
	c := newCLIEnv(t, "", nil)
	api := newAPIServer(t, c.url, emulator.DemoPublicClientID)
	kc := writeKubeconfig(t, t.TempDir(), api, c.bin, "kube", "token")
	return &kubeEnv{cliEnv: c, kubectl: kubectl, api: api, kubeconfig: kc}
}

// loginWithDyingTokens signs in with tokens that live an hour and were
// issued an hour less 30 seconds ago (the emulator's clock set back while it
// issues them): within the refresh margin however it is fitted to a token's
// lifetime. Tokens issued afterwards are fresh.
func (c *cliEnv) loginWithDyingTokens() {
	c.tb.Helper()
	const back = time.Hour - 30*time.Second
	c.emu.AdvanceClock(-back)
	c.login()
	c.emu.AdvanceClock(back)
}

// kubectlCmd prepares `kubectl --kubeconfig K args...` in the idcsctl
// environment, which kubectl passes on to the plugin.
func (k *kubeEnv) kubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, k.kubectl, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
	cmd.Env = append([]string(nil), k.env...)
	return cmd
}

func (k *kubeEnv) getVersion(t *testing.T) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := k.kubectlCmd(ctx, "get", "--raw", "/version")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

func checkVersion(t *testing.T, stdout string) {
	t.Helper()
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal([]byte(stdout), &v); err != nil || v.GitVersion != "v1.33.0-idcsctl-test" {
		t.Fatalf("kubectl printed %q, want the test API server's version (%v)", stdout, err)
	}
}

func TestKubectlSignsInThroughIdcsctl(t *testing.T) {
	k := newKubeEnv(t)
	k.login()
	stdout, stderr, err := k.getVersion(t)
	if err != nil {
		t.Fatalf("kubectl get --raw /version: %v\nstderr:\n%s", err, stderr)
	}
	checkVersion(t, stdout)
	// kubectl asks for /version twice (its own version check, then the
	// request), each time with the plugin's token.
	if k.api.accepted.Load() == 0 || k.api.refused.Load() != 0 {
		t.Errorf("API server accepted %d and refused %d requests, want some and none", k.api.accepted.Load(), k.api.refused.Load())
	}
	if k.api.subjects[0] != emulator.DemoUserName {
		t.Errorf("API server saw subject %q, want %q", k.api.subjects[0], emulator.DemoUserName)
	}
	if n := k.emu.Counts()["token:refresh_token"]; n != 0 {
		t.Errorf("a fresh token was refreshed %d times", n)
	}

	// The access token's audience is the domain, not the client id: an
	// API server that checks the audience refuses it.
	k.kubeconfig = writeKubeconfig(t, t.TempDir(), k.api, k.bin, "kube", "token", "--access-token")
	if _, stderr, err := k.getVersion(t); err == nil || !strings.Contains(stderr, "Unauthorized") {
		t.Errorf("kubectl with the access token: %v, want Unauthorized\nstderr:\n%s", err, stderr)
	}
	if k.api.refused.Load() == 0 {
		t.Error("the API server accepted a token of the wrong audience")
	}
}

func TestKubectlExpiredTokenIsRefreshedByThePlugin(t *testing.T) {
	k := newKubeEnv(t)
	k.loginWithDyingTokens()
	before, _ := k.stored()
	stdout, stderr, err := k.getVersion(t)
	if err != nil {
		t.Fatalf("kubectl get --raw /version: %v\nstderr:\n%s", err, stderr)
	}
	checkVersion(t, stdout)
	if n := k.emu.Counts()["token:refresh_token"]; n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	if after, _ := k.stored(); after == before {
		t.Error("the stored access token was not refreshed")
	}
}

func TestKubectlWithoutSignInFailsFastWithIdcsctlsMessage(t *testing.T) {
	k := newKubeEnv(t)
	// kubectl's stdin is not a terminal, so with interactiveMode
	// IfAvailable it tells the plugin the call is not interactive.
	stdout, stderr, err := k.getVersion(t)
	if err == nil {
		t.Fatalf("kubectl succeeded without a sign-in; stdout:\n%s", stdout)
	}
	t.Logf("kubectl's stderr:\n%s", stderr)
	if !strings.Contains(stderr, "idcsctl: profile \"default\" is not signed in: run `idcsctl login`") {
		t.Errorf("kubectl's stderr does not show idcsctl's message:\n%s", stderr)
	}
	if !strings.Contains(stderr, "exit code 4") {
		t.Errorf("kubectl's stderr does not show the plugin's exit code 4:\n%s", stderr)
	}
	if k.api.accepted.Load() != 0 {
		t.Error("the API server accepted a request")
	}
	if n := k.emu.Counts()["/oauth2/v1/authorize"]; n != 0 {
		t.Errorf("a sign-in was started (%d authorize requests)", n)
	}
}

func TestKubectlParallelCallsRefreshOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 kubectl processes")
	}
	k := newKubeEnv(t)
	k.emu.SetRotateRefreshTokens(true)
	k.loginWithDyingTokens()
	const n = 20
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	type res struct {
		stdout, stderr bytes.Buffer
		err            error
	}
	results := make([]res, n)
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmds[i] = k.kubectlCmd(ctx, "get", "--raw", "/version")
		cmds[i].Stdout, cmds[i].Stderr = &results[i].stdout, &results[i].stderr
	}
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { results[i].err = cmd.Wait() })
	}
	wg.Wait()
	for i := range results {
		if results[i].err != nil {
			t.Errorf("kubectl %d: %v\nstderr:\n%s", i, results[i].err, results[i].stderr.String())
			continue
		}
		checkVersion(t, results[i].stdout.String())
	}
	if got := k.emu.Counts()["token:refresh_token"]; got != 1 {
		t.Errorf("the emulator got %d refresh requests from %d parallel kubectl calls, want exactly 1", got, n)
	}
	if got := k.api.accepted.Load(); got < n || k.api.refused.Load() != 0 {
		t.Errorf("the API server accepted %d requests and refused %d, want at least %d and none", got, k.api.refused.Load(), n)
	}
}

func TestKubeSetupEntryWorksWithKubectl(t *testing.T) {
	k := newKubeEnv(t)
	k.login()
	// A kubeconfig with the cluster and a context, and no user yet.
	cfg := fmt.Sprintf(`apiVersion: v1
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
`, k.api.URL, k.api.caData())
	k.kubeconfig = filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(k.kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	k.run("kube", "setup", "--kubeconfig", k.kubeconfig, "--context", "test", "--exec-command", k.bin)
	stdout, stderr, err := k.getVersion(t)
	if err != nil {
		t.Fatalf("kubectl with the entry kube setup wrote: %v\nstderr:\n%s", err, stderr)
	}
	checkVersion(t, stdout)
}

// TestKubectlInteractiveSignsInThroughThePlugin: kubectl on a terminal (a
// pseudo-terminal from util-linux script) tells the plugin the call is
// interactive, and idcsctl runs the profile's sign-in (the stand-in
// browser) before answering.
func TestKubectlInteractiveSignsInThroughThePlugin(t *testing.T) {
	k := newKubeEnv(t)
	scriptPath, err := exec.LookPath("script")
	if err != nil {
		msg := "script not found: apt-get install util-linux (bsdutils)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("[profiles.default]\ndomain = %q\nclient_id = %q\nredirect_ports = [%d]\n", k.url, emulator.DemoPublicClientID, k.port)
	if err := os.WriteFile(filepath.Join(k.dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	line := fmt.Sprintf("%s --kubeconfig %s get --raw /version", k.kubectl, k.kubeconfig)
	cmd := exec.CommandContext(ctx, scriptPath, "-qec", line, os.DevNull)
	cmd.Env = append([]string(nil), k.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl on a terminal: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("v1.33.0-idcsctl-test")) {
		t.Errorf("kubectl did not print the API server's version:\n%s", out)
	}
	if !bytes.Contains(out, []byte(`Signing in to profile "default" for kubectl`)) {
		t.Errorf("the terminal does not show the sign-in:\n%s", out)
	}
	if n := k.emu.Counts()["token:authorization_code"]; n != 1 {
		t.Errorf("code exchanges = %d, want 1 sign-in", n)
	}
	if access, _ := k.stored(); access == "" {
		t.Error("the sign-in kept no token")
	}
}

// TestKubeTokenRefreshesAnIDTokenThatDiesBeforeItsAccessToken: kubectl
// needs the ID token, so one within the margin of its expiry is refreshed
// even though the access token still lives, once.
func TestKubeTokenRefreshesAnIDTokenThatDiesBeforeItsAccessToken(t *testing.T) {
	c := newCLIEnv(t, "", nil)
	c.loginWithDyingTokens() // both tokens have 30 s of their hour left, under the 60 s margin
	st := store.NewFile(c.dir)
	tok, err := st.Load(t.Context(), "default")
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(time.Hour) // the access token lives on
	if err := st.Save(t.Context(), "default", tok); err != nil {
		t.Fatal(err)
	}
	var cred struct {
		Status struct {
			Token               string    `json:"token"`
			ExpirationTimestamp time.Time `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(c.run("kube", "token")), &cred); err != nil {
		t.Fatal(err)
	}
	if n := c.emu.Counts()["token:refresh_token"]; n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	if cred.Status.Token == tok.IDToken || time.Until(cred.Status.ExpirationTimestamp) < 30*time.Minute {
		t.Errorf("kube token handed out the dying ID token (expires %v)", cred.Status.ExpirationTimestamp)
	}
	// The refreshed ID token is kept: the next call refreshes nothing.
	c.run("kube", "token")
	if n := c.emu.Counts()["token:refresh_token"]; n != 1 {
		t.Errorf("refresh grants = %d after a second call, want still 1", n)
	}
}

// TestKubectlWithShortLivedTokens: a domain whose tokens live 60 s (as
// `idcsctl demo --serve --access-token-ttl 1m` serves them). Right after
// the sign-in kubectl works with no refresh at all; a stored token within
// its margin (issued 50 s before it reached idcsctl, by the emulator's
// clock) is refreshed once, by the first kubectl call, and the fresh
// 60 s token that brings serves the calls after it.
func TestKubectlWithShortLivedTokens(t *testing.T) {
	k := newKubeEnv(t)
	k.emu.SetAccessTokenTTL(60 * time.Second)
	k.login()
	const calls = 3
	getVersions := func(what string) {
		t.Helper()
		for i := range calls {
			stdout, stderr, err := k.getVersion(t)
			if err != nil {
				t.Fatalf("kubectl call %d with %s: %v\nstderr:\n%s", i, what, err, stderr)
			}
			checkVersion(t, stdout)
		}
	}
	getVersions("fresh 60 s tokens")
	if n := k.emu.Counts()["token:refresh_token"]; n != 0 {
		t.Errorf("%d refreshes for %d kubectl calls on a fresh 60 s token, want none", n, calls)
	}

	k.emu.AdvanceClock(-50 * time.Second)
	k.run("kube", "token", "--force-refresh") // the stored token has 10 s left
	k.emu.AdvanceClock(50 * time.Second)
	before := k.emu.Counts()["token:refresh_token"]
	getVersions("a dying 60 s token")
	if n := k.emu.Counts()["token:refresh_token"] - before; n != 1 {
		t.Errorf("%d refreshes for %d kubectl calls starting on a dying 60 s token, want 1", n, calls)
	}
	if n := k.api.refused.Load(); n != 0 {
		t.Errorf("the API server refused %d requests", n)
	}
}
