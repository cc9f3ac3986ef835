// Package credhelper is the program docker-credential-idcsctl: the docker
// credential helper protocol (github.com/docker/docker-credential-helpers)
// in front of internal/ocir, for docker, podman, skopeo, crane and every
// other client that reads credHelpers from docker's config.json.
//
// `get` answers an OCIR host with {"ServerURL", "Username": "BEARER_TOKEN",
// "Secret": <registry token>} and any other host with the protocol's
// "credentials not found" answer, so the client falls back to its other
// credentials. It never opens a browser or asks anything: the OCI session
// is made fresh by running `idcsctl oci session`, which never does either.
package credhelper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/oci"
	"github.com/idcsctl/idcsctl/internal/ocir"
)

// Name is the program's name; docker finds it as docker-credential-<helper>
// for credHelpers entries whose value is ocir.HelperName.
const Name = ocir.HelperProgram

// EnvDebug, set to 1, makes the helper describe its steps on stderr (and
// run idcsctl with --debug): the registry's clients start it with a fixed
// argument, so a flag cannot. Secrets are never written.
const EnvDebug = "IDCSCTL_DEBUG"

// timeout bounds one action, the wait for another helper's token request
// and the sign-in refresh included.
const timeout = 2 * time.Minute

// Exit codes, as idcsctl's (docs/exit-codes.md); registry clients only
// look at zero or not.
const (
	exitOK            = 0
	exitError         = 1
	exitUsage         = 2
	exitLoginRequired = 4
)

// Env is what the program gets from its process.
type Env struct {
	Args           []string // without the program name
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
}

