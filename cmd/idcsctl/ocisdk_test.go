package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	ociidentity "github.com/oracle/oci-go-sdk/v65/identity"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/oci/signer"
)

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
