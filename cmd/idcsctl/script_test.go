package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
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

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/ocir/credhelper"
	"github.com/idcsctl/idcsctl/internal/secretservice"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// TestMain turns the test binary into the idcsctl binary and the test
// browser when the scripts run them, so the scripts drive the real
// program: its flag parsing, exit codes, stdout and stderr.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"idcsctl":                   main,
		"testbrowser":               testBrowserMain,
		"chromium-open":             chromiumOpenMain,
		"rssprobe":                  rssProbeMain,
		"idcsctl-ocisign":           ociSignMain,
		"sigprobe":                  sigprobeMain,
		"ocisdk-loop":               ociSDKLoopMain,
		"token-watch":               tokenWatchMain,
		"docker-credential-idcsctl": func() { os.Exit(credhelper.Run()) },
	})
}

// testKey is shared by every emulator of the test run: RSA key generation
// is the slowest part of starting one.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// TestScripts runs the black-box scripts of testdata/script against a
// fresh IDCS emulator each.
func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t, "testdata/script", nil))
}

// TestScriptsKeyring runs the scripts that need the real Secret Service.
func TestScriptsKeyring(t *testing.T) {
	env := secretservice.Start(t)
	testscript.Run(t, scriptParams(t, "testdata/script-keyring", env))
}

func scriptParams(t *testing.T, dir string, extraEnv []string) testscript.Params {
	// REPO lets a script check what idcsctl names in the repository, such
	// as the docs pages its messages point at.
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		// [releasefiles]: this test binary has the release-only commands
		// (go test -tags releasefiles, as test.sh runs release_files.txtar).
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "releasefiles":
				return len(releaseCommands()) > 0, nil
			case "otheruser":
				return otherUserCondition()
			}
			// [root]: files can be given to other users (CI runs as root).
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(e *testscript.Env) error {
			srv, err := emulator.Start(emulator.Options{Signer: testKey()}, "")
			if err != nil {
				return err
			}
			e.Defer(func() { srv.Close() })
			e.Values["emulator"] = srv
			e.Values["ocir"] = &ocirRegistry{}
			e.Defer(e.Values["ocir"].(*ocirRegistry).close)
			port, err := scriptPort(e)
			if err != nil {
				return err
			}
			port2, err := scriptPort(e)
			if err != nil {
				return err
			}
			for _, p := range []int{port, port2} {
				for _, c := range []string{emulator.DemoPublicClientID, emulator.DemoConfidentialClientID} {
					if err := srv.AddRedirectURI(c, fmt.Sprintf("http://127.0.0.1:%d/callback", p)); err != nil {
						return err
					}
				}
			}
			// Sign-outs may come back to PORT only, so a profile on PORT2
			// meets a domain that refuses its post-logout redirect URI.
			if err := srv.AddPostLogoutRedirectURI(emulator.DemoPublicClientID, fmt.Sprintf("http://127.0.0.1:%d%s", port, auth.PostLogoutPath)); err != nil {
				return err
			}
			work := e.WorkDir
			e.Vars = append(e.Vars,
				"HOME="+filepath.Join(work, "home"),
				"XDG_CONFIG_HOME="+filepath.Join(work, "home", ".config"),
				"XDG_CACHE_HOME="+filepath.Join(work, "home", ".cache"),
				"IDCSCTL_CONFIG="+filepath.Join(work, "idcsctl", "config.toml"),
				"EMULATOR="+srv.URL,
				"REPO="+repo,
				"CLIENT_ID="+emulator.DemoPublicClientID,
				"CONF_CLIENT_ID="+emulator.DemoConfidentialClientID,
				"CONF_CLIENT_SECRET="+emulator.DemoConfidentialClientSecret,
				"OCI_TENANCY="+emulator.TenancyOCID,
				"PORT="+strconv.Itoa(port),
				"PORT2="+strconv.Itoa(port2),
				"BROWSER=testbrowser",
				"TESTBROWSER_USER="+emulator.DemoUser.UserName,
				"TESTBROWSER_PASSWORD="+emulator.DemoUserPassword,
				// No session bus unless a script asks for the real keyring:
				// auto then falls back to the file store at once.
				"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(work, "no-bus"),
				"IDCSCTL_TOKEN_STORE=file",
			)
			// TESTBIN holds the programs of TestMain alone, for a PATH
			// without the machine's tools (kubectl).
			if p, err := exec.LookPath("idcsctl"); err == nil {
				e.Vars = append(e.Vars, "TESTBIN="+filepath.Dir(p))
			}
			e.Vars = append(e.Vars, extraEnv...)
			if err := startHostile(e, srv.URL, testKey()); err != nil {
				return err
			}
			return startResourceServers(e)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"emu":           cmdEmu,
			"exits":         cmdExits,
			"blob":          cmdBlob,
			"revoke-access": cmdRevokeAccess,
			"hold-port":     cmdHoldPort,
			"hostile":       cmdHostile,
			"await-file":    cmdAwaitFile,
			"perm":          cmdPerm,
			"owner":         cmdOwner,
			"ocisdk":        cmdOCISDK,
			"ocir":          cmdOCIR,
			"fetch-as":      cmdFetchAs,
			"randlayer":     cmdRandLayer,
			"stdoutvar":     cmdStdoutVar,
			"signal":        cmdSignal,
		},
	}
}

