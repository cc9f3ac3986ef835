package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/browser"
	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/kube"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
	"github.com/idcsctl/idcsctl/internal/testnet"
)

// TestKubeTokenSignsInOnlyWhenInteractiveAndATerminal: with no token,
// kube token starts the profile's sign-in only when kubectl says the call
// is interactive and stdin is a terminal; otherwise it asks for a sign-in
// (exit 4) without touching the domain's authorize endpoint.
func TestKubeTokenSignsInOnlyWhenInteractiveAndATerminal(t *testing.T) {
	port := testnet.Port(t)
	tests := []struct {
		name                  string
		interactive, terminal bool
		wantSignIn            bool
	}{
		{name: "not interactive, a terminal", terminal: true},
		{name: "interactive, no terminal", interactive: true},
		{name: "interactive and a terminal", interactive: true, terminal: true, wantSignIn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := loginEmulator(t, emulator.Options{}, port)
			info := fmt.Sprintf(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":%t}}`, tt.interactive)
			d, stdout, stderr, dir := inProcess(t, map[string]string{kube.EnvExecInfo: info}, nil)
			cfg := fmt.Sprintf("[profiles.default]\ndomain = %q\nclient_id = %q\nredirect_ports = [%d]\n", srv.URL, emulator.DemoPublicClientID, port)
			if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			visited := make(chan error, 1)
			d.OpenBrowser = func(u string) error {
				fb := &browser.FormBrowser{Username: emulator.DemoUser.UserName, Password: emulator.DemoUserPassword}
				go func() { visited <- fb.Visit(t.Context(), u) }()
				return nil
			}
			a := &app{deps: d, global: &globalOptions{output: "json"}}
			err := runKubeToken(t.Context(), a, &kubeTokenOptions{terminal: tt.terminal})
			if !tt.wantSignIn {
				if !errors.Is(err, session.ErrLoginRequired) || exitCode(err) != exitLoginRequired {
					t.Fatalf("runKubeToken = %v, want a sign-in required (exit 4)", err)
				}
				if n := srv.Counts()["/oauth2/v1/authorize"]; n != 0 {
					t.Errorf("a sign-in was started (%d authorize requests)", n)
				}
				if stdout.Len() != 0 {
					t.Errorf("stdout = %q, want nothing", stdout)
				}
				return
			}
			if err != nil {
				t.Fatalf("runKubeToken: %v\nstderr:\n%s", err, stderr)
			}
			if err := <-visited; err != nil {
				t.Fatalf("the browser: %v", err)
			}
			// stdout is kubectl's: the ExecCredential alone, even though
			// -o json would make login print its summary there.
			var cred struct {
				Kind   string `json:"kind"`
				Status struct {
					Token string `json:"token"`
				} `json:"status"`
			}
			dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
			if err := dec.Decode(&cred); err != nil || cred.Kind != "ExecCredential" || !strings.HasPrefix(cred.Status.Token, "eyJ") || dec.More() {
				t.Fatalf("stdout is not one ExecCredential with a token (%v):\n%s", err, stdout)
			}
			if !strings.Contains(stderr.String(), `Signing in to profile "default" for kubectl`) || !strings.Contains(stderr.String(), "Signed in to") {
				t.Errorf("stderr does not tell of the sign-in:\n%s", stderr)
			}
		})
	}
}

// TestKubeTokenSignsInTheWayTheProfileDidLast: a profile whose tokens came
// from the device code grant signs in with it again for kubectl.
func TestKubeTokenSignsInTheWayTheProfileDidLast(t *testing.T) {
	srv := loginEmulator(t, emulator.Options{})
	info := `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`
	d, stdout, stderr, dir := inProcess(t, map[string]string{kube.EnvExecInfo: info}, nil)
	cfg := fmt.Sprintf("[profiles.default]\ndomain = %q\nclient_id = %q\n", srv.URL, emulator.DemoPublicClientID)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// An expired device-code token with no refresh token: a sign-in is due.
	old := &store.Token{AccessToken: "expired", Expiry: time.Now().Add(-time.Hour), Grant: grantDeviceCode, Domain: srv.URL, ClientID: emulator.DemoPublicClientID}
	if err := store.NewFile(dir).Save(t.Context(), "default", old); err != nil {
		t.Fatal(err)
	}
	visited := make(chan error, 1)
	d.OpenBrowser = func(u string) error {
		fb := &browser.FormBrowser{Username: emulator.DemoUser.UserName, Password: emulator.DemoUserPassword}
		go func() { visited <- fb.Visit(t.Context(), u) }()
		return nil
	}
	a := &app{deps: d, global: &globalOptions{output: "text"}}
	if err := runKubeToken(t.Context(), a, &kubeTokenOptions{terminal: true}); err != nil {
		t.Fatalf("runKubeToken: %v\nstderr:\n%s", err, stderr)
	}
	if err := <-visited; err != nil {
		t.Fatalf("the browser: %v", err)
	}
	if n := srv.Counts()["token:"+emulator.GrantDeviceCode]; n == 0 {
		t.Errorf("no device code grant at the emulator (counts %v)", srv.Counts())
	}
	if n := srv.Counts()["token:authorization_code"]; n != 0 {
		t.Errorf("the browser sign-in ran instead (%d code exchanges)", n)
	}
	if !strings.Contains(stdout.String(), `"kind":"ExecCredential"`) {
		t.Errorf("stdout = %q, want the ExecCredential", stdout)
	}
}

