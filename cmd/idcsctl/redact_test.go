package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// secretRecorder stands in front of the emulator and remembers every
// secret that crosses it, in either direction: codes, PKCE verifiers,
// client secrets and passwords in requests, Authorization and Cookie
// headers, tokens in answers, Set-Cookie values, codes in redirects.
type secretRecorder struct {
	next http.Handler

	mu      sync.Mutex
	secrets map[string]string // value -> where it was seen
}

// secretParams are the form and query parameters whose values are secret.
var secretParams = []string{
	"code", "code_verifier", "refresh_token", "access_token", "id_token", "id_token_hint",
	"client_secret", "client_assertion", "token", "password", "device_code",
}

func (s *secretRecorder) add(where, v string) {
	v = strings.TrimSpace(v)
	if len(v) < 8 { // shorter values would match ordinary words
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[v] = where
}

func (s *secretRecorder) snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]string, len(s.secrets))
	for k, v := range s.secrets {
		m[k] = v
	}
	return m
}

// capture keeps a copy of an answer's body.
type capture struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *capture) Write(b []byte) (int, error) {
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

func (s *secretRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	where := r.Method + " " + r.URL.Path

	if v := r.Header.Get("Authorization"); v != "" {
		s.add(where+" Authorization", v)
		scheme, cred, _ := strings.Cut(v, " ")
		s.add(where+" Authorization", cred)
		if strings.EqualFold(scheme, "Basic") {
			if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
				_, secret, _ := strings.Cut(string(dec), ":")
				s.add(where+" Basic secret", secret)
			}
		}
	}
	for _, c := range r.Cookies() {
		s.add(where+" Cookie "+c.Name, c.Value)
	}
	form, _ := url.ParseQuery(string(body))
	for _, p := range secretParams {
		for _, v := range append(form[p], r.URL.Query()[p]...) {
			s.add(where+" "+p, v)
		}
	}

	c := &capture{ResponseWriter: w}
	s.next.ServeHTTP(c, r)

	for _, v := range c.Header().Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(v); err == nil {
			s.add(where+" Set-Cookie "+ck.Name, ck.Value)
		}
	}
	if loc, err := url.Parse(c.Header().Get("Location")); err == nil {
		for _, p := range secretParams {
			s.add(where+" Location "+p, loc.Query().Get(p))
		}
	}
	if mt, _, _ := mime.ParseMediaType(c.Header().Get("Content-Type")); strings.HasSuffix(mt, "json") {
		var doc map[string]any
		if json.Unmarshal(c.body.Bytes(), &doc) == nil {
			for _, p := range secretParams {
				if v, ok := doc[p].(string); ok {
					s.add(where+" answer "+p, v)
				}
			}
		}
	}
}

// redactEnv runs the idcsctl copy of the test binary against one recorded
// emulator, in its own home.
type redactEnv struct {
	t   *testing.T
	bin string
	emu *emulator.Emulator
	url string
	dir string
	env []string
	rec *secretRecorder
	ran int // commands checked
}

func newRedactEnv(t *testing.T) *redactEnv {
	t.Helper()
	bin, err := exec.LookPath("idcsctl")
	if err != nil {
		t.Fatalf("find the idcsctl copy of the test binary on PATH: %v", err)
	}
	emu, err := emulator.New(emulator.Options{Signer: testKey(), DeviceInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rec := &secretRecorder{next: emu, secrets: map[string]string{}}
	// The constants the tests themselves hand over: the confidential
	// client's secret and the demo user's password.
	rec.add("client secret", emulator.DemoConfidentialClientSecret)
	rec.add("password", emulator.DemoUserPassword)
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	root := t.TempDir()
	e := &redactEnv{t: t, bin: bin, emu: emu, url: srv.URL, dir: filepath.Join(root, "idcsctl"), rec: rec}
	e.env = isolatedEnv(root, e.dir)
	return e
}

// port registers a fresh loopback redirect URI for both demo clients.
func (e *redactEnv) port() int {
	p := testnet.Port(e.t)
	for _, c := range []string{emulator.DemoPublicClientID, emulator.DemoConfidentialClientID} {
		if err := e.emu.AddRedirectURI(c, fmt.Sprintf("http://127.0.0.1:%d/callback", p)); err != nil {
			e.t.Fatal(err)
		}
	}
	return p
}

// redactProc is one running idcsctl whose stderr lines can be waited for.
type redactProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout bytes.Buffer
	lines  chan string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
	cancel context.CancelFunc
}

func (e *redactEnv) start(extraEnv []string, args ...string) *redactProc {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 60*time.Second)
	p := &redactProc{lines: make(chan string, 256), done: make(chan struct{}), cancel: cancel}
	p.cmd = exec.CommandContext(ctx, e.bin, args...)
	p.cmd.Env = append(append([]string(nil), e.env...), extraEnv...)
	p.cmd.Stdout = &p.stdout
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		e.t.Fatal(err)
	}
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default: // nobody waits for lines now
			}
		}
	}()
	return p
}

