package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	ociidentity "github.com/oracle/oci-go-sdk/v65/identity"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/oci/signer"
	"github.com/idcsctl/idcsctl/internal/testenv"
)

// ociJSDir holds Oracle's JavaScript SDK, pinned by its package-lock.json,
// and the program that drives it (ocisdk.js); .ci/run installs it with
// npm ci.
const ociJSDir = "testdata/ocisdk-js"

// TestScriptsOCIJS runs testdata/script-ocijs: a second real client,
// Oracle's JavaScript SDK (npm oci-common and oci-identity), reads the
// files `idcsctl oci session` wrote and its signed requests (dated by
// x-date, where the Go SDK signs date) pass the emulator's OCI-like API.
// The scripts find the SDK's folder in $OCIJS and run node on PATH.
func TestScriptsOCIJS(t *testing.T) {
	dir, err := filepath.Abs(ociJSDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociJSMissing(dir); err != nil {
		testenv.SkipOrFail(t, err)
	}
	testscript.Run(t, scriptParams(t, "testdata/script-ocijs", []string{"OCIJS=" + dir}))
}

// ociJSMissing says why the JavaScript SDK cannot run here: no node, or
// its packages not installed at the versions package.json pins.
func ociJSMissing(dir string) error {
	install := fmt.Sprintf("npm ci --prefix %s", filepath.Join("cmd", "idcsctl", ociJSDir))
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH (apt-get install nodejs npm), then %s", install)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := readJSONFile(filepath.Join(dir, "package.json"), &pkg); err != nil {
		return err
	}
	if len(pkg.Dependencies) == 0 {
		return fmt.Errorf("%s/package.json names no packages", dir)
	}
	for name, want := range pkg.Dependencies {
		var got struct {
			Version string `json:"version"`
		}
		err := readJSONFile(filepath.Join(dir, "node_modules", name, "package.json"), &got)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("the npm package %s is not installed: %s", name, install)
		case err != nil:
			return err
		case got.Version != want:
			return fmt.Errorf("the npm package %s is %s, package.json pins %s: %s", name, got.Version, want, install)
		}
	}
	return nil
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// cmdOCISDK is a client nobody here wrote: Oracle's OCI Go SDK loads an
// OCI config section through its own session-token configuration provider
// (what the oci CLI's --auth security_token and Terraform's SecurityToken
// auth do), and its Identity client calls the emulator's OCI-like API with
// requests its own signer signs, which the emulator verifies against the
// key the session was exchanged for:
//
//	ocisdk CONFIG PROFILE    GetTenancy, every page of ListCompartments, CreateCompartment
//	! ocisdk CONFIG PROFILE  the SDK's calls are refused; the error goes to stderr
func cmdOCISDK(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: ocisdk CONFIG PROFILE")
	}
	srv := ts.Value("emulator").(*emulator.Server)
	out, err := ociSDKCalls(ts.MkAbs(args[0]), args[1], srv.URL)
	fmt.Fprint(ts.Stdout(), out)
	switch {
	case err != nil && !neg:
		ts.Fatalf("OCI SDK: %v", err)
	case err != nil:
		fmt.Fprintf(ts.Stderr(), "OCI SDK: %v\n", err)
	case neg:
		ts.Fatalf("the OCI SDK's calls succeeded")
	}
}

func ociSDKCalls(configPath, profile, host string) (string, error) {
	provider, err := common.ConfigurationProviderForSessionTokenWithProfile(configPath, profile, "")
	if err != nil {
		return "", err
	}
	tenancy, err := provider.TenancyOCID()
	if err != nil {
		return "", fmt.Errorf("tenancy: %w", err)
	}
	region, err := provider.Region()
	if err != nil {
		return "", fmt.Errorf("region: %w", err)
	}
	client, err := ociidentity.NewIdentityClientWithConfigurationProvider(provider)
	if err != nil {
		return "", err
	}
	client.Host = host
	client.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out := fmt.Sprintf("region %s\n", region)
	t, err := client.GetTenancy(ctx, ociidentity.GetTenancyRequest{TenancyId: &tenancy})
	if err != nil {
		return out, fmt.Errorf("GetTenancy: %w", err)
	}
	out += fmt.Sprintf("tenancy %s %s\n", *t.Id, *t.Name)
	var page *string
	n, pages := 0, 0
	for {
		resp, err := client.ListCompartments(ctx, ociidentity.ListCompartmentsRequest{CompartmentId: &tenancy, Page: page, Limit: common.Int(3)})
		if err != nil {
			return out, fmt.Errorf("ListCompartments: %w", err)
		}
		n += len(resp.Items)
		pages++
		if resp.OpcNextPage == nil {
			break
		}
		page = resp.OpcNextPage
	}
	out += fmt.Sprintf("compartments %d in %d pages\n", n, pages)
	c, err := client.CreateCompartment(ctx, ociidentity.CreateCompartmentRequest{CreateCompartmentDetails: ociidentity.CreateCompartmentDetails{
		CompartmentId: &tenancy, Name: common.String("from-the-sdk"), Description: common.String("signed POST"),
	}})
	if err != nil {
		return out, fmt.Errorf("CreateCompartment: %w", err)
	}
	out += fmt.Sprintf("created %s\n", *c.Name)
	return out, nil
}

// ociSignMain is idcsctl-ocisign inside the test binary, which the
// scripts find on PATH as fetch --oci does.
func ociSignMain() {
	if err := signer.Main(os.Args[1:], os.Stdin, os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
