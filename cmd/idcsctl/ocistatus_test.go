package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/oci"
)

// TestOCIStatusTellsTimeByTheCommandsClock: `oci session --status` says how
// long a session has left from the command's clock (deps.Now), as every
// other "in N min" does, not from the machine's. The clock here is years
// away from the machine's, so the machine's would say "ago".
func TestOCIStatusTellsTimeByTheCommandsClock(t *testing.T) {
	now := time.Date(2020, 6, 1, 12, 0, 0, 0, time.UTC)
	a, stdout, _, dir := testApp(t, now)
	cfg := filepath.Join(dir, "oci-config")
	rec := oci.Record{Name: "s1", ConfigPath: cfg, Region: "us-ashburn-1"}
	paths := oci.PathsFor(cfg, rec.Name)
	if err := os.MkdirAll(paths.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	exp := now.Add(50 * time.Minute).Unix()
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u","tenant":"ocid1.tenancy.oc1..t","exp":` + strconv.FormatInt(exp, 10) + `}`))
	if err := os.WriteFile(paths.Token, []byte("e30."+payload+".c2ln"), 0o600); err != nil {
		t.Fatal(err)
	}
	recs := &oci.Records{Path: filepath.Join(dir, "oci", "default.json"), Sessions: []oci.Record{rec}}
	if err := recs.Save(); err != nil {
		t.Fatal(err)
	}

	if err := a.ociStatus(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "(in 50 min)") {
		t.Errorf("--status does not tell the time left by the command's clock:\n%s", stdout)
	}
}