// waitLine returns the submatches of the first stderr line matching re.
func (p *redactProc) waitLine(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-p.done:
			t.Fatalf("idcsctl ended before printing a line matching %q:\n%s", re, p.errText())
		case <-timeout:
			t.Fatalf("no line matching %q within 30s:\n%s", re, p.errText())
		}
	}
}

func (p *redactProc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// wait ends the process's stdin and returns its exit code.
func (p *redactProc) wait(t *testing.T) int {
	t.Helper()
	defer p.cancel()
	p.stdin.Close()
	<-p.done
	err := p.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		t.Fatalf("run idcsctl: %v", err)
	}
	return 0
}

// step is one command line and what it may print.
type step struct {
	args     []string
	env      []string
	stdin    string
	want     int  // exit code; -1 = any
	printsIt bool // printing a token on stdout is this command's job
	network  bool // it must talk to the domain, so --debug lines must show
}

// run runs one step to its end and checks its output.
func (e *redactEnv) run(s step) {
	e.t.Helper()
	p := e.start(s.env, s.args...)
	if _, err := io.WriteString(p.stdin, s.stdin); err != nil {
		e.t.Fatal(err)
	}
	code := p.wait(e.t)
	e.check(s, code, p.stdout.String(), p.errText())
}

func (e *redactEnv) check(s step, code int, stdout, stderr string) {
	e.t.Helper()
	e.ran++
	name := "idcsctl " + strings.Join(s.args, " ")
	if s.want >= 0 && code != s.want {
		e.t.Fatalf("%s exited %d, want %d\nstderr:\n%s", name, code, s.want, stderr)
	}
	e.readStore()
	for secret, where := range e.rec.snapshot() {
		if strings.Contains(stderr, secret) {
			e.t.Errorf("%s: stderr shows a secret (%s): %.16s...\n%s", name, where, secret, stderr)
		}
		if !s.printsIt && strings.Contains(stdout, secret) {
			e.t.Errorf("%s: stdout shows a secret (%s): %.16s...", name, where, secret)
		}
	}
	checkDebugLines(e.t, name, stderr, s.network)
	for what, text := range map[string]string{"stderr": stderr, "stdout": stdout} {
		if what == "stdout" && s.printsIt {
			continue
		}
		if m := jwtShape.FindString(text); m != "" {
			e.t.Errorf("%s: %s shows a JWT: %.40s...", name, what, m)
		}
	}
}

// jwtShape is the header and payload of a JWT: an ID or access token.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}`)

// debugLine is what --debug prints for one request.
var debugLine = regexp.MustCompile(`^debug: ([A-Z]+) (\S+) (?:-> \d{3} |failed after )`)

// checkDebugLines checks every --debug line: the URL holds no user, no
// fragment and no query value outside the public list; and, for a command
// that talks to the domain, that there are such lines at all.
func checkDebugLines(t *testing.T, name, stderr string, network bool) {
	t.Helper()
	n := 0
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "debug: ") {
			continue
		}
		m := debugLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("%s: unexpected --debug line %q", name, l)
			continue
		}
		n++
		u, err := url.Parse(m[2])
		if err != nil {
			t.Errorf("%s: --debug URL %q: %v", name, m[2], err)
			continue
		}
		if u.User != nil || u.Fragment != "" {
			t.Errorf("%s: --debug URL %q keeps user information or a fragment", name, m[2])
		}
		for k, vs := range u.Query() {
			for _, v := range vs {
				if !publicParam(k) && v != "REDACTED" {
					t.Errorf("%s: --debug URL shows %s=%q", name, k, v)
				}
			}
		}
	}
	if network && n == 0 {
		t.Errorf("%s: --debug printed no request line:\n%s", name, stderr)
	}
}

