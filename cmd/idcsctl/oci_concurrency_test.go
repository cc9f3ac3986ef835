package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idcsctl/idcsctl/internal/emulator"
)

// Parallel scripts that each run `idcsctl oci session` before their oci
// command exchange once between them (docs/oci.md): the profile's OCI lock
// serialises them, and the ones that wait find the fresh session.
func TestConcurrentOCISessionsExchangeOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 processes")
	}
	c := newCLIEnv(t, "", nil)
	if err := c.emu.AddRedirectURI(emulator.DemoConfidentialClientID, fmt.Sprintf("http://127.0.0.1:%d/callback", c.port)); err != nil {
		t.Fatal(err)
	}
	c.env = append(c.env, "IDCSCTL_CLIENT_SECRET="+emulator.DemoConfidentialClientSecret)
	c.run("login", "--domain", c.url, "--client-id", emulator.DemoConfidentialClientID, "--port", fmt.Sprint(c.port), "--timeout", "30s")

	const n = 8
	for i, r := range c.runConcurrently(n, "oci", "session", "--region", "us-ashburn-1") {
		if r.err != nil {
			t.Errorf("process %d: %v\nstderr:\n%s", i, r.err, r.stderr)
		}
	}
	if got := c.emu.Counts()["token:"+"urn:ietf:params:oauth:grant-type:token-exchange"]; got != 1 {
		t.Errorf("%d concurrent oci session calls made %d exchanges, want exactly 1", n, got)
	}
	var home string
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	cfg, err := os.ReadFile(filepath.Join(home, ".oci", "config"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(cfg), "[idcsctl-default]"); got != 1 {
		t.Errorf("the OCI config has %d sections [idcsctl-default]:\n%s", got, cfg)
	}
}
