package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	ociidentity "github.com/oracle/oci-go-sdk/v65/identity"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/oci"
)

// probeSignals are the signals sigprobe records: those idcsctl exec
// passes on.
var probeSignals = map[os.Signal]string{
	syscall.SIGINT: "INT", syscall.SIGTERM: "TERM", syscall.SIGHUP: "HUP", syscall.SIGQUIT: "QUIT",
	syscall.SIGWINCH: "WINCH", syscall.SIGUSR1: "USR1", syscall.SIGUSR2: "USR2",
}

// sigprobeMain is a command for idcsctl exec to run: it writes
// DIR/pids ("parent=P self=S group=G") once it listens, appends the name
// of every signal it gets to DIR/log, one per line, and ends with exit 0
// after TERM (or 99 after a minute, so that nothing runs on forever).
//
//	sigprobe DIR
func sigprobeMain() {
	dir := os.Args[1]
	sigs := make(chan os.Signal, 16)
	for s := range probeSignals {
		signal.Notify(sigs, s)
	}
	pids := fmt.Sprintf("parent=%d self=%d group=%d\n", os.Getppid(), os.Getpid(), syscall.Getpgrp())
	if err := os.WriteFile(filepath.Join(dir, "pids"), []byte(pids), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	deadline := time.After(time.Minute)
	for {
		select {
		case s := <-sigs:
			fmt.Fprintln(log, probeSignals[s])
			if s == syscall.SIGTERM {
				os.Exit(0)
			}
		case <-deadline:
			fmt.Fprintln(os.Stderr, "sigprobe: nobody ended me within a minute")
			os.Exit(99)
		}
	}
}

// cmdSignal sends a signal to a process named in a file sigprobe wrote,
// or to its process group:
//
//	signal [-group] NAME FILE KEY    (KEY: parent, self or group)
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	group := len(args) > 0 && args[0] == "-group"
	if group {
		args = args[1:]
	}
	if neg || len(args) != 3 {
		ts.Fatalf("usage: signal [-group] NAME FILE KEY")
	}
	var sig syscall.Signal
	for s, name := range probeSignals {
		if name == args[0] {
			sig = s.(syscall.Signal)
		}
	}
	if args[0] == "KILL" {
		sig = syscall.SIGKILL
	}
	if sig == 0 {
		ts.Fatalf("unknown signal %s", args[0])
	}
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	pid := 0
	for _, f := range strings.Fields(string(data)) {
		if v, ok := strings.CutPrefix(f, args[2]+"="); ok {
			pid, err = strconv.Atoi(v)
			ts.Check(err)
		}
	}
	if pid <= 1 {
		ts.Fatalf("no %s in %s", args[2], args[1])
	}
	if group {
		pid = -pid
	}
	ts.Check(syscall.Kill(pid, sig))
}

// ociSDKLoopMain is a long-running OCI client for idcsctl exec to run:
// it finds the session the way a program would, from the environment
// exec sets (OCI_CLI_CONFIG_FILE, OCI_CLI_PROFILE), and calls the
// emulator's OCI-like API through the OCI Go SDK every INTERVAL for
// DURATION. It prints how many calls succeeded and failed, and how many
// failed while the session's token file still held an unexpired UPST
// (which keeping the session fresh must make 0). It exits 0 when every
// call succeeded, else 3.
//
//	ocisdk-loop HOST DURATION INTERVAL
func ociSDKLoopMain() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "ocisdk-loop:", err)
		os.Exit(1)
	}
	if len(os.Args) != 4 {
		fail(fmt.Errorf("usage: ocisdk-loop HOST DURATION INTERVAL"))
	}
	duration, err := time.ParseDuration(os.Args[2])
	if err != nil {
		fail(err)
	}
	interval, err := time.ParseDuration(os.Args[3])
	if err != nil {
		fail(err)
	}
	configPath, profile := os.Getenv("OCI_CLI_CONFIG_FILE"), os.Getenv("OCI_CLI_PROFILE")
	provider, err := common.ConfigurationProviderForSessionTokenWithProfile(configPath, profile, "")
	if err != nil {
		fail(err)
	}
	tenancy, err := provider.TenancyOCID()
	if err != nil {
		fail(err)
	}
	client, err := ociidentity.NewIdentityClientWithConfigurationProvider(provider)
	if err != nil {
		fail(err)
	}
	client.Host = os.Args[1]
	client.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	tokenFile := oci.PathsFor(configPath, profile).Token
	var ok, failed, early int
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := client.GetTenancy(ctx, ociidentity.GetTenancyRequest{TenancyId: &tenancy})
		cancel()
		if err == nil {
			if ok++; ok == 1 {
				fmt.Println("first call ok")
			}
		} else {
			failed++
			// The UPST on disk now: a failure while it lives is a failure
			// of the keeping, not of the session's end.
			if tok, rerr := os.ReadFile(tokenFile); rerr == nil {
				if c, perr := oci.ParseUPST(string(tok)); perr == nil && time.Now().Before(c.Expiry.Add(-time.Second)) {
					early++
					fmt.Fprintf(os.Stderr, "ocisdk-loop: a call failed while the UPST lives until %s: %v\n", c.Expiry.Format(time.TimeOnly), err)
				}
			}
		}
		time.Sleep(interval)
	}
	fmt.Printf("calls %d ok %d failed %d\n", ok+failed, ok, failed)
	fmt.Printf("failed before expiry %d\n", early)
	if failed > 0 {
		os.Exit(3)
	}
}

