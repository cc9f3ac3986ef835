package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
)

// closedPort is a loopback port nothing listens on: connections to it are
// refused at once.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// get sends one GET through c and returns its error, which the test wants.
func get(t *testing.T, c *http.Client, target string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s answered %s, want an error", target, resp.Status)
	}
	return err
}

// TestFailuresAreClassifiedAndWordedInOnePlace: every kind of failure a
// person meets gets its documented exit code and one line that says what
// happened and what to do, never Go's dial text alone.
func TestFailuresAreClassifiedAndWordedInOnePlace(t *testing.T) {
	port := closedPort(t)
	direct := &http.Client{Transport: &http.Transport{Proxy: nil}}
	refused := get(t, direct, fmt.Sprintf("http://127.0.0.1:%d/.well-known/openid-configuration?secret=x", port))

	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	untrusted := get(t, direct, tlsSrv.URL+"/oauth2/v1/token")
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	notTLS := get(t, direct, "https://"+strings.TrimPrefix(plain.URL, "http://")+"/oauth2/v1/authorize")

	proxied := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)})}}
	proxyDown := get(t, proxied, "https://idcs-1.identity.oraclecloud.com/oauth2/v1/token")

	noHost := &url.Error{Op: "Get", URL: "https://idcs-typo.identity.oraclecloud.com/.well-known/openid-configuration",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "idcs-typo.identity.oraclecloud.com", IsNotFound: true}}}
	timeout := &url.Error{Op: "Post", URL: "https://d/oauth2/v1/token", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}}

	tests := []struct {
		name string
		err  error
		code int
		want []string // in the line, in this order
		not  []string
	}{
		{"success", nil, exitOK, nil, nil},
		{"refused", fmt.Errorf("read the discovery document of d: %w", refused), exitError,
			[]string{"cannot reach http://127.0.0.1:" + strconv.Itoa(port) + "/.well-known/openid-configuration: ", "was refused", "VPN", "`idcsctl doctor`"},
			[]string{"dial tcp", "secret=x", "read the discovery document"}},
		{"DNS no such host", noHost, exitError,
			[]string{"cannot reach https://idcs-typo.identity.oraclecloud.com/.well-known/openid-configuration", "DNS knows no host idcs-typo.identity.oraclecloud.com", "typo", "VPN"},
			[]string{"lookup", "dial tcp"}},
		{"TLS unknown authority", untrusted, exitError,
			[]string{"cannot reach " + tlsSrv.URL + "/oauth2/v1/token", "not trust", "--ca-file FILE"}, []string{"x509:"}},
		{"not TLS", notTLS, exitError, []string{"does not answer TLS", "scheme"}, nil},
		{"proxy down", proxyDown, exitError,
			[]string{"cannot reach https://idcs-1.identity.oraclecloud.com/oauth2/v1/token", "the proxy 127.0.0.1:" + strconv.Itoa(port) + " does not answer", "HTTPS_PROXY"},
			[]string{"proxyconnect"}},
		{"dial timeout", timeout, exitError, []string{"cannot reach https://d/oauth2/v1/token: no answer in time", "timeout setting"}, nil},
		{"provider deadline", fmt.Errorf("verify: %w", &auth.DeadlineError{URL: "https://d/admin/v1/SigningCert/jwk", Timeout: time.Second}), exitError,
			[]string{"cannot reach https://d/admin/v1/SigningCert/jwk: no complete answer within 1s", "raise the profile's timeout"}, nil},
		{"a deadline during a sign-in is the network's, not the person's", fmt.Errorf("%w: %w", auth.ErrTimeout, &auth.DeadlineError{URL: "https://d/oauth2/v1/token", Timeout: time.Second}), exitError,
			[]string{"https://d/oauth2/v1/token"}, nil},
		{"the token endpoint silent after the browser came back", fmt.Errorf("%w: %w", auth.ErrNoTokenAnswer, auth.ErrTimeout), exitError, []string{"the browser came back"}, nil},
		{"a command's words first", failWith(refused, "the tokens are forgotten, but the domain's browser session lives on", ""), exitError,
			[]string{"the tokens are forgotten, but the domain's browser session lives on: cannot reach http://127.0.0.1:", "was refused", "`idcsctl doctor`"}, nil},
		{"a command's own fix", failWith(errors.New("no OCI session"), "", "run `idcsctl oci session`"), exitError,
			[]string{"no OCI session; run `idcsctl oci session`"}, nil},
		{"OAuth error document", &auth.ProviderError{Code: "invalid_client", Description: "Client authentication failed", Endpoint: "token", Status: 401}, exitError,
			[]string{"the provider refused the request at the token endpoint: invalid_client: Client authentication failed", "check the client id and secret"}, nil},
		{"usage", usagef("bad flag"), exitUsage, []string{"bad flag"}, nil},
		{"config file", fmt.Errorf("load: %w", &config.Error{Path: "c.toml", Line: 3, Problem: "x"}), exitUsage, []string{"c.toml"}, nil},
		{"insecure domain", fmt.Errorf("domain: %w", auth.ErrInsecureURL), exitUsage, []string{"https://"}, nil},
		{"cancelled", fmt.Errorf("sign-in: %w", auth.ErrCancelled), exitCancelled, []string{"cancelled"}, nil},
		{"Ctrl-C during a request is not the network", &url.Error{Op: "Get", URL: "https://d/x", Err: context.Canceled}, exitCancelled, nil, []string{"cannot reach"}},
		{"timed out", fmt.Errorf("sign-in: %w", auth.ErrTimeout), exitCancelled, []string{"timed out"}, nil},
		{"context cancelled", context.Canceled, exitCancelled, nil, nil},
		{"sign-out interrupted", signOutInterrupted("p", false, true, ""), exitCancelled, []string{"sign-out interrupted"}, nil},
		{"login required", &session.LoginRequiredError{Profile: "work", Reason: "no token"}, exitLoginRequired, []string{"no token: run `idcsctl login -p work`"}, nil},
		{"http status", fmt.Errorf("GET x: %w", &statusError{status: 404}), exitHTTPStatus, []string{"HTTP 404"}, nil},
		{"any other error", errors.New("the keyring is locked"), exitError, []string{"the keyring is locked"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if got := report(&buf, tt.err); got != tt.code {
				t.Errorf("exit code %d, want %d (%v)", got, tt.code, tt.err)
			}
			line := buf.String()
			if tt.err == nil {
				if line != "" {
					t.Errorf("success wrote %q", line)
				}
				return
			}
			if !strings.HasPrefix(line, "idcsctl: ") || strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Errorf("not one idcsctl: line: %q", line)
			}
			rest := line
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("%q lacks %q (or has it too early)", line, w)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(line, n) {
					t.Errorf("%q has %q", line, n)
				}
			}
		})
	}
}

