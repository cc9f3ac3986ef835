package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDemoRunsTheWholeFlowWithoutTouchingTheUsersProfiles(t *testing.T) {
	home := t.TempDir()
	userConfig := filepath.Join(home, "idcsctl", "config.toml")
	env := map[string]string{"IDCSCTL_CONFIG": userConfig, "IDCSCTL_PROFILE": "work", "IDCSCTL_TOKEN_STORE": "keyring"}
	var stdout, stderr bytes.Buffer
	d := &deps{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if code := run(ctx, []string{"demo"}, d); code != 0 {
		t.Fatalf("demo exited %d\nstderr:\n%s", code, &stderr)
	}
	for _, want := range []string{"User:          demo.user@example.com", `"displayName": "Demo User"`, "eyJ"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	for _, want := range []string{"==> 1/5 idcsctl login", "==> 5/5 idcsctl logout", "Logged out", "Done:"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, &stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "idcsctl")); !os.IsNotExist(err) {
		t.Errorf("demo wrote into the user's config folder (stat: %v)", err)
	}
}

func TestDemoServeRunsTheEmulatorUntilCancelled(t *testing.T) {
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	d := &deps{Stdout: pw, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--serve", "--addr", "127.0.0.1:0", "-o", "json"}, d)
		pw.Close()
	}()
	var info struct {
		Domain    string `json:"domain"`
		CountsURL string `json:"counts_url"`
		User      string `json:"user_name"`
	}
	if err := json.NewDecoder(bufio.NewReader(pr)).Decode(&info); err != nil {
		t.Fatalf("read demo --serve output: %v (stderr %s)", err, &stderr)
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(info.Domain + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.Get(info.CountsURL)
	if err != nil {
		t.Fatal(err)
	}
	var counts map[string]int
	err = json.NewDecoder(resp.Body).Decode(&counts)
	resp.Body.Close()
	if err != nil || counts["/.well-known/openid-configuration"] != 1 {
		t.Fatalf("counts = %v (%v), want one discovery request", counts, err)
	}
	if info.User != "demo.user@example.com" {
		t.Errorf("user = %q", info.User)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo --serve exited %d: %s", code, &stderr)
	}
	if _, err := http.Get(info.Domain); err == nil {
		t.Error("the emulator still answers after demo --serve returned")
	}
}

func TestDemoServeRefusesANonLoopbackAddress(t *testing.T) {
	var stderr bytes.Buffer
	d := &deps{Stdout: io.Discard, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: time.Now}
	if code := run(context.Background(), []string{"demo", "--serve", "--addr", "0.0.0.0:9999"}, d); code != exitUsage {
		t.Fatalf("exit = %d, want %d (%s)", code, exitUsage, &stderr)
	}
	if !strings.Contains(stderr.String(), "loopback") {
		t.Errorf("stderr = %q, want it to say loopback", &stderr)
	}
}
