package oci

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
	"runtime"
	"strings"
)

// SignerProgram is the program that signs OCI requests with the OCI Go
// SDK's own signer (cmd/idcsctl-ocisign). It is a program of its own so
// that idcsctl does not link the SDK: every start of idcsctl, the cached
// `idcsctl token` included, would pay for the SDK's package set-up
// (docs/performance.md has the figures).
const SignerProgram = "idcsctl-ocisign"

// SignInput is what idcsctl hands the signer program on stdin: the request
// to sign. The session is named by the program's arguments, never sent.
type SignInput struct {
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Host   string      `json:"host,omitempty"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body,omitempty"`
}

// SignOutput is the signer program's answer: the headers to set (Date,
// Authorization, and for a body X-Content-Sha256, Content-Length,
// Content-Type), or, for --check, the session's realm domain.
type SignOutput struct {
	Header      http.Header `json:"header,omitempty"`
	RealmDomain string      `json:"realm_domain,omitempty"`
}

// ExecSigner signs requests by running the signer program.
type ExecSigner struct {
	Program, ConfigPath, Session string
}

// FindSigner locates the signer program beside the running program, else
// on PATH.
func FindSigner() (string, error) {
	if p, ok := FindProgram(SignerProgram); ok {
		return p, nil
	}
	where := "beside " + filepath.Base(os.Args[0])
	if self, err := os.Executable(); err == nil {
		where += " (" + filepath.Dir(self) + ")"
	}
	return "", fmt.Errorf("%w: OCI requests are signed with the OCI Go SDK through %s, which is neither %s nor on PATH: %s", ErrNoSigner, SignerProgram, where, SignerFix)
}

// FindProgram locates program name (idcsctl's own programs ship
// together) beside the running program, else on PATH.
func FindProgram(name string) (string, bool) {
	file := name
	if runtime.GOOS == "windows" {
		file += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), file)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, true
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	return "", false
}

// ErrNoSigner means the signer program is neither beside idcsctl nor on
// PATH.
var ErrNoSigner = errors.New("the OCI request signer is missing")

// SignerFix is how to get the signer program back: every package and
// archive ships it beside idcsctl, and a go install needs its own.
const SignerFix = "reinstall the idcsctl package (.deb, .rpm, .apk, Homebrew, Scoop) or unpack the whole release archive, which ship it beside idcsctl; with go install, also run `go install github.com/idcsctl/idcsctl/cmd/" + SignerProgram + "@latest`"

func (s *ExecSigner) run(ctx context.Context, in any, args ...string) (*SignOutput, error) {
	var stdin bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&stdin).Encode(in); err != nil {
			return nil, fmt.Errorf("encode the request to sign: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, s.Program, append([]string{"--config", s.ConfigPath, "--profile", s.Session}, args...)...)
	cmd.Stdin = &stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("%s: %s", SignerProgram, msg)
	}
	var out SignOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("%s answered something that is not its JSON: %w", SignerProgram, err)
	}
	return &out, nil
}

// Check reads the session through the SDK's configuration provider and
// returns the second-level domain of its region's realm (oraclecloud.com
// for oc1), under which OCI's API hosts live.
func (s *ExecSigner) Check(ctx context.Context) (string, error) {
	out, err := s.run(ctx, nil, "--check")
	if err != nil {
		return "", err
	}
	if out.RealmDomain == "" || strings.ContainsAny(out.RealmDomain, "/*: ") {
		return "", fmt.Errorf("%s named no usable realm domain", SignerProgram)
	}
	return out.RealmDomain, nil
}

// Sign signs req in place: it sends the method, URL, headers and body to
// the signer program and sets the headers it answers.
func (s *ExecSigner) Sign(req *http.Request) error {
	in := SignInput{Method: req.Method, URL: req.URL.String(), Host: req.Host, Header: req.Header}
	if req.Body != nil && req.Body != http.NoBody {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return fmt.Errorf("read the body to sign: %w", err)
		}
		in.Body = body
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	out, err := s.run(req.Context(), in)
	if err != nil {
		return err
	}
	if out.Header.Get("Authorization") == "" {
		return errors.New(SignerProgram + " answered no signature")
	}
	for k, vs := range out.Header {
		req.Header[k] = vs
	}
	return nil
}