// TestJoinedErrorsGetALineEach: logout of several profiles joins their
// errors; each gets its own line, worded alone.
func TestJoinedErrorsGetALineEach(t *testing.T) {
	var buf bytes.Buffer
	err := errors.Join(errors.New("forget tokens of a: locked"), &auth.DeadlineError{URL: "https://d/oauth2/v1/revoke", Timeout: time.Second})
	if code := report(&buf, err); code != exitError {
		t.Errorf("exit code %d", code)
	}
	want := "idcsctl: forget tokens of a: locked\nidcsctl: cannot reach https://d/oauth2/v1/revoke: no complete answer within 1s; " + fixSlow + "; `idcsctl doctor` checks the whole setup\n"
	if buf.String() != want {
		t.Errorf("report wrote\n%s\nwant\n%s", buf.String(), want)
	}
	buf.Reset()
	report(&buf, fmt.Errorf("%w: 2 checks failed", errSilent))
	if buf.Len() != 0 {
		t.Errorf("a silent error wrote %q", buf.String())
	}
}

func TestUnknownCommandIsOneUsageLine(t *testing.T) {
	d, stdout, stderr, _ := inProcess(t, nil, nil)
	if code := run(t.Context(), []string{"logn"}, d); code != exitUsage {
		t.Fatalf("exit code %d", code)
	}
	want := "idcsctl: unknown command \"logn\" for \"idcsctl\" (did you mean \"login\"?); `idcsctl --help` lists the commands\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

// TestExitCodesDocMatches holds docs/exit-codes.md's table to the taxonomy
// of failure.go: the same codes, meanings and remedies, in order.
func TestExitCodesDocMatches(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "exit-codes.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| code") || strings.HasPrefix(line, "| ---") {
			continue
		}
		cells := strings.Split(strings.TrimSpace(line), "|")
		cells = cells[1 : len(cells)-1]
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	if len(rows) != len(exitCodes) {
		t.Fatalf("docs/exit-codes.md has %d rows, failure.go's exitCodes %d", len(rows), len(exitCodes))
	}
	for i, c := range exitCodes {
		r := rows[i]
		if len(r) != 4 {
			t.Fatalf("row %d has %d cells, want 4 (code, meaning, typical causes, what to do): %q", i, len(r), r)
		}
		if r[0] != strconv.Itoa(c.code) || r[1] != c.meaning || r[3] != c.remedy {
			t.Errorf("docs/exit-codes.md row %d = %q | %q | ... | %q; failure.go says %d | %q | ... | %q", i, r[0], r[1], r[3], c.code, c.meaning, c.remedy)
		}
	}
}

func TestScopeFixNamesTheScopeAndTheLogin(t *testing.T) {
	p := &config.Resolved{Profile: config.Profile{Name: "work", Scopes: []string{"openid", "profile"}}}
	tests := []struct {
		name, scope, path, want string
	}{
		{"the challenge names it", "orders.read", "/orders", "lacks the scope orders.read this resource needs: sign in asking for it, `idcsctl login -p work --scopes openid,profile,orders.read`"},
		{"IDCS's Me", "", "/admin/v1/Me", "`idcsctl login -p work --scopes openid,profile,urn:opc:idm:t.user.me`"},
		{"IDCS's other SCIM paths", "", "/admin/v1/Users", "--scopes openid,profile,urn:opc:idm:__myscopes__` (the application also needs an administrator role"},
		{"a scope the profile has already", "openid", "/x", "`idcsctl login -p work --scopes openid,profile`"},
		{"unknown", "", "/orders", "lacks a scope this resource needs (its documentation names it): sign in asking for it, `idcsctl login -p work --scopes openid,profile,SCOPE`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scopeFix(p, tt.scope, tt.path); !strings.Contains(got, tt.want) {
				t.Errorf("scopeFix = %q, want it to hold %q", got, tt.want)
			}
		})
	}
}
