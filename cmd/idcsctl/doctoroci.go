package main

import (
	"context"
	"fmt"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/oci"
)

// checkOCI reports the profile's OCI sessions, when it has any (or an
// oci_region), without the network: whether the application can exchange
// at all (a confidential one), and each session's files, config section
// and expiry. Whether the domain has an Identity Propagation Trust only an
// exchange can tell; the fix names where to read how to make one.
func (a *app) checkOCI(ctx context.Context, r *doctorReport, p *config.Resolved) {
	path, err := a.ociRecordsPath(p.Name)
	if err != nil {
		return
	}
	recs, err := oci.LoadRecords(path)
	if err != nil {
		r.add("oci sessions", checkFail, err.Error(), "delete "+path+" to forget the sessions idcsctl made (their files stay)")
		return
	}
	if len(recs.Sessions) == 0 && p.OCIRegion == "" {
		return
	}
	// A confidential application's missing secret is the client secret
	// check's to report; only a public one cannot exchange at all.
	if secret, err := a.clientSecret(ctx, p); err == nil && secret == "" {
		r.add("oci exchange", checkWarn, fmt.Sprintf("profile %q signs in with the public application %s, and the UPST exchange needs a confidential one", p.Name, p.ClientID),
			"sign in with a profile for the confidential application: `idcsctl login -p oci --client-id <its client id>` with its secret in "+config.EnvClientSecret+" (see docs/oci.md)")
	}
	if program, err := oci.FindSigner(); err != nil {
		r.add("oci signer", checkWarn, fmt.Sprintf("%s, which fetch --oci signs with, is neither beside idcsctl nor on PATH", oci.SignerProgram), oci.SignerFix)
	} else {
		r.add("oci signer", checkOK, program, "")
	}
	if p.OCIRegion != "" {
		if w := regionWarning(p.OCIRegion); w != "" {
			r.add("oci region", checkWarn, w, "run `idcsctl oci session --region REGION` with a known region (it is remembered)")
		} else {
			r.add("oci region", checkOK, p.OCIRegion, "")
		}
	}
	now := a.deps.Now()
	for _, rec := range recs.Sessions {
		name := "oci session " + rec.Name
		fix := fmt.Sprintf("run `idcsctl oci session %s`", rec.Name)
		if p.Name != config.DefaultProfile {
			fix = fmt.Sprintf("run `idcsctl oci session %s -p %s`", rec.Name, p.Name)
		}
		cfg, err := oci.ReadConfig(rec.ConfigPath)
		if err != nil {
			r.add(name, checkFail, err.Error(), "fix the OCI config file, then "+fix)
			continue
		}
		s := oci.Status(rec)
		keys, ok := cfg.Section(rec.Name)
		switch {
		case !ok || keys["security_token_file"] != s.Paths.Token:
			r.add(name, checkWarn, fmt.Sprintf("%s has no section [%s] pointing at the session", rec.ConfigPath, rec.Name), fix)
		case s.Expiry.IsZero():
			r.add(name, checkWarn, "the session's token or key file is missing or unreadable in "+s.Paths.Dir, fix)
		case !now.Before(s.Expiry):
			r.add(name, checkWarn, fmt.Sprintf("expired at %s (tenancy %s, region %s)", a.when(s.Expiry), s.Tenancy, s.Region), fix+" (it exchanges anew)")
		default:
			r.add(name, checkOK, fmt.Sprintf("valid until %s (tenancy %s, region %s, %s)", a.when(s.Expiry), s.Tenancy, s.Region, rec.ConfigPath), "")
		}
	}
}