// scriptPort reserves a loopback port for the script's callbacks until the
// script ends: no other script, test or outgoing connection is handed it
// between the script's logins (testnet.Reserve).
func scriptPort(e *testscript.Env) (int, error) {
	port, release, err := testnet.Reserve()
	if err != nil {
		return 0, err
	}
	e.Defer(release)
	return port, nil
}

// cmdEmu turns the emulator's knobs and checks its counters:
//
//	emu knobs JSON           POST the JSON to /emulator/v1/knobs
//	emu count PATH N         the emulator served PATH exactly N times
//	emu ttl DURATION         set the access token lifetime
//	emu rotate               turn on refresh-token rotation
//	emu revoke-all           revoke every refresh token
//	emu fail PATH STATUS [N] answer the next N (1) requests to PATH with STATUS
//	emu stop                 stop the emulator: the domain is down (connection refused)
func cmdEmu(ts *testscript.TestScript, neg bool, args []string) {
	srv := ts.Value("emulator").(*emulator.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: emu knobs|count|ttl|rotate|revoke-all|fail|stop ...")
	}
	switch args[0] {
	case "knobs":
		resp, err := http.Post(srv.URL+"/emulator/v1/knobs", "application/json", strings.NewReader(strings.Join(args[1:], " ")))
		ts.Check(err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			ts.Fatalf("knobs answered %d", resp.StatusCode)
		}
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: emu count PATH N|MIN..MAX")
		}
		checkCount(ts, neg, "emulator served", args[1], srv.Counts()[args[1]], args[2])
	case "await-count":
		// Waits, up to 30 seconds, until the emulator has served PATH at
		// least N times: a background process has got that far.
		if neg || len(args) != 3 {
			ts.Fatalf("usage: emu await-count PATH N")
		}
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		deadline := time.Now().Add(30 * time.Second)
		for srv.Counts()[args[1]] < n {
			if time.Now().After(deadline) {
				ts.Fatalf("the emulator served %s %d times within 30s, want %d", args[1], srv.Counts()[args[1]], n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	case "ttl":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		srv.SetAccessTokenTTL(d)
	case "rotate":
		srv.SetRotateRefreshTokens(true)
	case "revoke-all":
		srv.RevokeAll()
	case "stop":
		ts.Check(srv.Close())
	case "fail":
		status, err := strconv.Atoi(args[2])
		ts.Check(err)
		times := 1
		if len(args) > 3 {
			times, err = strconv.Atoi(args[3])
			ts.Check(err)
		}
		srv.InjectFailure(args[1], emulator.Failure{Times: times, Status: status,
			Body: `{"error":"temporarily_unavailable","error_description":"injected"}`, ContentType: "application/json"})
	default:
		ts.Fatalf("unknown emu command %q", args[0])
	}
}

// cmdPerm checks a file's permission bits:
//
//	perm 0600 PATH
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm MODE PATH")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fi.Mode().Perm(); uint64(got) != want {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

// cmdExits runs a program and checks its exit code, since exit codes are
// part of idcsctl's contract with scripts:
//
//	exits [-within DURATION] N PROGRAM ARGS...
//
// Its stdout and stderr are kept for the stdout and stderr commands.
// -within bounds how long the program may take: a bound far above what it
// needs (a failure that must not wait for a --timeout), never a benchmark.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	var within time.Duration
	if len(args) > 2 && args[0] == "-within" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		within, args = d, args[2:]
	}
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits [-within DURATION] N PROGRAM ARGS...")
	}
	start := time.Now()
	defer func() {
		if took := time.Since(start); within > 0 && took > within {
			ts.Fatalf("%s took %s, want at most %s", args[1], took.Round(time.Millisecond), within)
		}
	}()
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("run %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// testBrowserMain is the program BROWSER names in the scripts: a stand-in
// for a person at a browser. TESTBROWSER_MODE picks what the person does:
//
//	(unset)      sign in with TESTBROWSER_USER / TESTBROWSER_PASSWORD
//	wrong-state  first hit the callback with a forged state (expect 400), then sign in
//	deny         come back with error=access_denied, as the Cancel button does
//	away         do nothing: the person never signs in
//	record       write the URL to the file $TESTBROWSER_RECORD and do nothing else
//	fail         exit 1 at once, as a broken launcher does
//
// With TESTBROWSER_PROFILE naming a file, the browser keeps its cookies
// there between runs, as one browser profile does: the domain's session
// then lets the next sign-in skip the form. Without it every run is a
// private window.
func testBrowserMain() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testbrowser URL")
		os.Exit(2)
	}
	raw := os.Args[len(os.Args)-1]
	if err := testBrowser(raw, os.Getenv("TESTBROWSER_MODE")); err != nil {
		fmt.Fprintln(os.Stderr, "testbrowser:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func testBrowser(raw, mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	q := u.Query()
	redirect, state := q.Get("redirect_uri"), q.Get("state")
	client := &http.Client{Timeout: 10 * time.Second}
	callback := func(params url.Values) (int, error) {
		resp, err := client.Get(redirect + "?" + params.Encode())
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	switch mode {
	case "away":
		return nil
	case "record":
		return os.WriteFile(os.Getenv("TESTBROWSER_RECORD"), []byte(raw+"\n"), 0o600)
	case "record-then-go":
		// Records the address, then goes on as usual once the file
		// TESTBROWSER_GO exists: the script races it meanwhile.
		if err := os.WriteFile(os.Getenv("TESTBROWSER_RECORD"), []byte(raw+"\n"), 0o600); err != nil {
			return err
		}
		if err := awaitFile(ctx, os.Getenv("TESTBROWSER_GO")); err != nil {
			return err
		}
	case "fail":
		return errors.New("this browser fails on purpose")
	case "deny":
		code, err := callback(url.Values{"error": {"access_denied"}, "error_description": {"The user denied the request"}, "state": {state}})
		if err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "testbrowser: callback answered", code)
		return nil
	case "wrong-state":
		code, err := callback(url.Values{"code": {"forged"}, "state": {"forged-state"}})
		if err != nil {
			return err
		}
		if code != http.StatusBadRequest {
			return fmt.Errorf("a forged state was answered %d, want 400", code)
		}
		fmt.Fprintln(os.Stderr, "testbrowser: forged state answered 400")
	case "":
	default:
		return fmt.Errorf("unknown TESTBROWSER_MODE %q", mode)
	}
	fb := &browser.FormBrowser{Username: os.Getenv("TESTBROWSER_USER"), Password: os.Getenv("TESTBROWSER_PASSWORD")}
	profile := os.Getenv("TESTBROWSER_PROFILE")
	if profile == "" {
		return fb.Visit(ctx, raw)
	}
	jar, err := loadProfileJar(profile)
	if err != nil {
		return err
	}
	fb.Jar = jar
	err = fb.Visit(ctx, raw)
	return errors.Join(err, jar.save())
}

// profileJar is a cookie jar kept in a JSON file between runs of the test
// browser: the cookies of each origin it was given, by name and value.
type profileJar struct {
	*cookiejar.Jar
	path    string
	origins map[string]bool
}

func loadProfileJar(path string) (*profileJar, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	j := &profileJar{Jar: jar, path: path, origins: map[string]bool{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	var saved map[string][]*http.Cookie
	if err := json.Unmarshal(b, &saved); err != nil {
		return nil, fmt.Errorf("browser profile %s: %w", path, err)
	}
	for origin, cookies := range saved {
		u, err := url.Parse(origin)
		if err != nil {
			return nil, err
		}
		j.SetCookies(u, cookies)
	}
	return j, nil
}

// SetCookies keeps the cookies and remembers their origin for save.
func (j *profileJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.Jar.SetCookies(u, cookies)
	j.origins[u.Scheme+"://"+u.Host+"/"] = true
}

func (j *profileJar) save() error {
	out := map[string][]*http.Cookie{}
	for origin := range j.origins {
		u, err := url.Parse(origin)
		if err != nil {
			return err
		}
		out[origin] = j.Jar.Cookies(u)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return os.WriteFile(j.path, b, 0o600)
}

// TestScriptLoginsHaveAShortTimeout: a login that regresses into waiting for
// a sign-in that never comes must end in seconds, not after the three
// minutes of the default --timeout, so every script's login names one.
func TestScriptLoginsHaveAShortTimeout(t *testing.T) {
	scripts, err := filepath.Glob("testdata/script*/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	login := regexp.MustCompile(`^\s*(\[[^\]]*\]\s*)*(!\s*)?(exec|exits (-within \S+\s+)?\d+)\s+idcsctl\s+(.*\s)?login(\s|$)`)
	timeout := regexp.MustCompile(`\s--timeout[ =](\d+)s(\s|$)`)
	helpFlag := regexp.MustCompile(`\s(--help|-h)(\s|$)`)
	checked := 0
	for _, path := range scripts {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(ar.Comment), "\n") {
			if !login.MatchString(line) || helpFlag.MatchString(line) {
				continue // --help never starts a sign-in
			}
			checked++
			m := timeout.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s:%d: login without --timeout Ns: %s", path, i+1, line)
				continue
			}
			if n, _ := strconv.Atoi(m[1]); n > 60 {
				t.Errorf("%s:%d: --timeout %ss is not short (at most 60s): %s", path, i+1, m[1], line)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no login in the scripts: the pattern is wrong")
	}
}

// checkCount is the `count` subcommand of the emu and ocir script commands:
// that who (the emulator, the registry) counted what want times, or, after
// `!`, any other number of times.
func checkCount(ts *testscript.TestScript, neg bool, who, what string, got int, want string) {
	// WANT is N, or MIN..MAX for what a clock decides within bounds (how
	// many renewals fit in a run).
	lo, hi, isRange := strings.Cut(want, "..")
	if !isRange {
		hi = lo
	}
	min, err := strconv.Atoi(lo)
	ts.Check(err)
	max, err := strconv.Atoi(hi)
	ts.Check(err)
	if (got >= min && got <= max) == neg {
		ts.Fatalf("%s %s %d times, want %s%s", who, what, got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}
