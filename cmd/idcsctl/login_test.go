package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/secretservice"
	"github.com/idcsctl/idcsctl/internal/store"
	"github.com/idcsctl/idcsctl/internal/testenv"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// cmdHoldPort binds 127.0.0.1:PORT for the rest of the script, as another
// program holding a callback port would:
//
//	hold-port PORT...
func cmdHoldPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: hold-port PORT...")
	}
	for _, a := range args {
		port, err := strconv.Atoi(a)
		ts.Check(err)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ts.Check(err)
		ts.Defer(func() { ln.Close() })
	}
}

// The tests below drive the built idcsctl (the test binary, which
// testscript.Main put on PATH under that name) with exec.Cmd, where a
// script cannot: signals, stdin written while it runs, and stderr read as
// it comes.

// runTimeout bounds every wait for a process, so a bug fails the test
// instead of hanging the run.
const runTimeout = 30 * time.Second

// loginEmulator starts an emulator with the given options and registers
// redirect URIs on ports for both demo clients.
func loginEmulator(t *testing.T, opts emulator.Options, ports ...int) *emulator.Server {
	t.Helper()
	opts.Signer = testKey()
	srv, err := emulator.Start(opts, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, p := range ports {
		for _, c := range []string{emulator.DemoPublicClientID, emulator.DemoConfidentialClientID} {
			if err := srv.AddRedirectURI(c, fmt.Sprintf("http://127.0.0.1:%d/callback", p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return srv
}

// loginEnv is the environment of one idcsctl: its own config folder, the
// file token store, no session bus, no display and no browser, and the
// test binary's PATH (which holds idcsctl and testbrowser).
func loginEnv(t *testing.T, extra ...string) (env []string, dir string) {
	t.Helper()
	dir = t.TempDir()
	env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"TMPDIR=" + os.TempDir(),
		"IDCSCTL_CONFIG=" + filepath.Join(dir, "idcsctl", "config.toml"),
		"IDCSCTL_TOKEN_STORE=file",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "no-bus"),
	}
	return append(env, extra...), dir
}

// proc is an idcsctl running in the background.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // stderr, line by line; closed at EOF
	done  chan struct{}

	mu     sync.Mutex
	stderr strings.Builder
	err    error
}

func startIdcsctl(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	bin, err := exec.LookPath("idcsctl")
	if err != nil {
		t.Fatalf("the idcsctl test binary is not on PATH: %v", err)
	}
	p := &proc{cmd: exec.Command(bin, args...), lines: make(chan string, 256), done: make(chan struct{})}
	p.cmd.Env = env
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			p.lines <- sc.Text()
		}
		close(p.lines)
		err := p.cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitLine waits for a stderr line matching re and returns its submatches.
func (p *proc) waitLine(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timer := time.NewTimer(runTimeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("idcsctl ended without a line matching %q; stderr:\n%s", re, p.output())
			}
			if m := rx.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timer.C:
			t.Fatalf("no line matching %q within %s; stderr:\n%s", re, runTimeout, p.output())
		}
	}
}

// exit waits for the process and returns its exit code and whole stderr.
func (p *proc) exit(t *testing.T) (int, string) {
	t.Helper()
	go func() {
		for range p.lines { // keep the pipe drained
		}
	}()
	select {
	case <-p.done:
	case <-time.After(runTimeout):
		t.Fatalf("idcsctl did not exit within %s; stderr:\n%s", runTimeout, p.output())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0, p.stderr.String()
	case errors.As(p.err, &ee):
		return ee.ExitCode(), p.stderr.String()
	}
	t.Fatalf("wait for idcsctl: %v", p.err)
	return 0, ""
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// signInAt is the person at a browser: it signs in on the page at rawURL.
func signInAt(t *testing.T, rawURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	fb := &browser.FormBrowser{Username: emulator.DemoUser.UserName, Password: emulator.DemoUserPassword}
	if err := fb.Visit(ctx, rawURL); err != nil {
		t.Fatalf("sign in at %s: %v", rawURL, err)
	}
}

// assertPortFree fails unless 127.0.0.1:port can be bound.
func assertPortFree(t *testing.T, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d is still held: %v", port, err)
	}
	ln.Close()
}

// authURLLine matches the line that prints the authorization URL.
const authURLLine = `^  (http://\S+/oauth2/v1/authorize\?\S+)$`

