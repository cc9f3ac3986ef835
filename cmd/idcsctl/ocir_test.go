package main

import (
	"archive/tar"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/testenv"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/emulator/registry"
)

// ocirRegistry is a script's OCIR-like registry, started by `ocir start`.
type ocirRegistry struct {
	mu  sync.Mutex
	srv *registry.Server
}

func (o *ocirRegistry) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.srv != nil {
		o.srv.Close()
	}
}

// cmdOCIR runs the script's OCIR-like registry (internal/emulator/registry),
// which takes the emulator's OCI sessions:
//
//	ocir start           start it; OCIR_HOST is its host:port, the file
//	                     $WORK/ocir-host holds the host for `stdin`, and
//	                     the config gets [ocir.hosts] "HOST" = "us-ashburn-1"
//	ocir count WHAT N    it counted WHAT (token, token:issued, v2,
//	                     v2:refused) exactly N times
//	ocir ttl DURATION    lifetime of the registry tokens issued from now on
//	ocir answer MODE     the token endpoint answers huge, not-json,
//	                     no-token, or (token) a token
func cmdOCIR(ts *testscript.TestScript, neg bool, args []string) {
	o := ts.Value("ocir").(*ocirRegistry)
	if len(args) == 0 {
		ts.Fatalf("usage: ocir start|count|ttl|answer ...")
	}
	o.mu.Lock()
	srv := o.srv
	o.mu.Unlock()
	if args[0] != "start" && srv == nil {
		ts.Fatalf("ocir %s: run `ocir start` first", args[0])
	}
	switch args[0] {
	case "start":
		if srv != nil {
			ts.Fatalf("ocir start: started already")
		}
		emu := ts.Value("emulator").(*emulator.Server)
		srv, err := registry.Start(emu.Emulator)
		ts.Check(err)
		o.mu.Lock()
		o.srv = srv
		o.mu.Unlock()
		ts.Setenv("OCIR_HOST", srv.Host)
		ts.Check(os.WriteFile(ts.MkAbs("ocir-host"), []byte(srv.Host+"\n"), 0o600))
		cfg := ts.Getenv("IDCSCTL_CONFIG")
		ts.Check(os.MkdirAll(filepath.Dir(cfg), 0o700))
		f, err := os.OpenFile(cfg, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		ts.Check(err)
		_, err = fmt.Fprintf(f, "\n[ocir.hosts]\n%q = \"us-ashburn-1\"\n", srv.Host)
		ts.Check(err)
		ts.Check(f.Close())
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: ocir count WHAT N")
		}
		checkCount(ts, neg, "the registry counted", args[1], srv.Counts()[args[1]], args[2])
	case "ttl":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		srv.SetTokenTTL(d)
	case "answer":
		mode := args[1]
		if mode == "token" {
			mode = registry.AnswerToken
		}
		ts.Check(srv.SetTokenAnswer(mode))
	default:
		ts.Fatalf("unknown ocir command %q", args[0])
	}
}

// TestScriptsOCIR runs testdata/script-ocir: real registry clients, crane
// (go install github.com/google/go-containerregistry/cmd/crane@v0.22.1)
// and skopeo (apt-get install skopeo), push and pull through the OCIR-like
// registry with the credentials docker-credential-idcsctl answers, found
// through their own credHelpers lookup in ~/.docker/config.json.
func TestScriptsOCIR(t *testing.T) {
	var missing []string
	if _, err := exec.LookPath("crane"); err != nil {
		missing = append(missing, "crane (go install github.com/google/go-containerregistry/cmd/crane@v0.22.1)")
	}
	if _, err := exec.LookPath("skopeo"); err != nil {
		missing = append(missing, "skopeo (apt-get install skopeo)")
	}
	if len(missing) > 0 {
		testenv.SkipOrFail(t, errors.New("not on PATH: "+strings.Join(missing, ", ")))
	}
	testscript.Run(t, scriptParams(t, "testdata/script-ocir", nil))
}

// cmdRandLayer writes a layer tarball holding one file of random text, and
// sets LAYER_TEXT to that text:
//
//	randlayer FILE
func cmdRandLayer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: randlayer FILE")
	}
	b := make([]byte, 32)
	_, err := rand.Read(b)
	ts.Check(err)
	text := hex.EncodeToString(b)
	f, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	tw := tar.NewWriter(f)
	ts.Check(tw.WriteHeader(&tar.Header{Name: "random.txt", Mode: 0o644, Size: int64(len(text) + 1), ModTime: time.Unix(0, 0)}))
	_, err = tw.Write([]byte(text + "\n"))
	ts.Check(err)
	ts.Check(tw.Close())
	ts.Check(f.Close())
	ts.Setenv("LAYER_TEXT", text)
}

// cmdStdoutVar sets an environment variable to the last command's stdout,
// trimmed, so a later command can name what an earlier one printed (a
// digest):
//
//	stdoutvar NAME
func cmdStdoutVar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stdoutvar NAME")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}