// tokenWatchMain is a command for idcsctl exec to run: it says
// "watching", watches a file, and ends (exit 0) once its content has
// changed N times, or with exit 99 after a minute.
//
//	token-watch FILE N
func tokenWatchMain() {
	n, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	last, _ := os.ReadFile(os.Args[1])
	fmt.Println("watching")
	deadline := time.Now().Add(time.Minute)
	for changes := 0; changes < n; {
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "token-watch: %d of %d changes within a minute\n", changes, n)
			os.Exit(99)
		}
		time.Sleep(20 * time.Millisecond)
		if now, err := os.ReadFile(os.Args[1]); err == nil && string(now) != string(last) {
			changes++
			last = now
		}
	}
	fmt.Printf("changed %s times\n", os.Args[2])
}

func TestExecStopBeforeTheCommandStartsEndsWithTheSignalsStatus(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		want int
	}{
		{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			sigs := make(chan os.Signal, 2)
			sigs <- syscall.SIGWINCH // not a request to stop
			sigs <- tc.sig
			// A session that was ready anyway: ensure ends without an
			// error once it has been cancelled.
			ensure := func(ctx context.Context) (*oci.Session, error) {
				<-ctx.Done()
				return &oci.Session{Name: "s"}, nil
			}
			s, err := interruptible(context.Background(), sigs, ensure)
			var xs *exitStatus
			if !errors.As(err, &xs) || xs.code != tc.want || s != nil {
				t.Fatalf("interruptible = %v, %v; want no session and exit %d", s, err, tc.want)
			}
			if !strings.Contains(err.Error(), "before the command started") {
				t.Errorf("the error says %q", err)
			}
		})
	}
	// Without a signal, the session.
	want := &oci.Session{Name: "s"}
	s, err := interruptible(context.Background(), make(chan os.Signal), func(context.Context) (*oci.Session, error) { return want, nil })
	if err != nil || s != want {
		t.Fatalf("interruptible = %v, %v; want the session", s, err)
	}
}

func TestExecEnvironment(t *testing.T) {
	got := withEnv(
		[]string{"PATH=/bin", "OCI_CLI_PROFILE=mine", "OCI_CLI_KEY_CONTENT=-----BEGIN", "IDCSCTL_CLIENT_SECRET=s3cr3t", "A=1=2"},
		[]string{"OCI_CLI_PROFILE=idcsctl-work", "OCI_REGION=us-ashburn-1"},
		[]string{"OCI_CLI_KEY_CONTENT", "IDCSCTL_CLIENT_SECRET"},
	)
	want := []string{"PATH=/bin", "A=1=2", "OCI_CLI_PROFILE=idcsctl-work", "OCI_REGION=us-ashburn-1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("withEnv = %q, want %q", got, want)
	}
}

func TestTerraformWarnings(t *testing.T) {
	home, err := oci.DefaultConfigPath()
	if err != nil {
		t.Skip(err)
	}
	s := &oci.Session{Name: "idcsctl-work", Region: "us-ashburn-1", Paths: oci.PathsFor(home, "idcsctl-work")}
	elsewhere := &oci.Session{Name: "idcsctl-work", Region: "us-ashburn-1", Paths: oci.PathsFor("/tmp/oci/config", "idcsctl-work")}
	for _, tc := range []struct {
		name    string
		command string
		s       *oci.Session
		env     map[string]string
		want    []string
	}{
		{"nothing to say", "terraform", s, nil, nil},
		{"agreeing TF_VAR_s", "terraform", s, map[string]string{"TF_VAR_auth": "securitytoken", "TF_VAR_region": "us-ashburn-1"}, nil},
		{"a TF_VAR_ that wins", "./deploy.sh", s, map[string]string{"TF_VAR_config_file_profile": "DEFAULT"}, []string{"TF_VAR_config_file_profile=DEFAULT wins"}},
		{"a config Terraform cannot follow", "/usr/bin/tofu", elsewhere, nil, []string{"reads sessions from " + home + " alone"}},
		{"another command may follow it", "oci", elsewhere, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := terraformWarnings(tc.command, tc.s, func(k string) string { return tc.env[k] })
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q does not say %q", got[i], w)
				}
			}
		})
	}
}
