//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// cliEnv is one isolated idcsctl home (config, file token store, locks)
// signed in to one fresh emulator, for tests and benchmarks that run
// idcsctl as separate processes, as scripts do.
type cliEnv struct {
	tb   testing.TB
	bin  string // the idcsctl program to run
	dir  string // the state folder: config.toml, tokens/, *.lock
	env  []string
	emu  *emulator.Emulator
	url  string // the domain URL: the emulator, and any extra routes
	port int    // the loopback port of the sign-in redirect
}

// processTimeout bounds every idcsctl process a test starts.
const processTimeout = 60 * time.Second

// newCLIEnv starts an emulator on 127.0.0.1 and prepares an environment in
// which bin keeps its tokens in the file store under a temporary folder.
// bin "" means the test binary's own copy named idcsctl, which
// testscript.Main put on PATH (see TestMain). extra routes, such as large
// resources for fetch, are served beside the emulator's on the same host.
func newCLIEnv(tb testing.TB, bin string, extra map[string]http.Handler) *cliEnv {
	tb.Helper()
	if bin == "" {
		p, err := exec.LookPath("idcsctl")
		if err != nil {
			tb.Fatalf("find the idcsctl copy of the test binary on PATH: %v", err)
		}
		bin = p
	}
	emu, err := emulator.New(emulator.Options{Signer: testKey()})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", emu)
	for pattern, h := range extra {
		mux.Handle(pattern, h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	port := testnet.Port(tb)
	if err := emu.AddRedirectURI(emulator.DemoPublicClientID, fmt.Sprintf("http://127.0.0.1:%d/callback", port)); err != nil {
		tb.Fatal(err)
	}
	root := tb.TempDir()
	dir := filepath.Join(root, "idcsctl")
	env := isolatedEnv(root, dir)
	return &cliEnv{tb: tb, bin: bin, dir: dir, env: env, emu: emu, url: "http://" + ln.Addr().String(), port: port}
}

// command prepares one idcsctl process; extraEnv entries override the
// environment's.
func (c *cliEnv) command(ctx context.Context, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = append(append([]string(nil), c.env...), extraEnv...)
	return cmd
}

// run runs idcsctl to the end and returns its stdout; a non-zero exit
// fails the test with its stderr.
func (c *cliEnv) run(args ...string) string {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := c.command(ctx, nil, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		c.tb.Fatalf("idcsctl %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// login signs the default profile in through the stand-in browser.
func (c *cliEnv) login() {
	c.tb.Helper()
	c.run("login", "--domain", c.url, "--client-id", emulator.DemoPublicClientID, "--port", fmt.Sprint(c.port), "--timeout", "30s")
}

// tokenFile is where the file store keeps the default profile's tokens.
func (c *cliEnv) tokenFile() string { return filepath.Join(c.dir, "tokens", "default.json") }

// stored reads the default profile's tokens as the file store keeps them.
func (c *cliEnv) stored() (access, refresh string) {
	c.tb.Helper()
	b, err := os.ReadFile(c.tokenFile())
	if err != nil {
		c.tb.Fatal(err)
	}
	var rec struct {
		Token struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"token"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		c.tb.Fatalf("decode the token file: %v", err)
	}
	return rec.Token.AccessToken, rec.Token.RefreshToken
}

// accepted reports whether the emulator's userinfo endpoint accepts an
// access token.
func (c *cliEnv) accepted(accessToken string) bool {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/oauth2/v1/userinfo", nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// expireAfterLogin signs in with access tokens that live 30 seconds, less
// than the 60-second refresh margin, so the stored token counts as expiring;
// tokens issued afterwards live an hour again, so one refresh is enough.
func (c *cliEnv) expireAfterLogin() {
	c.tb.Helper()
	c.emu.SetAccessTokenTTL(30 * time.Second)
	c.login()
	c.emu.SetAccessTokenTTL(time.Hour)
}

// result is what one idcsctl process did.
type result struct {
	stdout, stderr string
	err            error
}

// runConcurrently starts n idcsctl processes with the same arguments as
// close together as it can and waits for all of them.
func (c *cliEnv) runConcurrently(n int, args ...string) []result {
	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmds := make([]*exec.Cmd, n)
	outs := make([]struct{ stdout, stderr bytes.Buffer }, n)
	for i := range cmds {
		cmds[i] = c.command(ctx, nil, args...)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i].stdout, &outs[i].stderr
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			c.tb.Fatal(err)
		}
		wg.Go(func() {
			err := cmd.Wait()
			results[i] = result{stdout: outs[i].stdout.String(), stderr: outs[i].stderr.String(), err: err}
		})
	}
	wg.Wait()
	return results
}

func TestConcurrentTokensRefreshOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	c := newCLIEnv(t, "", nil)
	c.emu.SetRotateRefreshTokens(true)
	c.expireAfterLogin()
	oldAccess, oldRefresh := c.stored()

	const n = 20
	results := c.runConcurrently(n, "token")

	printed := map[string]int{}
	for i, r := range results {
		if r.err != nil {
			t.Errorf("process %d: %v\nstderr:\n%s", i, r.err, r.stderr)
			continue
		}
		printed[strings.TrimSpace(r.stdout)]++
	}
	if got := c.emu.Counts()["token:refresh_token"]; got != 1 {
		t.Errorf("the emulator got %d refresh requests from %d concurrent processes, want exactly 1", got, n)
	}
	newAccess, newRefresh := c.stored()
	if len(printed) != 1 || printed[newAccess] != n {
		t.Errorf("the %d processes printed %d different tokens (%d of them the stored one), want all %d the newest", n, len(printed), printed[newAccess], n)
	}
	if newAccess == oldAccess {
		t.Error("the stored access token was not refreshed")
	}
	if !c.accepted(newAccess) {
		t.Error("the emulator's userinfo endpoint rejects the printed token")
	}
	if newRefresh == oldRefresh {
		t.Fatal("with rotation on, the stored refresh token did not change")
	}
	// The emulator accepts only the newest refresh token of a rotating
	// chain, so a refresh with the stored one succeeding proves it is the
	// newest. A margin above the token's hour of life forces the refresh.
	c.run("token", "--margin", "2h")
	if got := c.emu.Counts()["token:refresh_token"]; got != 2 {
		t.Errorf("refresh requests = %d after the forced refresh, want 2", got)
	}
}

func TestTokenKilledMidRefreshLeavesAWorkingSession(t *testing.T) {
	c := newCLIEnv(t, "", nil)
	c.emu.SetRotateRefreshTokens(true)
	c.expireAfterLogin()
	before := c.emu.Counts()["/oauth2/v1/token"]
	c.emu.InjectFailure("/oauth2/v1/token", emulator.Failure{Hang: true})

	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := c.command(ctx, nil, "token")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Wait until the refresh request is at the emulator, and the process
	// holds the profile lock, waiting for the answer.
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for c.emu.Counts()["/oauth2/v1/token"] == before {
		select {
		case err := <-exited:
			t.Fatalf("token exited (%v) before its refresh request arrived\nstderr:\n%s", err, stderr.String())
		case <-deadline.C:
			t.Fatal("the refresh request never reached the emulator")
		case <-tick.C:
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := <-exited; !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("token was not killed by SIGKILL: %v", err)
	}

	// The kernel released the flock with the process, and the stored
	// tokens are the last good ones: the next call refreshes and succeeds.
	got := strings.TrimSpace(c.run("token"))
	access, _ := c.stored()
	if got != access || !c.accepted(got) {
		t.Error("after the kill, token printed a token that is not the stored one or that the emulator rejects")
	}
	if n := c.emu.Counts()["token:refresh_token"]; n != 1 {
		t.Errorf("refresh grants = %d, want 1 (the killed request never reached the grant)", n)
	}
}

// TestTokenNeverFailsBesideARefreshingProcess runs `idcsctl token` in two
// loops beside a third loop that forces a refresh on every call (`token
// --margin 2h`), as scripts calling token in parallel with another
// process's refresh do. Every call must print one of the tokens that were
// ever stored, whole. By default it runs a fixed number of calls; with
// IDCSCTL_SOAK=DURATION it runs for that long and logs the counts (the
// figures of docs/testing.md), and IDCSCTL_SOAK_BIN names another idcsctl
// binary to measure, such as an older build.
func TestTokenNeverFailsBesideARefreshingProcess(t *testing.T) {
	soak, _ := time.ParseDuration(os.Getenv("IDCSCTL_SOAK"))
	c := newCLIEnv(t, os.Getenv("IDCSCTL_SOAK_BIN"), nil)
	c.login()

	ctx, cancel := context.WithTimeout(context.Background(), max(2*soak, 2*time.Minute))
	defer cancel()
	var stop atomic.Bool
	if soak > 0 {
		time.AfterFunc(soak, func() { stop.Store(true) })
	}
	const readers, readsEach = 2, 40
	type counts struct{ ok, failed int }
	var refreshes counts
	var failures []string
	var mu sync.Mutex
	failed := func(what string, err error, stderr string) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 5 {
			failures = append(failures, fmt.Sprintf("%s: %v: %s", what, err, strings.TrimSpace(stderr)))
		}
	}
	runOnce := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		cmd := c.command(ctx, nil, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return strings.TrimSpace(stdout.String()), stderr.String(), err
	}
	var readersDone atomic.Int32
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() && readersDone.Load() < readers && ctx.Err() == nil {
			_, stderr, err := runOnce("token", "--margin", "2h")
			mu.Lock()
			if err != nil {
				refreshes.failed++
			} else {
				refreshes.ok++
			}
			mu.Unlock()
			if err != nil {
				failed("refreshing token", err, stderr)
			}
		}
	})
	reads := make([]counts, readers)
	for r := range readers {
		wg.Go(func() {
			defer readersDone.Add(1)
			for i := 0; ctx.Err() == nil; i++ {
				if soak > 0 && stop.Load() || soak == 0 && i >= readsEach {
					return
				}
				out, stderr, err := runOnce("token")
				if err == nil && (out == "" || strings.ContainsAny(out, " \n")) {
					err = fmt.Errorf("printed %q, not one token", out)
				}
				if err != nil {
					reads[r].failed++
					failed(fmt.Sprintf("reader %d, call %d", r+1, i+1), err, stderr)
					continue
				}
				reads[r].ok++
			}
		})
	}
	wg.Wait()
	var total counts
	for _, r := range reads {
		total.ok += r.ok
		total.failed += r.failed
	}
	t.Logf("token: %d ok, %d failed; beside %d refreshes (%d failed); refresh grants at the emulator: %d",
		total.ok, total.failed, refreshes.ok, refreshes.failed, c.emu.Counts()["token:refresh_token"])
	if ctx.Err() != nil {
		t.Fatalf("the loops did not finish in time: %v", ctx.Err())
	}
	if total.failed > 0 || refreshes.failed > 0 {
		t.Fatalf("%d token calls and %d refreshes failed, want none; the first:\n%s", total.failed, refreshes.failed, strings.Join(failures, "\n"))
	}
	if refreshes.ok == 0 {
		t.Fatal("no refresh ran beside the readers: the test proved nothing")
	}
}
