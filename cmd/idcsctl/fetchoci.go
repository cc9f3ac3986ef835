package main

import (
	"context"

	"github.com/idcsctl/idcsctl/internal/fetch"
	"github.com/idcsctl/idcsctl/internal/oci"
)

// runFetchOCI is fetch --oci: it makes the profile's OCI session fresh
// (exchanging anew only when due), then has every attempt signed by the
// OCI Go SDK's signer, which runs in idcsctl-ocisign so that idcsctl does
// not link the SDK. The signature goes only to the profile's domain, the
// hosts it allows, and the OCI API hosts of the session's realm
// (*.oraclecloud.com for oc1).
func runFetchOCI(ctx context.Context, a *app, o *fetchOptions) error {
	code, err := o.check(a.global.output)
	if err != nil {
		return err
	}
	program, err := oci.FindSigner()
	if err != nil {
		return err
	}
	f, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	s, err := a.ensureOCISession(ctx, f, p, &ociSessionOptions{name: o.ociSession, margin: oci.DefaultMargin})
	if err != nil {
		return err
	}
	sg := &oci.ExecSigner{Program: program, ConfigPath: s.Paths.Config, Session: s.Name}
	realm, err := sg.Check(ctx)
	if err != nil {
		return err
	}
	o.allowHosts = append(o.allowHosts, "*."+realm)
	// The flags are checked and the profile resolved once: the config is
	// not read again.
	plan, err := planFetchFor(a, o, code, p)
	if err != nil {
		return err
	}
	hc, err := a.httpClient(plan.profile)
	if err != nil {
		return err
	}
	return a.sendFetch(ctx, &fetch.Client{HTTP: hc, Sign: sg.Sign, Retries: o.retries}, plan, o)
}
