package main

import (
	"encoding/json"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// findCheck returns the named check of a report, or a zero check.
func findCheck(r doctorReport, name string) check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return check{}
}

// closedURL is a loopback URL where nothing listens, and nothing will
// while the test runs: a domain that is down.
func closedURL(t *testing.T) string {
	t.Helper()
	return "http://127.0.0.1:" + strconv.Itoa(testnet.Port(t))
}

func TestDoctor(t *testing.T) {
	srv := loginEmulator(t, emulator.Options{})
	healthy := map[string]string{"IDCSCTL_DOMAIN": srv.URL, "IDCSCTL_CLIENT_ID": emulator.DemoPublicClientID, "BROWSER": "firefox"}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	type want struct{ status, detail, fix string }
	tests := []struct {
		name     string
		env      map[string]string
		keyring  *fakeKeyring
		wantCode int
		checks   map[string]want
	}{
		{
			name: "healthy emulator", env: healthy, keyring: &fakeKeyring{},
			checks: map[string]want{
				"profile":   {status: checkOK, detail: `"default": ` + srv.URL + ", client idcsctl-demo (not saved yet)"},
				"discovery": {status: checkOK, detail: "reachable; issuer https://identity.oraclecloud.com/ (an IDCS identity domain); offers device code sign-in"},
				"scopes":    {status: checkOK, detail: "openid profile email urn:opc:idm:t.user.me"},
				"keyring":   {status: checkOK, detail: "the OS keyring answers"},
				"tokens":    {status: checkWarn, detail: `profile "default" is not signed in`, fix: "run `idcsctl login`"},
				"proxy":     {status: checkOK, detail: "no proxy variables"},
			},
		},
		{
			name: "down emulator", env: with(healthy, "IDCSCTL_DOMAIN", closedURL(t)), keyring: &fakeKeyring{}, wantCode: exitError,
			checks: map[string]want{
				"discovery": {status: checkFail, detail: "was refused (nothing listens there)", fix: "check the domain URL, the VPN and the proxy"},
			},
		},
		{
			name: "no domain", env: map[string]string{}, keyring: &fakeKeyring{}, wantCode: exitError,
			checks: map[string]want{
				"profile": {status: checkFail, detail: "has no domain", fix: "pass --domain"},
			},
		},
		{
			name: "locked keyring the profile needs", env: with(healthy, "IDCSCTL_TOKEN_STORE", "keyring"),
			keyring: &fakeKeyring{getErr: errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'")}, wantCode: exitError,
			checks: map[string]want{
				"keyring": {status: checkFail, detail: "unavailable: the keyring's default collection is locked or missing", fix: "unlock the login keyring"},
			},
		},
		{
			name: "missing keyring with auto only warns", env: with(healthy, "IDCSCTL_TOKEN_STORE", "auto"),
			keyring: &fakeKeyring{getErr: errors.New("dbus: couldn't determine address of session bus")},
			checks: map[string]want{
				"keyring": {status: checkWarn, detail: "unavailable: no D-Bus session bus; tokens go to a private file instead", fix: "dbus-run-session"},
			},
		},
		{
			name: "no display", env: with(healthy, "BROWSER", ""), keyring: &fakeKeyring{},
			checks: map[string]want{
				"browser": {status: checkWarn, detail: "none will open: there is no display", fix: "login --paste or --device"},
			},
		},
		{
			name: "proxy password is hidden", env: with(healthy, "HTTPS_PROXY", "http://u:hunter2@proxy.example:3128", "NO_PROXY", "localhost"), keyring: &fakeKeyring{},
			checks: map[string]want{
				"proxy": {status: checkOK, detail: "HTTPS_PROXY=http://u:xxxxx@proxy.example:3128 NO_PROXY=localhost"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, stdout, stderr, _ := inProcess(t, tt.env, tt.keyring)
			if tt.name == "no display" && (runtime.GOOS != "linux" || isWSL(t)) {
				t.Skip("only Linux without WSL decides by DISPLAY")
			}
			// A port of its own: the default ports may be held by another
			// program, which the redirect check would rightly report.
			code := run(t.Context(), []string{"doctor", "-o", "json", "--port", strconv.Itoa(testnet.Port(t))}, d)
			if code != tt.wantCode {
				t.Fatalf("doctor exited %d, want %d; stdout %s stderr %s", code, tt.wantCode, stdout, stderr)
			}
			if stderr.Len() != 0 {
				t.Errorf("doctor wrote to stderr: %q", stderr)
			}
			var rep doctorReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("-o json is not JSON: %v\n%s", err, stdout)
			}
			if rep.OK != (tt.wantCode == 0) {
				t.Errorf("ok = %v with exit code %d", rep.OK, code)
			}
			for name, w := range tt.checks {
				c := findCheck(rep, name)
				if c.Status != w.status || !strings.Contains(c.Detail, w.detail) || !strings.Contains(c.Fix, w.fix) {
					t.Errorf("check %s = %+v, want %s with %q and fix %q", name, c, w.status, w.detail, w.fix)
				}
			}
			if strings.Contains(stdout.String(), "hunter2") {
				t.Error("a proxy password reached the output")
			}
		})
	}
}

// isWSL reports whether this test runs on WSL, where a browser opens
// without a display.
func isWSL(t *testing.T) bool {
	t.Helper()
	return (&app{deps: &deps{Getenv: func(string) string { return "" }}}).opener("").Env.IsWSL
}

func TestDoctorTextShowsEveryCheckWithItsFix(t *testing.T) {
	r := &doctorReport{RedirectURIs: []string{"http://127.0.0.1:8000/callback"}}
	r.add("discovery", checkFail, "cannot read it", "check the URL")
	r.add("tokens", checkWarn, "not signed in", "run `idcsctl login`")
	r.add("ca", checkOK, "system CAs", "")
	var b strings.Builder
	a := &app{deps: &deps{Getenv: func(string) string { return "" }}}
	if err := a.writeDoctorText(&b, r, 1, 1); err != nil {
		t.Fatal(err)
	}
	want := "STATUS  CHECK      DETAIL\n" +
		"FAIL    discovery  cannot read it\n" +
		"                   fix: check the URL\n" +
		"WARN    tokens     not signed in\n" +
		"                   fix: run `idcsctl login`\n" +
		"OK      ca         system CAs\n" +
		"\nRedirect URIs to register in the IDCS application:\n  http://127.0.0.1:8000/callback\n" +
		"\n1 check failed, 1 warning.\n"
	if b.String() != want {
		t.Errorf("text report:\n%s\nwant:\n%s", b.String(), want)
	}
	for n, w := range map[int]string{0: "0 checks", 1: "1 check", 2: "2 checks"} {
		if got := plural(n, "check"); got != w {
			t.Errorf("plural(%d) = %q, want %q", n, got, w)
		}
	}
}