// Main runs the program and returns its exit code.
func Main(e Env) int {
	if len(e.Args) != 1 {
		fmt.Fprintf(e.Stdout, "Usage: %s <store|get|erase|list|version>\n", Name)
		return exitError
	}
	switch e.Args[0] {
	case "version", "--version", "-v":
		fmt.Fprintf(e.Stdout, "%s (github.com/idcsctl/idcsctl)\n", Name)
		return exitOK
	case "--help", "-h":
		fmt.Fprintf(e.Stdout, "Usage: %s <store|get|erase|list|version>\nA docker credential helper for OCI Container Registry; see docs/oci.md of idcsctl.\n", Name)
		return exitOK
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	h := &helper{ctx: ctx, env: e, debug: e.Getenv(EnvDebug) == "1"}
	err := credentials.HandleCommand(h, e.Args[0], e.Stdin, e.Stdout)
	if err == nil {
		return exitOK
	}
	// The protocol: a failed action writes its error on stdout, where the
	// client reads "credentials not found" and shows anything else.
	fmt.Fprintln(e.Stdout, err)
	if credentials.IsErrCredentialsNotFound(err) {
		return exitError
	}
	fmt.Fprintf(e.Stderr, "%s: %v\n", Name, err)
	var ue *usageError
	var le *loginRequiredError
	switch {
	case errors.As(err, &le):
		return exitLoginRequired
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitError
}

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

type loginRequiredError struct{ profile string }

func (e *loginRequiredError) Error() string {
	return fmt.Sprintf("profile %q is not signed in, or its sign-in can no longer be refreshed: run `idcsctl login -p %s`", e.profile, e.profile)
}

// helper is the credentials.Helper of one run.
type helper struct {
	ctx   context.Context
	env   Env
	debug bool
}

func (h *helper) debugf(format string, args ...any) {
	if h.debug {
		fmt.Fprintf(h.env.Stderr, "debug: "+format+"\n", args...)
	}
}

// setup reads idcsctl's config: the profile and the configured hosts.
type setup struct {
	configPath, profile string
	hosts               map[string]string
	// known: the profile is in the config file, or the environment
	// names a domain; else it was never signed in to.
	known bool
}

func (h *helper) setup() (*setup, error) {
	path := h.env.Getenv(config.EnvConfig)
	if path == "" {
		var err error
		if path, err = config.DefaultPath(); err != nil {
			return nil, err
		}
	}
	f, err := config.Load(path)
	if err != nil {
		return nil, &usageError{err}
	}
	s := &setup{configPath: path}
	want := h.env.Getenv(config.EnvProfile)
	if f.OCIR != nil {
		s.hosts = f.OCIR.Hosts
		if want == "" {
			want = f.OCIR.Profile
		}
	}
	if s.profile, err = f.ProfileName(h.env.Getenv, want); err != nil {
		return nil, &usageError{err}
	}
	_, inFile := f.Profiles[s.profile]
	s.known = inFile || h.env.Getenv(config.EnvDomain) != ""
	return s, nil
}

func (s *setup) minter(h *helper, region string) *ocir.Minter {
	m := &ocir.Minter{
		Dir:     ocir.CacheDir(filepath.Dir(s.configPath)),
		Profile: s.profile,
		Now:     h.env.Now,
		HTTP:    &http.Client{Timeout: 30 * time.Second},
		Session: func(ctx context.Context) (ocir.Signer, error) { return h.session(ctx, s, region) },
	}
	if h.debug {
		m.Notice = h.env.Stderr
		m.HTTP.Transport = &debugTransport{base: http.DefaultTransport, h: h}
	}
	return m
}

// Get answers an OCIR host with a registry token.
func (h *helper) Get(serverURL string) (string, string, error) {
	host, ok := ocir.NormalizeHost(serverURL)
	if !ok {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	s, err := h.setup()
	if err != nil {
		return "", "", err
	}
	region, ok := ocir.Region(host, s.hosts)
	if !ok {
		h.debugf("%s is not an OCIR host nor one of [ocir] hosts in %s", host, s.configPath)
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	h.debugf("%s is OCIR in %s; profile %q", host, region, s.profile)
	t, err := s.minter(h, region).Get(h.ctx, host)
	if err != nil {
		return "", "", err
	}
	h.debugf("registry token for %s valid until %s", host, t.Expires.UTC().Format(time.RFC3339))
	return ocir.Username, t.Secret, nil
}

// Add refuses: the helper mints credentials from the sign-in and keeps no
// password.
func (h *helper) Add(*credentials.Credentials) error {
	return &usageError{errors.New("this helper keeps no passwords: it makes OCIR registry tokens from your idcsctl sign-in, so there is nothing to `docker login` with; run `idcsctl login` instead")}
}

// Delete forgets the cached registry token of an OCIR host (docker
// logout); other hosts have nothing to forget.
func (h *helper) Delete(serverURL string) error {
	host, ok := ocir.NormalizeHost(serverURL)
	if !ok {
		return nil
	}
	s, err := h.setup()
	if err != nil {
		return err
	}
	region, ok := ocir.Region(host, s.hosts)
	if !ok {
		return nil
	}
	return s.minter(h, region).Forget(h.ctx, host)
}

// List names the hosts with a cached registry token, each with the user
// name BEARER_TOKEN, without the network.
func (h *helper) List() (map[string]string, error) {
	s, err := h.setup()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, host := range s.minter(h, "").Hosts() {
		out[host] = ocir.Username
	}
	return out, nil
}

// sessionJSON is the part of `idcsctl oci session -o json` the helper
// reads (docs/output.md).
type sessionJSON struct {
	Name       string `json:"name"`
	ConfigFile string `json:"config_file"`
}

// session makes the profile's OCI session fresh by running `idcsctl oci
// session`, which keeps it exactly as for the oci CLI (under the profile's
// lock, no network while fresh, never asking anything), and returns a
// signer with its key. The session's region is the profile's; the
// registry's region stands in when the profile names none (a UPST is
// good in every region of its realm).
func (h *helper) session(ctx context.Context, s *setup, region string) (ocir.Signer, error) {
	if !s.known {
		return nil, &loginRequiredError{profile: s.profile}
	}
	idcsctl, ok := oci.FindProgram("idcsctl")
	if !ok {
		return nil, fmt.Errorf("%s makes OCI sessions with idcsctl, which is not beside it nor on PATH: install idcsctl", Name)
	}
	args := []string{"--profile", s.profile, "--config", s.configPath, "oci", "session", "--output", "json", "--default-region", region}
	if h.debug {
		args = append([]string{"--debug"}, args...)
	}
	h.debugf("running idcsctl %s", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, idcsctl, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if h.debug {
		cmd.Stderr = io.MultiWriter(&stderr, h.env.Stderr)
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == exitLoginRequired {
			return nil, &loginRequiredError{profile: s.profile}
		}
		msg := lastLine(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		err = fmt.Errorf("the OCI session of profile %q: %s", s.profile, msg)
		if errors.As(err, &ee) && ee.ExitCode() == exitUsage {
			return nil, &usageError{err}
		}
		return nil, err
	}
	var sj sessionJSON
	if err := json.Unmarshal(stdout.Bytes(), &sj); err != nil || sj.Name == "" || sj.ConfigFile == "" {
		return nil, fmt.Errorf("idcsctl oci session answered something that is not its JSON")
	}
	signer, err := oci.FindSigner()
	if err != nil {
		return nil, err
	}
	es := &oci.ExecSigner{Program: signer, ConfigPath: sj.ConfigFile, Session: sj.Name}
	return es.Sign, nil
}

// lastLine is the last non-empty line of a child's stderr, printable and
// bounded: its one-line error, which already names its fix.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return auth.Printable(strings.TrimPrefix(strings.TrimSpace(lines[len(lines)-1]), "idcsctl: "), 400)
}

// debugTransport logs each request's method, URL, status and time; never
// a header or a body, which carry the signature and the token.
type debugTransport struct {
	base http.RoundTripper
	h    *helper
}

func (t *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	took := time.Since(start).Round(time.Millisecond)
	u := *req.URL
	u.RawQuery = ""
	if err != nil {
		t.h.debugf("%s %s failed after %s", req.Method, u.String(), took)
		return nil, err
	}
	t.h.debugf("%s %s -> %d %s (%s, %s)", req.Method, u.String(), resp.StatusCode, http.StatusText(resp.StatusCode),
		auth.Printable(resp.Header.Get("Content-Type"), 100), took)
	return resp, nil
}

// Run is main for cmd/docker-credential-idcsctl.
func Run() int {
	return Main(Env{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Now: time.Now})
}