// readStore adds the tokens of every profile's token file to the secrets.
func (e *redactEnv) readStore() {
	files, _ := filepath.Glob(filepath.Join(e.dir, "tokens", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var rec struct {
			Token map[string]any `json:"token"`
		}
		if json.Unmarshal(b, &rec) != nil {
			continue
		}
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if v, ok := rec.Token[k].(string); ok {
				e.rec.add("token file "+filepath.Base(f)+" "+k, v)
			}
		}
	}
}

func (e *redactEnv) refreshToken(profile string) string {
	b, err := os.ReadFile(filepath.Join(e.dir, "tokens", profile+".json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var rec struct {
		Token struct {
			RefreshToken string `json:"refresh_token"`
		} `json:"token"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Token.RefreshToken == "" {
		e.t.Fatalf("no refresh token in the store of profile %s: %v", profile, err)
	}
	return rec.Token.RefreshToken
}

// TestDebugRedactsEverySecretOfEveryCommand runs every command with --debug
// against a recording emulator, through every way to sign in and the
// failures that carry secrets (a token endpoint that echoes the refresh
// token, a revoked grant), and checks that no secret that crossed the wire
// (tokens, codes, PKCE verifiers, the client secret, the password,
// Authorization, Cookie and Set-Cookie values) nor any JWT appears on
// stderr, or on stdout except where printing a token is the command's job.
func TestDebugRedactsEverySecretOfEveryCommand(t *testing.T) {
	e := newRedactEnv(t)
	u := e.url
	pub, conf := emulator.DemoPublicClientID, emulator.DemoConfidentialClientID
	secretEnv := []string{"IDCSCTL_CLIENT_SECRET=" + emulator.DemoConfidentialClientSecret}

	// Sign-ins: the browser, public and confidential.
	first := e.port()
	if err := e.emu.AddPostLogoutRedirectURI(pub, fmt.Sprintf("http://127.0.0.1:%d%s", first, auth.PostLogoutPath)); err != nil {
		t.Fatal(err)
	}
	e.run(step{args: []string{"login", "--debug", "--domain", u, "--client-id", pub, "--port", strconv.Itoa(first)}, network: true})
	e.run(step{args: []string{"login", "--debug", "-p", "conf", "--domain", u, "--client-id", conf, "--port", strconv.Itoa(e.port())}, env: secretEnv, network: true})
	// The application itself, its secret from stdin.
	e.run(step{args: []string{"login", "--debug", "-p", "app", "--client-credentials", "--client-secret-stdin", "--domain", u, "--client-id", conf},
		stdin: emulator.DemoConfidentialClientSecret + "\n", network: true})
	e.deviceLogin()
	e.pasteLogin()

	steps := []step{
		{args: []string{"token", "--debug"}, printsIt: true},
		{args: []string{"token", "--debug", "-o", "json"}, printsIt: true},
		{args: []string{"token", "--debug", "--id-token"}, printsIt: true},
		{args: []string{"token", "--debug", "--margin", "2h"}, printsIt: true, network: true}, // refresh
		{args: []string{"token", "--debug", "-p", "conf", "--margin", "2h"}, env: secretEnv, printsIt: true, network: true},
		{args: []string{"token", "--debug", "-p", "app", "--margin", "2h"}, env: secretEnv, printsIt: true, network: true},
		{args: []string{"whoami", "--debug"}, network: true},
		{args: []string{"whoami", "--debug", "--source", "id-token", "-o", "json"}},
		{args: []string{"whoami", "--debug", "--source", "userinfo", "-o", "json"}, network: true},
		{args: []string{"whoami", "--debug", "--source", "me"}, network: true},
		{args: []string{"whoami", "--debug", "-p", "dev", "-o", "json"}, network: true},
		{args: []string{"whoami", "--debug", "-p", "paste", "--source", "me", "-o", "json"}, network: true},
		{args: []string{"status", "--debug"}},
		{args: []string{"status", "--debug", "-o", "json"}},
		{args: []string{"fetch", "--debug", "/admin/v1/Me"}, network: true},
		{args: []string{"fetch", "--debug", "-o", "json", "/admin/v1/Me?attributes=userName&api_key=k3y-0f-the-person"}, network: true},
		{args: []string{"doctor", "--debug"}, want: -1},
		{args: []string{"version", "--debug"}},
		// kubectl's plugin prints the ID token (or the access token) in its
		// ExecCredential, and nothing else; setup prints no token at all.
		{args: []string{"kube", "token", "--debug"}, printsIt: true},
		{args: []string{"kube", "token", "--debug", "--access-token"}, printsIt: true},
		{args: []string{"kube", "setup", "--debug", "--kubeconfig", filepath.Join(t.TempDir(), "kubeconfig")}}, // discovery is cached
	}
	for _, s := range steps {
		e.run(s)
	}

	// A token endpoint that answers an HTML page quoting the refresh
	// token, as a broken gateway might: the error names the page, not
	// its text.
	e.emu.InjectFailure("/oauth2/v1/token", emulator.Failure{Status: http.StatusBadGateway, ContentType: "text/html",
		Body: "<html>upstream said: refresh_token=" + e.refreshToken("default") + "</html>"})
	e.run(step{args: []string{"token", "--debug", "--margin", "2h"}, want: exitError, network: true})
	// A revoked grant: sign in again, exit 4.
	e.emu.RevokeAll()
	e.run(step{args: []string{"token", "--debug", "--margin", "2h"}, want: exitLoginRequired, network: true})

	// The browser sign-out sends the ID token to the domain as id_token_hint.
	e.run(step{args: []string{"logout", "--debug", "--browser", "--timeout", "20s"}, network: true})
	e.run(step{args: []string{"logout", "--debug", "-p", "conf"}, env: secretEnv, network: true})
	e.run(step{args: []string{"logout", "--debug", "--all"}, env: secretEnv, network: true})
	// The demo runs its own emulator, whose secrets this recorder never
	// sees: the password, the client secret and JWT shapes still must not
	// show, nor any query value in the --debug lines.
	e.run(step{args: []string{"demo", "--debug"}, network: true})

	if len(e.rec.snapshot()) < 20 {
		t.Errorf("only %d secrets were recorded; the recorder missed the traffic", len(e.rec.snapshot()))
	}
	t.Logf("%d commands checked against %d recorded secrets", e.ran, len(e.rec.snapshot()))
}

// deviceLogin signs profile "dev" in with the device code grant, approving
// the code at the emulator as the person on the other device would.
func (e *redactEnv) deviceLogin() {
	e.t.Helper()
	p := e.start(nil, "login", "--debug", "-p", "dev", "--device", "--domain", e.url, "--client-id", emulator.DemoPublicClientID)
	m := p.waitLine(e.t, `^Or open (\S+) \(the code is filled in\)\.$`)
	v, err := url.Parse(m[1])
	if err != nil {
		e.t.Fatal(err)
	}
	body := fmt.Sprintf(`{"user_code":%q}`, v.Query().Get("user_code"))
	resp, err := http.Post(e.url+"/emulator/v1/device/approve", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("approve the device code: %s", resp.Status)
	}
	code := p.wait(e.t)
	e.check(step{args: p.cmd.Args[1:], want: 0, network: true}, code, p.stdout.String(), p.errText())
}

// pasteLogin signs profile "paste" in by pasting the address the browser
// was sent back to, as on a machine whose loopback the browser cannot reach.
func (e *redactEnv) pasteLogin() {
	e.t.Helper()
	port := e.port()
	p := e.start(nil, "login", "--debug", "-p", "paste", "--paste", "--no-browser", "--domain", e.url,
		"--client-id", emulator.DemoPublicClientID, "--port", strconv.Itoa(port))
	m := p.waitLine(e.t, `^\s+(http://\S+/oauth2/v1/authorize\?\S+)$`)
	landed := &landingRecorder{host: "127.0.0.1:" + strconv.Itoa(port)}
	fb := &browser.FormBrowser{HTTP: &http.Client{Transport: landed, Timeout: 30 * time.Second},
		Username: emulator.DemoUser.UserName, Password: emulator.DemoUserPassword}
	_ = fb.Visit(e.t.Context(), m[1]) // the redirect URI does not load: nothing listens there
	addr := landed.get()
	if !strings.Contains(addr, "code=") {
		e.t.Fatalf("the browser came back without a code: %q", addr)
	}
	if _, err := io.WriteString(p.stdin, addr+"\n"); err != nil {
		e.t.Fatal(err)
	}
	code := p.wait(e.t)
	e.check(step{args: p.cmd.Args[1:], want: 0, network: true}, code, p.stdout.String(), p.errText())
}