func TestLoginCtrlCExitsThreeAndFreesThePort(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("os.Interrupt cannot be sent to a process on Windows")
	}
	port := testnet.Port(t)
	srv := loginEmulator(t, emulator.Options{}, port)
	env, _ := loginEnv(t)
	p := startIdcsctl(t, env, "login", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID, "--port", strconv.Itoa(port), "--no-browser")
	// The URL is printed once the callback server listens.
	p.waitLine(t, `short form: http://127\.0\.0\.1:`+strconv.Itoa(port)+`/$`)
	if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
		ln.Close()
		t.Fatal("the callback port is not bound while login waits")
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, stderr := p.exit(t)
	if code != exitCancelled {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitCancelled, stderr)
	}
	if !strings.Contains(stderr, "sign-in cancelled (interrupted); the callback server has stopped and nothing was stored") {
		t.Errorf("stderr does not say what happened:\n%s", stderr)
	}
	assertPortFree(t, port)
}

func TestSecondLoginOfAProfileWaitsForTheFirst(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("os.Interrupt cannot be sent to a process on Windows")
	}
	port := testnet.Port(t)
	srv := loginEmulator(t, emulator.Options{}, port)
	env, _ := loginEnv(t, "IDCSCTL_DOMAIN="+srv.URL, "IDCSCTL_CLIENT_ID="+emulator.DemoPublicClientID)
	args := []string{"login", "--port", strconv.Itoa(port), "--no-browser"}

	first := startIdcsctl(t, env, args...)
	first.waitLine(t, `short form: http://127\.0\.0\.1:\d+/$`)
	// Same profile, same only port: without the lock it would fail on the
	// port the first one holds.
	second := startIdcsctl(t, env, args...)
	second.waitLine(t, `^Waiting for profile "default": another idcsctl \(pid \d+\) is signing in; waiting`)
	if strings.Contains(second.output(), "authorize?") {
		t.Fatal("the second login started a sign-in while the first one runs")
	}

	if err := first.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code, stderr := first.exit(t); code != exitCancelled {
		t.Fatalf("first login exited %d:\n%s", code, stderr)
	}
	// Now the second one gets the port and finishes its own sign-in.
	m := second.waitLine(t, authURLLine)
	if !strings.Contains(m[1], url.QueryEscape(fmt.Sprintf("http://127.0.0.1:%d/callback", port))) {
		t.Errorf("the second login uses %s, want port %d", m[1], port)
	}
	signInAt(t, m[1])
	if code, stderr := second.exit(t); code != 0 || !strings.Contains(stderr, "Signed in") {
		t.Fatalf("second login exited %d:\n%s", code, stderr)
	}
}