// TestKubeSetupDescribesTheContext: what setup says of --context's context
// after it wrote the entry.
func TestKubeSetupDescribesTheContext(t *testing.T) {
	before := kube.Contents{Clusters: []string{"a", "b"}, Contexts: map[string]kube.Context{
		"mine":   {Cluster: "a", User: "idcs"},
		"alices": {Cluster: "a", User: "alice"},
		"bare":   {User: "bob"},
	}}
	tests := []struct {
		name     string
		before   kube.Contents
		e        kube.Entry
		want     contextChange
		wantSay  []string
		wantNone []string
	}{
		{name: "no context", before: before, e: kube.Entry{User: "idcs"}},
		{name: "a new context without a cluster", before: before, e: kube.Entry{User: "idcs", Context: "new"},
			want:     contextChange{name: "new", user: "idcs", clusters: []string{"a", "b"}},
			wantSay:  []string{`context "new" has no cluster`, "(the clusters of kc: a, b)", "kubectl config set-context new --cluster NAME --kubeconfig kc"},
			wantNone: []string{"used user"}},
		{name: "a new context with a cluster", before: before, e: kube.Entry{User: "idcs", Context: "new", Cluster: "b"},
			want: contextChange{name: "new", user: "idcs", cluster: "b", clusters: []string{"a", "b"}}, wantNone: []string{"warning"}},
		{name: "the same user again", before: before, e: kube.Entry{User: "idcs", Context: "mine"},
			want: contextChange{name: "mine", user: "idcs", cluster: "a", clusters: []string{"a", "b"}}, wantNone: []string{"warning", "used user"}},
		{name: "another user's context", before: before, e: kube.Entry{User: "idcs", Context: "alices"},
			want:    contextChange{name: "alices", user: "idcs", cluster: "a", replaced: "alice", clusters: []string{"a", "b"}},
			wantSay: []string{`Context "alices" used user "alice"; it now uses "idcs".`}, wantNone: []string{"warning"}},
		{name: "a context without a cluster, given none", before: before, e: kube.Entry{User: "idcs", Context: "bare"},
			want:    contextChange{name: "bare", user: "idcs", replaced: "bob", clusters: []string{"a", "b"}},
			wantSay: []string{`used user "bob"`, `context "bare" has no cluster`}},
		{name: "a cluster the file lacks", before: before, e: kube.Entry{User: "idcs", Context: "mine", Cluster: "z"},
			want:    contextChange{name: "mine", user: "idcs", cluster: "z", unknownCluster: "z", clusters: []string{"a", "b"}},
			wantSay: []string{`kc has no cluster "z"`}, wantNone: []string{"reach no API server"}},
		{name: "a file without clusters", before: kube.Contents{}, e: kube.Entry{User: "idcs", Context: "new"},
			want:    contextChange{name: "new", user: "idcs"},
			wantSay: []string{"kc has no clusters yet", "kubectl config set-cluster NAME --server URL --kubeconfig kc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeContext(tt.before, tt.e)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("describeContext = %+v, want %+v", got, tt.want)
			}
			var said bytes.Buffer
			got.warn(&said, "kc")
			for _, s := range tt.wantSay {
				if !strings.Contains(said.String(), s) {
					t.Errorf("setup does not say %q:\n%s", s, said.String())
				}
			}
			for _, s := range tt.wantNone {
				if strings.Contains(said.String(), s) {
					t.Errorf("setup says %q:\n%s", s, said.String())
				}
			}
			if tt.e.Context == "" && said.Len() != 0 {
				t.Errorf("setup speaks of no context: %q", said.String())
			}
		})
	}
}