func TestLoginWithAFailingBrowserPrintsTheURLAndCompletes(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		wantMsg string
	}{
		{name: "browser command exits 1", env: []string{"BROWSER=testbrowser", "TESTBROWSER_MODE=fail"}, wantMsg: `^The browser command testbrowser failed \(exit status 1\); open the URL above by hand\.$`},
		{name: "browser command not installed", env: []string{"BROWSER=no-such-browser-here"}, wantMsg: `^Could not open a browser \(start \$BROWSER: exec: "no-such-browser-here": executable file not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			port := testnet.Port(t)
			srv := loginEmulator(t, emulator.Options{}, port)
			env, _ := loginEnv(t, tt.env...)
			p := startIdcsctl(t, env, "login", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID, "--port", strconv.Itoa(port))
			m := p.waitLine(t, authURLLine)
			p.waitLine(t, tt.wantMsg)
			signInAt(t, m[1])
			if code, stderr := p.exit(t); code != 0 || !strings.Contains(stderr, "Signed in") {
				t.Fatalf("login exited %d:\n%s", code, stderr)
			}
		})
	}
}

func TestLoginOverSSHThroughTheShortURL(t *testing.T) {
	port := testnet.Port(t)
	srv := loginEmulator(t, emulator.Options{}, port)
	env, _ := loginEnv(t, "SSH_CONNECTION=10.1.2.3 50022 10.0.0.5 2222", "USER=alice")
	p := startIdcsctl(t, env, "login", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID, "--port", strconv.Itoa(port))
	p.waitLine(t, `^Not opening a browser: this is an SSH session with no display\.$`)
	ps := strconv.Itoa(port)
	p.waitLine(t, `^  ssh -L `+ps+`:127\.0\.0\.1:`+ps+` -p 2222 alice@10\.0\.0\.5$`)
	m := p.waitLine(t, `^then open (http://127\.0\.0\.1:\d+/) `)
	// The person opens the short form, forwarded to this machine.
	signInAt(t, m[1])
	if code, stderr := p.exit(t); code != 0 || !strings.Contains(stderr, "Signed in") {
		t.Fatalf("login exited %d:\n%s", code, stderr)
	}
}

func TestLoginOnLocalhostListensOnBothStacks(t *testing.T) {
	testenv.IPv6Loopback(t)
	port := testnet.Port(t)
	srv := loginEmulator(t, emulator.Options{})
	redirect := fmt.Sprintf("http://localhost:%d/callback", port)
	if err := srv.AddRedirectURI(emulator.DemoPublicClientID, redirect); err != nil {
		t.Fatal(err)
	}
	env, _ := loginEnv(t)
	p := startIdcsctl(t, env, "login", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID, "--redirect-url", redirect, "--no-browser")
	m := p.waitLine(t, authURLLine)
	p.waitLine(t, `short form: http://localhost:\d+/$`)
	// A browser may resolve localhost to either address: both answer, and
	// both send the person to the sign-in page.
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, addr := range []string{"127.0.0.1", "::1"} {
		req, err := http.NewRequest(http.MethodGet, "http://"+net.JoinHostPort(addr, strconv.Itoa(port))+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "localhost:" + strconv.Itoa(port)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("the callback server does not answer on %s: %v", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != m[1] {
			t.Errorf("%s answered %d to %q", addr, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	signInAt(t, m[1])
	if code, stderr := p.exit(t); code != 0 {
		t.Fatalf("login exited %d:\n%s", code, stderr)
	}
}

// discoveryShapes are the published shapes of discovery the commands are
// proven against (docs/testing.md): IDCS's own, a standard OpenID
// provider's, and a Dex-like one that lists and enforces only standard
// scopes.
var discoveryShapes = []struct {
	name      string
	discovery emulator.Discovery
}{
	{"idcs", emulator.Discovery{}},
	{"standard", emulator.Discovery{Issuer: emulator.SelfIssuer, Extras: map[string]any{
		"device_authorization_endpoint": "/oauth2/v1/device", "code_challenge_methods_supported": []string{"S256"}}}},
	{"dex", emulator.Discovery{Issuer: emulator.SelfIssuer, ScopesSupported: []string{"openid", "email", "offline_access"}}},
}

func TestLoginPasteFinishesWithThePastedAddressOnly(t *testing.T) {
	for _, shape := range discoveryShapes {
		t.Run(shape.name, func(t *testing.T) {
			testLoginPaste(t, emulator.Options{Discovery: shape.discovery})
		})
	}
}

func testLoginPaste(t *testing.T, opts emulator.Options) {
	port := testnet.Port(t)
	srv := loginEmulator(t, opts, port)
	env, _ := loginEnv(t)
	p := startIdcsctl(t, env, "login", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID, "--port", strconv.Itoa(port), "--paste")
	m := p.waitLine(t, authURLLine)
	p.waitLine(t, `paste it here:$`)
	// Nothing listens: the address is only pasted.
	assertPortFree(t, port)

	pb := &landingRecorder{host: "127.0.0.1:" + strconv.Itoa(port)}
	fb := &browser.FormBrowser{HTTP: &http.Client{Transport: pb, Timeout: runTimeout}, Username: emulator.DemoUser.UserName, Password: emulator.DemoUserPassword}
	_ = fb.Visit(t.Context(), m[1]) // fails on the 502, as the real page would not load
	landed := pb.get()
	if !strings.Contains(landed, "code=") {
		t.Fatalf("the browser did not come back with a code: %q", landed)
	}

	// An address of another sign-in is refused, and idcsctl asks again.
	forged := fmt.Sprintf("http://127.0.0.1:%d/callback?code=forged&state=not-this-one", port)
	if _, err := io.WriteString(p.stdin, forged+"\n"); err != nil {
		t.Fatal(err)
	}
	p.waitLine(t, `^That address is not from this sign-in \(its state does not match\)`)
	if _, err := io.WriteString(p.stdin, landed+"\n"); err != nil {
		t.Fatal(err)
	}
	code, stderr := p.exit(t)
	if code != 0 || !strings.Contains(stderr, "Signed in") {
		t.Fatalf("login exited %d:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "code=") {
		t.Error("stderr echoes a pasted address, which holds the code")
	}
	if n := srv.Counts()["token:authorization_code"]; n != 1 {
		t.Errorf("the emulator got %d code exchanges, want 1 (the forged code must never be sent)", n)
	}
}

func TestLoginPasteWithNothingPastedIsCancelled(t *testing.T) {
	port := testnet.Port(t)
	srv := loginEmulator(t, emulator.Options{}, port)
	env, _ := loginEnv(t)
	p := startIdcsctl(t, env, "login", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID, "--port", strconv.Itoa(port), "--paste")
	p.waitLine(t, `paste it here:$`)
	p.stdin.Close()
	if code, stderr := p.exit(t); code != exitCancelled || !strings.Contains(stderr, "no redirected address was pasted") {
		t.Fatalf("login exited %d:\n%s", code, stderr)
	}
}

// devicePolls is how many device code polls the emulator has answered.
func devicePolls(srv *emulator.Server) int {
	return srv.Counts()["token:"+emulator.GrantDeviceCode]
}

// waitFor polls cond until it holds or the run timeout passes; the
// emulator's counters have no event to wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(runTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLoginDevice(t *testing.T) {
	tests := []struct {
		name     string
		opts     emulator.Options
		slowDown bool
		decide   string // "page": sign in on the verification page; "deny"; "": nobody
		wantCode int
		wantMsgs []string
	}{
		{name: "pending then approved on the verification page", decide: "page", wantMsgs: []string{"Signed in"}},
		{name: "slow_down makes it poll more slowly", slowDown: true, decide: "page", wantMsgs: []string{"Signed in"}},
		{name: "denied is the person cancelling", decide: "deny", wantCode: exitCancelled, wantMsgs: []string{"access_denied", "the sign-in was declined"}},
		{name: "the code expires", opts: emulator.Options{DeviceCodeTTL: 2 * time.Second}, wantCode: exitCancelled, wantMsgs: []string{"the device code expired before the sign-in finished"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			opts.DeviceInterval = time.Second
			srv := loginEmulator(t, opts)
			if tt.slowDown {
				srv.InjectFailure("/oauth2/v1/token", emulator.Failure{Status: http.StatusBadRequest, ContentType: "application/json",
					Body: `{"error":"slow_down","error_description":"Polling too fast."}`})
			}
			env, dir := loginEnv(t)
			p := startIdcsctl(t, env, "login", "--device", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID)
			userCode := p.waitLine(t, `^and enter the code: ([A-Z]{4}-[A-Z]{4})$`)[1]
			complete := p.waitLine(t, `^Or open (http://\S+/ui/v1/device\?user_code=\S+) \(the code is filled in\)\.$`)[1]
			if tt.slowDown {
				// The first poll was told to slow down; the next comes 6s later.
				p.waitLine(t, `^The provider asked idcsctl to poll more slowly; asking every 6s now\.$`)
			} else {
				// The person takes a moment: idcsctl has polled and been told to wait.
				waitFor(t, "a pending poll", func() bool { return devicePolls(srv) >= 1 })
			}
			switch tt.decide {
			case "page":
				signInAt(t, complete)
			case "deny":
				resp, err := http.Post(srv.URL+"/emulator/v1/device/approve", "application/json",
					strings.NewReader(fmt.Sprintf(`{"user_code":%q,"deny":true}`, userCode)))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			code, stderr := p.exit(t)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			for _, m := range tt.wantMsgs {
				if !strings.Contains(stderr, m) {
					t.Errorf("stderr lacks %q:\n%s", m, stderr)
				}
			}
			if tt.wantCode == 0 {
				tok, err := store.NewFile(filepath.Join(dir, "idcsctl")).Load(t.Context(), "default")
				if err != nil || tok.Grant != grantDeviceCode || tok.RefreshToken == "" {
					t.Errorf("stored %+v, %v; want a device_code grant with a refresh token", tok, err)
				}
			}
		})
	}
}

// fakeKeyring is an OS keyring in memory; getErr makes every Get fail.
type fakeKeyring struct {
	mu     sync.Mutex
	items  map[string]string
	calls  int
	getErr error
}

func (k *fakeKeyring) Get(service, user string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.getErr != nil {
		return "", k.getErr
	}
	v, ok := k.items[service+"/"+user]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (k *fakeKeyring) Set(service, user, secret string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.items == nil {
		k.items = map[string]string{}
	}
	k.items[service+"/"+user] = secret
	return nil
}

func (k *fakeKeyring) Delete(service, user string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	delete(k.items, service+"/"+user)
	return nil
}

// inProcess is an app for run() with a config folder, an environment and
// a keyring of the test's choosing.
func inProcess(t *testing.T, vars map[string]string, kr store.Keyring) (*deps, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"IDCSCTL_CONFIG": filepath.Join(dir, "config.toml"), "IDCSCTL_TOKEN_STORE": "file"}
	for k, v := range vars {
		env[k] = v
	}
	var stdout, stderr bytes.Buffer
	return &deps{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr,
		Getenv: func(k string) string { return env[k] },
		Now:    time.Now, Keyring: kr,
		OpenBrowser: func(string) error { return errors.New("no browser in this test") },
	}, &stdout, &stderr, dir
}

func TestClientSecretFromStdinIsKeptInTheKeyringAndRenewsTheToken(t *testing.T) {
	srv := loginEmulator(t, emulator.Options{})
	kr := &fakeKeyring{}
	d, _, stderr, dir := inProcess(t, nil, kr)
	d.Stdin = strings.NewReader(emulator.DemoConfidentialClientSecret + "\n")
	code := run(t.Context(), []string{"login", "--client-credentials", "--client-secret-stdin", "--save-secret",
		"--domain", srv.URL, "--client-id", emulator.DemoConfidentialClientID}, d)
	if code != 0 {
		t.Fatalf("login exited %d: %s", code, stderr)
	}
	if strings.Contains(stderr.String(), emulator.DemoConfidentialClientSecret) {
		t.Error("stderr shows the secret")
	}
	for _, f := range []string{filepath.Join(dir, "config.toml"), filepath.Join(dir, "tokens", "default.json")} {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(emulator.DemoConfidentialClientSecret)) {
			t.Errorf("%s holds the client secret in plain text", f)
		}
	}

	// Two hours later the token has expired; with no secret in the
	// environment, the one in the keyring renews it.
	later := time.Now().Add(2 * time.Hour)
	d.Now = func() time.Time { return later }
	var out bytes.Buffer
	d.Stdout = &out
	if code := run(t.Context(), []string{"token"}, d); code != 0 {
		t.Fatalf("token exited %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out.String(), "eyJ") {
		t.Errorf("token printed %q", out.String())
	}
	if n := srv.Counts()["token:client_credentials"]; n != 2 {
		t.Errorf("the emulator issued %d client credentials tokens, want 2 (login, renewal)", n)
	}
}

// TestSavedSecretLivesInTheRealKeyring runs --save-secret against a real
// Secret Service (gnome-keyring) and renews a CI token with the secret read
// back from it, with no secret in the environment.
func TestSavedSecretLivesInTheRealKeyring(t *testing.T) {
	keyringEnv := secretservice.Start(t)
	srv := loginEmulator(t, emulator.Options{AccessTokenTTL: 30 * time.Second})
	env, dir := loginEnv(t, "IDCSCTL_TOKEN_STORE=keyring", "IDCSCTL_DOMAIN="+srv.URL, "IDCSCTL_CLIENT_ID="+emulator.DemoConfidentialClientID)
	env = append(env, keyringEnv...)

	p := startIdcsctl(t, env, "login", "--client-credentials", "--client-secret-stdin", "--save-secret")
	if _, err := io.WriteString(p.stdin, emulator.DemoConfidentialClientSecret+"\n"); err != nil {
		t.Fatal(err)
	}
	p.stdin.Close()
	if code, stderr := p.exit(t); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("login exited %d:\n%s", code, stderr)
	}

	// The access token lives 30s, within token's margin: token renews it
	// with the secret from the keyring.
	tok := exec.Command("idcsctl", "token")
	tok.Env = env
	var out, errOut bytes.Buffer
	tok.Stdout, tok.Stderr = &out, &errOut
	if err := tok.Run(); err != nil || !strings.HasPrefix(out.String(), "eyJ") {
		t.Fatalf("token: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
	if n := srv.Counts()["token:client_credentials"]; n != 2 {
		t.Errorf("the emulator issued %d client credentials tokens, want 2 (login, renewal)", n)
	}
	err := filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if b, rerr := os.ReadFile(path); rerr == nil && bytes.Contains(b, []byte(emulator.DemoConfidentialClientSecret)) {
			t.Errorf("%s holds the client secret", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestClientSecretIsSentOnlyToItsOwnApplication(t *testing.T) {
	const domain = "https://idcs-1.identity.oraclecloud.com"
	tests := []struct {
		name      string
		env       map[string]string
		profile   config.Profile
		saved     bool
		getErr    error
		want      string
		wantErr   string
		wantCalls bool // whether the keyring may be asked at all
	}{
		{name: "saved for this application", profile: config.Profile{Name: "work", Domain: domain, ClientID: "app"}, saved: true, want: "s3cr3t-value", wantCalls: true},
		{name: "the environment wins", env: map[string]string{"IDCSCTL_CLIENT_SECRET": "from-env"}, profile: config.Profile{Name: "work", Domain: domain, ClientID: "app"}, saved: true, want: "from-env"},
		{name: "another client id gets nothing", profile: config.Profile{Name: "work", Domain: domain, ClientID: "other-app"}, saved: true, wantCalls: true},
		{name: "another domain gets nothing", profile: config.Profile{Name: "work", Domain: "https://idcs-2.identity.oraclecloud.com", ClientID: "app"}, saved: true, wantCalls: true},
		{name: "a public client never asks the keyring", profile: config.Profile{Name: "work", Domain: domain, ClientID: "app"}},
		{name: "a confidential client with nothing kept is told so", profile: config.Profile{Name: "work", Domain: domain, ClientID: "app", Confidential: true},
			wantErr: "is not available here"},
		{name: "a confidential client never gets another application's secret", profile: config.Profile{Name: "work", Domain: domain, ClientID: "other-app", Confidential: true}, saved: true,
			wantErr: "is not available here", wantCalls: true},
		{name: "a keyring that fails says so without the secret", profile: config.Profile{Name: "work", Domain: domain, ClientID: "app"}, saved: true,
			getErr: errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), wantErr: "the keyring's default collection is locked", wantCalls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := &fakeKeyring{}
			d, _, _, _ := inProcess(t, tt.env, kr)
			a := &app{deps: d, global: &globalOptions{}}
			if tt.saved {
				owner := &config.Resolved{Profile: config.Profile{Name: "work", Domain: domain, ClientID: "app"}}
				if _, err := a.saveClientSecret(t.Context(), owner, domain, "s3cr3t-value"); err != nil {
					t.Fatal(err)
				}
			}
			kr.mu.Lock()
			kr.calls, kr.getErr = 0, tt.getErr
			kr.mu.Unlock()
			got, err := a.clientSecret(t.Context(), &config.Resolved{Profile: tt.profile})
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "IDCSCTL_CLIENT_SECRET") || strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("err = %v, want one with %q, the way out, and no secret", err, tt.wantErr)
				}
			case err != nil || got != tt.want:
				t.Fatalf("clientSecret = %q, %v; want %q", got, err, tt.want)
			}
			if kr.calls > 0 && !tt.wantCalls {
				t.Errorf("the keyring was asked %d times", kr.calls)
			}
		})
	}
}

func TestUntrustedCertificateSaysToAddTheCA(t *testing.T) {
	e, err := emulator.New(emulator.Options{Signer: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewTLSServer(e)
	defer tlsSrv.Close()
	pemFile := filepath.Join(t.TempDir(), "corporate-ca.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := map[string]string{"IDCSCTL_CLIENT_SECRET": emulator.DemoConfidentialClientSecret}
	login := []string{"login", "--client-credentials", "--domain", tlsSrv.URL, "--client-id", emulator.DemoConfidentialClientID}

	d, _, stderr, _ := inProcess(t, secret, nil)
	if code := run(t.Context(), login, d); code != exitError {
		t.Fatalf("login without the CA exited %d: %s", code, stderr)
	}
	if msg := stderr.String(); !strings.Contains(msg, "its TLS certificate is signed by an authority this machine does not trust") || !strings.Contains(msg, "add your CA with --ca-file FILE") {
		t.Errorf("stderr = %q, want the cause and the fix", msg)
	}

	var out bytes.Buffer
	d.Stdout = &out
	if code := run(t.Context(), []string{"doctor", "--domain", tlsSrv.URL, "--client-id", emulator.DemoConfidentialClientID, "-o", "json"}, d); code != exitError {
		t.Fatalf("doctor exited %d", code)
	}
	var rep doctorReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if c := findCheck(rep, "discovery"); c.Status != checkFail || !strings.Contains(c.Fix, "add your CA with --ca-file") {
		t.Errorf("discovery check = %+v", c)
	}

	d, _, stderr, _ = inProcess(t, secret, nil)
	if code := run(t.Context(), append(login, "--ca-file", pemFile), d); code != 0 {
		t.Fatalf("login with --ca-file exited %d: %s", code, stderr)
	}
}

func TestLoginErrorsSayWhatToChange(t *testing.T) {
	file, err := config.Load(filepath.Join(t.TempDir(), "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	file.Put(config.Profile{Name: "work", RedirectPorts: []int{9001, 9002}})
	fromFile := &config.Resolved{Profile: config.Profile{Name: "work", RedirectPorts: []int{9001, 9002}}, InFile: true}
	defaults := &config.Resolved{Profile: config.Profile{Name: "default", RedirectPorts: config.DefaultRedirectPorts}}
	inUse := &auth.PortsInUseError{Host: "127.0.0.1", Ports: []int{9001, 9002}}
	refused := &auth.AuthorizeRequestError{Status: 400, Title: "Invalid redirect URI", RedirectURI: "http://127.0.0.1:8000/callback"}
	tests := []struct {
		name     string
		err      error
		p        *config.Resolved
		o        config.Overrides
		wantCode int
		want     []string
	}{
		{name: "ports from the flag", err: inUse, p: fromFile, o: config.Overrides{Ports: []int{9001, 9002}}, wantCode: exitError,
			want: []string{"every callback port is in use on 127.0.0.1: 9001, 9002 (from --port); stop the program that holds one, or pass --port N"}},
		{name: "ports from the profile", err: inUse, p: fromFile, wantCode: exitError,
			want: []string{`(from redirect_ports of profile "work" in ` + file.Path() + ")"}},
		{name: "default ports", err: inUse, p: defaults, wantCode: exitError,
			want: []string{"(the default ports; set others with --port or redirect_ports in the profile)"}},
		{name: "a refused redirect lists the URIs to register", err: refused, p: defaults, wantCode: exitError,
			want: []string{"Invalid redirect URI", "http://127.0.0.1:8000/callback, http://127.0.0.1:18000/callback, http://127.0.0.1:28000/callback (the default ports"}},
		{name: "a redirect URL names its flag", err: refused, p: &config.Resolved{Profile: config.Profile{Name: "default", RedirectURL: "http://localhost:8000/cb"}}, o: config.Overrides{RedirectURL: "http://localhost:8000/cb"}, wantCode: exitError,
			want: []string{"are http://localhost:8000/cb (from --redirect-url)"}},
		{name: "timeout", err: fmt.Errorf("no answer: %w", auth.ErrTimeout), p: defaults, wantCode: exitCancelled,
			want: []string{"sign-in timed out; the callback server has stopped and nothing was stored; run `idcsctl login` again (or raise --timeout)"}},
		{name: "ctrl-c", err: fmt.Errorf("%w: %w", auth.ErrCancelled, context.Canceled), p: defaults, wantCode: exitCancelled,
			want: []string{"sign-in cancelled (interrupted)"}},
		{name: "prompt none without a session", err: &auth.ProviderError{Code: "login_required", Description: "The user is not signed in.", Endpoint: "authorization"}, p: defaults, wantCode: exitLoginRequired,
			want: []string{"sign-in required: the domain cannot sign you in without showing its sign-in page", "login_required: The user is not signed in.", "run `idcsctl login` without --prompt none"}},
		{name: "prompt none needing consent", err: &auth.ProviderError{Code: "consent_required", Endpoint: "authorization"}, p: defaults, wantCode: exitLoginRequired,
			want: []string{"consent_required", "without --prompt none"}},
		{name: "cancel on a named profile names it in the hint", err: &auth.ProviderError{Code: "access_denied", Description: "The user denied the request", Endpoint: "authorization"}, p: fromFile, wantCode: exitCancelled,
			want: []string{"sign-in cancelled: the sign-in was declined (access_denied: The user denied the request); nothing was stored; run `idcsctl login -p work` to sign in again"}},
		{name: "access denied is the person cancelling", err: &auth.ProviderError{Code: "access_denied", Endpoint: "authorization"}, p: defaults, wantCode: exitCancelled,
			want: []string{"sign-in cancelled: the sign-in was declined", "access_denied", "ask its administrator to assign you"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := signInAttempt{file: file, p: tt.p, o: tt.o}.failed(tt.err)
			if c := exitCode(got); c != tt.wantCode {
				t.Errorf("exit code %d, want %d", c, tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(got.Error(), w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			// Each piece of advice once, no parenthesis in a parenthesis.
			if strings.Count(got.Error(), "--port N") > 1 || strings.Contains(got.Error(), "))") {
				t.Errorf("%q repeats itself", got)
			}
			if !errors.Is(got, tt.err) && !errors.Is(tt.err, context.Canceled) {
				t.Errorf("%v no longer wraps %v", got, tt.err)
			}
		})
	}
}

func TestLoginFlagsThatCannotWorkTogetherAreUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--paste", "--device"}, "--paste and --device are different ways to sign in"},
		{[]string{"--device", "--client-credentials"}, "--device and --client-credentials are different ways to sign in"},
		{[]string{"--paste", "--client-secret-stdin"}, "both read stdin"},
		{[]string{"--save-secret"}, "--save-secret keeps the secret given by IDCSCTL_CLIENT_SECRET or --client-secret-stdin"},
		{[]string{"--timeout", "-1s"}, "--timeout must be positive"},
		{[]string{"--client-secret-stdin"}, "stdin holds no secret"},
		{[]string{"--prompt", "again"}, `--prompt "again" is not one of login, select_account, consent, none`},
		{[]string{"--prompt", "none login"}, `--prompt "none login" is not one of`},
		{[]string{"--prompt", "login", "--device"}, "--prompt and --login-hint shape the browser sign-in"},
		{[]string{"--login-hint", "ada", "--client-credentials"}, "--prompt and --login-hint shape the browser sign-in"},
		{[]string{"--login-hint", "ada\x1b[2J"}, "--login-hint must be a user name"},
		{[]string{"--login-hint", strings.Repeat("a", 257)}, "--login-hint must be a user name of at most 256 characters"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			d, stdout, stderr, _ := inProcess(t, map[string]string{"IDCSCTL_DOMAIN": "https://idcs-1.identity.oraclecloud.com", "IDCSCTL_CLIENT_ID": "app"}, nil)
			d.Transport = failingTransport{}
			if code := run(t.Context(), append([]string{"login"}, tt.args...), d); code != exitUsage {
				t.Fatalf("exit code %d, want %d: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr.String(), tt.want) || stdout.Len() != 0 {
				t.Errorf("stderr = %q, want %q", stderr, tt.want)
			}
		})
	}
}

// failingTransport proves a test never reaches the network.
type failingTransport struct{}

func (failingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("this test must not send %s", req.URL.Redacted())
}

func TestReadSecretTakesTheFirstLineOnly(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "s3cr3t\n", want: "s3cr3t"},
		{in: "s3cr3t", want: "s3cr3t"},
		{in: "  s3cr3t \r\nsecond line\n", want: "s3cr3t"},
		{in: "", wantErr: true},
		{in: "\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := readSecret(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("readSecret(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestInterruptedDeviceLoginNamesNoCallbackServer: a --device sign-in has
// no callback server, so Ctrl-C must not speak of one, and a machine with no
// browser gets no "Not opening a browser" line: the device page is opened
// elsewhere by design.
func TestInterruptedDeviceLoginNamesNoCallbackServer(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("os.Interrupt cannot be sent to a process on Windows")
	}
	srv := loginEmulator(t, emulator.Options{DeviceInterval: time.Second})
	env, _ := loginEnv(t, "BROWSER=", "DISPLAY=", "WAYLAND_DISPLAY=")
	p := startIdcsctl(t, env, "login", "--device", "--domain", srv.URL, "--client-id", emulator.DemoPublicClientID)
	p.waitLine(t, `^and enter the code: `)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, stderr := p.exit(t)
	if code != exitCancelled {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitCancelled, stderr)
	}
	if !strings.Contains(stderr, "sign-in cancelled (interrupted); the device code was abandoned and nothing was stored") {
		t.Errorf("stderr does not say what happened:\n%s", stderr)
	}
	for _, bad := range []string{"callback server", "Not opening a browser"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("a device sign-in says %q:\n%s", bad, stderr)
		}
	}
}
