package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/oci"
	"github.com/idcsctl/idcsctl/internal/store"
)

type ociSessionOptions struct {
	overrides config.Overrides
	name      string
	region    string
	// defaultRegion stands in when nothing else names a region, and is
	// not remembered: docker-credential-idcsctl passes the registry's.
	defaultRegion string
	ociConfig     string
	margin        time.Duration
	status        bool
	keepFresh     bool
	doc           docFlags
}

func newOCICmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "oci",
		Short: "OCI sessions for the oci CLI, the OCI SDKs and Terraform from your sign-in",
		Example: `  idcsctl oci session --region us-ashburn-1
  idcsctl oci session --status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newOCISessionCmd(a), newOCIRegistryCmd(a))
	return cmd
}

func newOCISessionCmd(a *app) *cobra.Command {
	o := &ociSessionOptions{}
	cmd := &cobra.Command{
		Use:   "session [NAME]",
		Short: "Make or refresh an OCI session token (UPST) from the profile's sign-in",
		Long: `Exchange the profile's domain token for an OCI user principal session token
(UPST) bound to a new key pair, and write it where ` + "`oci session authenticate`" + ` does:
<oci config folder>/sessions/NAME/{token,oci_api_key.pem,oci_api_key_public.pem}
and a [NAME] section of ~/.oci/config. Every other byte of the OCI config stays.

Cheap to run before every oci command: while the UPST outlives the margin it does
no network and no key generation. It never asks anything: when the domain token
cannot be refreshed it exits 4 (run idcsctl login).

NAME defaults to idcsctl-<profile>. The region comes from --region (remembered in
the profile), else the profile's oci_region, else the domain's home region.
The exchange needs a confidential application and an Identity Propagation Trust
in the domain: see docs/oci.md.`,
		Example: `  idcsctl oci session --region us-ashburn-1
  oci --profile idcsctl-default --auth security_token os ns get
  idcsctl oci session --status
  idcsctl oci session --status --jq '.[] | select(.profile == "work") | .expires_at'
  idcsctl oci session --template '{{.name}} until {{.expires_at}}'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.name = args[0]
			}
			return runOCISession(cmd.Context(), a, o)
		},
	}
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeOCISessions(cmd, args, toComplete)
	}
	f := cmd.Flags()
	addOCISessionFlags(cmd, o)
	f.BoolVar(&o.status, "status", false, "show the OCI sessions idcsctl made and who keeps them fresh, without the network")
	f.BoolVar(&o.keepFresh, "keep-fresh", false, "stay running and renew the session before it expires, until Ctrl-C")
	f.StringVar(&o.defaultRegion, "default-region", "", "region when neither --region, the profile nor the sign-in names one (not remembered)")
	_ = f.MarkHidden("default-region")
	addDocFlags(cmd, &o.doc)
	return cmd
}

// addOCISessionFlags adds the flags that say which session to make and
// how: those of oci session, and of exec.
func addOCISessionFlags(cmd *cobra.Command, o *ociSessionOptions) {
	f := cmd.Flags()
	f.StringVar(&o.region, "region", "", "OCI region of the session, e.g. us-ashburn-1 (remembered in the profile)")
	// A function, so the list is made only when a shell asks.
	_ = cmd.RegisterFlagCompletionFunc("region", func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(oci.Regions(), toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	f.StringVar(&o.ociConfig, "oci-config", "", "OCI config file to write the session's section in (default ~/.oci/config)")
	f.DurationVar(&o.margin, "margin", oci.DefaultMargin, "exchange anew when the UPST expires within this long (at most a quarter of its lifetime)")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
}

// ociSessionJSON is the -o json shape of an OCI session; a documented
// contract (docs/output.md).
type ociSessionJSON struct {
	Name        string     `json:"name"`
	Profile     string     `json:"profile"`
	ConfigFile  string     `json:"config_file"`
	TokenFile   string     `json:"token_file"`
	KeyFile     string     `json:"key_file"`
	Fingerprint string     `json:"fingerprint,omitempty"`
	Tenancy     string     `json:"tenancy,omitempty"`
	Region      string     `json:"region"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Exchanged   bool       `json:"exchanged"`
	// KeptFreshBy are the processes renewing it (exec, --keep-fresh).
	KeptFreshBy []keeperJSON `json:"kept_fresh_by,omitempty"`
}

// keeperJSON is one process that keeps a session fresh.
type keeperJSON struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func sessionJSON(profile string, s *oci.Session, keepers []oci.KeeperRecord) ociSessionJSON {
	out := ociSessionJSON{
		Name: s.Name, Profile: profile, ConfigFile: s.Paths.Config, TokenFile: s.Paths.Token, KeyFile: s.Paths.PrivateKey,
		Fingerprint: s.Fingerprint, Tenancy: s.Tenancy, Region: s.Region, ExpiresAt: jsonTime(s.Expiry), Exchanged: s.Exchanged,
	}
	for _, k := range keepers {
		if k.Profile == profile && k.Name == s.Name && k.ConfigPath == s.Paths.Config {
			out.KeptFreshBy = append(out.KeptFreshBy, keeperJSON{PID: k.PID, Command: k.Command, Since: *jsonTime(k.Since)})
		}
	}
	return out
}

// ociRecordsPath is where idcsctl remembers the OCI sessions a profile
// made, beside its other state.
func (a *app) ociRecordsPath(profile string) (string, error) {
	dir, err := a.stateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "oci", profile+".json"), nil
}

func runOCISession(ctx context.Context, a *app, o *ociSessionOptions) error {
	var shape any = ociSessionJSON{}
	if o.status {
		shape = []ociSessionJSON{}
	}
	doc, err := a.document(&o.doc, "oci session", shape)
	if err != nil {
		return err
	}
	f, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	if o.status {
		if o.keepFresh {
			return usagef("--status and --keep-fresh do not go together: --status lists the keepers")
		}
		return a.ociStatus(ctx, doc)
	}
	ensure, err := a.ociEnsurer(ctx, p, o)
	if err != nil {
		return err
	}
	s, err := ensure(ctx)
	if err != nil {
		return err
	}
	a.rememberRegion(f, p, o)
	if doc != nil {
		if err := doc.write(ctx, a.deps.Stdout, sessionJSON(p.Name, s, nil)); err != nil {
			return err
		}
	} else {
		a.describeOCISession(s, o)
	}
	if o.keepFresh {
		return a.keepOCISessionFresh(ctx, p.Name, s, ensure, o.margin)
	}
	return nil
}

// keepOCISessionFresh renews s until Ctrl-C, saying each renewal.
func (a *app) keepOCISessionFresh(ctx context.Context, profile string, s *oci.Session, ensure func(context.Context) (*oci.Session, error), margin time.Duration) error {
	// Ctrl-C is how the person stops it.
	a.watchInterrupts()
	w := a.deps.Stderr
	release, err := a.announceKeeper(profile, s, "keep-fresh")
	if err != nil {
		return err
	}
	defer release()
	fmt.Fprintf(w, "Keeping OCI session %q fresh: renewed %s before it expires, until Ctrl-C.\n", s.Name, humanDuration(oci.Lead(s, margin)))
	k := &oci.Keeper{Ensure: ensure, Margin: margin, Now: a.deps.Now, Report: a.reportKeeping(false)}
	s = k.Run(ctx, s)
	fmt.Fprintf(w, "Stopped keeping OCI session %q fresh; it is valid until %s.\n", s.Name, a.when(s.Expiry))
	return nil
}

// announceKeeper records that this process keeps s fresh, for
// oci session --status, until release.
func (a *app) announceKeeper(profile string, s *oci.Session, how string) (release func(), err error) {
	dir, err := a.ociKeepersDir()
	if err != nil {
		return nil, err
	}
	return oci.Announce(dir, oci.KeeperRecord{
		PID: os.Getpid(), Profile: profile, Name: s.Name, ConfigPath: s.Paths.Config, Command: how, Since: a.deps.Now(),
	})
}

// ociKeepersDir is where the processes that keep sessions fresh say so.
func (a *app) ociKeepersDir() (string, error) {
	dir, err := a.stateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "oci", "keepers"), nil
}

// describeOCISession says on stderr which session is ready, and how the
// oci CLI and Terraform use it.
func (a *app) describeOCISession(s *oci.Session, o *ociSessionOptions) {
	w := a.deps.Stderr
	verb := "is valid"
	if s.Exchanged {
		verb = "was exchanged; valid"
	}
	fmt.Fprintf(w, "OCI session %q %s until %s (tenancy %s, region %s).\n", s.Name, verb, a.when(s.Expiry), s.Tenancy, s.Region)
	configFlag := ""
	if def, _ := oci.DefaultConfigPath(); o.ociConfig != def {
		configFlag = " --config-file " + o.ociConfig
	}
	fmt.Fprintf(w, "  oci%s --profile %s --auth security_token iam region list\n", configFlag, s.Name)
	fmt.Fprintf(w, "  Terraform: provider \"oci\" { auth = \"SecurityToken\"  config_file_profile = %q }\n", s.Name)
}

// ensureOCISession checks o, fills in its defaults, and makes the session
// usable for at least the margin (see oci.Ensure), under the profile's OCI
// lock. It remembers a new --region in the profile.
func (a *app) ensureOCISession(ctx context.Context, f *config.File, p *config.Resolved, o *ociSessionOptions) (*oci.Session, error) {
	ensure, err := a.ociEnsurer(ctx, p, o)
	if err != nil {
		return nil, err
	}
	s, err := ensure(ctx)
	if err != nil {
		return nil, err
	}
	a.rememberRegion(f, p, o)
	return s, nil
}

// rememberRegion keeps a new --region in the profile, once it made a
// session.
func (a *app) rememberRegion(f *config.File, p *config.Resolved, o *ociSessionOptions) {
	if o.region == "" || o.region == p.OCIRegion || !p.InFile {
		return
	}
	next := *f.Profiles[p.Name]
	next.OCIRegion = o.region
	f.Put(next)
	if err := f.Save(); err != nil {
		fmt.Fprintf(a.deps.Stderr, "warning: could not remember the region in the profile: %v\n", err)
	}
}

// ociEnsurer checks o and fills in its defaults, the region included, and
// returns what makes the session usable for at least the margin: under the
// profile's OCI lock, so that parallel scripts, execs and keepers exchange
// once between them, and with no network while the session is fresh.
func (a *app) ociEnsurer(ctx context.Context, p *config.Resolved, o *ociSessionOptions) (func(context.Context) (*oci.Session, error), error) {
	if o.margin < 0 || o.margin >= time.Hour {
		return nil, usagef("--margin must be at least 0 and under 1h (a UPST lives an hour at most)")
	}
	var err error
	if o.name == "" {
		o.name = "idcsctl-" + p.Name
	}
	if err := oci.CheckName(o.name); err != nil {
		return nil, &usageError{err}
	}
	for _, r := range []string{o.region, o.defaultRegion} {
		if r != "" {
			if err := oci.CheckRegion(r); err != nil {
				return nil, &usageError{err}
			}
		}
	}
	if o.ociConfig == "" {
		if o.ociConfig, err = oci.DefaultConfigPath(); err != nil {
			return nil, err
		}
	}
	if o.ociConfig, err = filepath.Abs(o.ociConfig); err != nil {
		return nil, usagef("--oci-config: %v", err)
	}
	if _, err := requireDomain(p); err != nil {
		return nil, err
	}
	recPath, err := a.ociRecordsPath(p.Name)
	if err != nil {
		return nil, err
	}
	recs, err := oci.LoadRecords(recPath)
	if err != nil {
		return nil, err
	}
	region, err := a.ociRegion(ctx, p, o, recs)
	if err != nil {
		return nil, err
	}
	if w := regionWarning(region); w != "" {
		fmt.Fprintln(a.deps.Stderr, "warning: "+w)
	}
	lockDir := filepath.Dir(recPath)
	exchange := a.ociExchanger(p)
	return func(ctx context.Context) (*oci.Session, error) {
		// One session refresh per profile at a time; the token refresh
		// lock is another file.
		unlock, err := store.Lock(ctx, lockDir, p.Name)
		if err != nil {
			return nil, fmt.Errorf("lock the OCI sessions of profile %q: %w", p.Name, err)
		}
		defer unlock()
		// Read again under the lock: another process may have added one.
		recs, err := oci.LoadRecords(recPath)
		if err != nil {
			return nil, err
		}
		s, err := oci.Ensure(ctx, oci.EnsureOptions{
			Name: o.name, ConfigPath: o.ociConfig, Region: region, Margin: o.margin, Now: a.deps.Now,
			Records: recs, Exchange: exchange,
		})
		var ce *oci.ConfigError
		switch {
		case errors.As(err, &ce), errors.Is(err, oci.ErrNotOurs):
			return nil, &usageError{err}
		case err != nil:
			return nil, err
		}
		return s, nil
	}, nil
}

// ociRegion picks the session's region: --region, the profile's
// oci_region, the region the session was made with, else the home region
// of the domain named in the stored access token.
func (a *app) ociRegion(ctx context.Context, p *config.Resolved, o *ociSessionOptions, recs *oci.Records) (string, error) {
	if r := firstOf(o.region, p.OCIRegion); r != "" {
		return r, nil
	}
	for _, rec := range recs.Sessions {
		if rec.Name == o.name && rec.ConfigPath == o.ociConfig {
			return rec.Region, nil
		}
	}
	if t := a.storedToken(ctx, p); t != nil {
		if r := claimString(storedClaims(t.AccessToken), "domain_home"); oci.CheckRegion(r) == nil {
			return r, nil
		}
	}
	if o.defaultRegion != "" {
		return o.defaultRegion, nil
	}
	return "", usagef("no OCI region for profile %q: pass --region, e.g. --region us-ashburn-1 (it is remembered)", p.Name)
}

// ociExchanger exchanges the profile's fresh domain token for a UPST; it
// is called only when the session is due.
func (a *app) ociExchanger(p *config.Resolved) oci.Exchanger {
	return func(ctx context.Context, pub *rsa.PublicKey) (string, error) {
		t, _, err := a.freshToken(ctx, p)
		if err != nil {
			return "", err
		}
		c, err := a.clientWith(ctx, p, "")
		if err != nil {
			return "", err
		}
		if c.ClientSecret == "" {
			// The profile does not say its application is confidential
			// (a missing secret of a confidential one failed above).
			return "", publicApplication(p.Name, p.ClientID)
		}
		upst, err := oci.Exchange(ctx, oci.ExchangeRequest{
			HTTP: c.HTTP, TokenEndpoint: c.Metadata.TokenEndpoint,
			ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			SubjectToken: t.AccessToken, PublicKey: pub,
		})
		var refused *oci.RefusedError
		if errors.As(err, &refused) {
			return "", exchangeRefused(refused, p.Name, c.ClientID)
		}
		return upst, err
	}
}

// ociStatus lists every OCI session idcsctl made, from its records and the
// files, without the network.
func (a *app) ociStatus(ctx context.Context, doc *docWriter) error {
	dir, err := a.stateDir()
	if err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(dir, "oci", "*.json"))
	sort.Strings(files)
	keepersDir, err := a.ociKeepersDir()
	if err != nil {
		return err
	}
	keepers, err := oci.Keepers(keepersDir)
	if err != nil {
		return err
	}
	out := []ociSessionJSON{}
	for _, file := range files {
		recs, err := oci.LoadRecords(file)
		if err != nil {
			return err
		}
		profile := filepath.Base(file[:len(file)-len(".json")])
		for _, rec := range recs.Sessions {
			out = append(out, sessionJSON(profile, oci.Status(rec), keepers))
		}
	}
	if doc != nil {
		return doc.write(ctx, a.deps.Stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(a.deps.Stderr, "No OCI sessions; make one with `idcsctl oci session`.")
		return nil
	}
	now := a.deps.Now()
	tw := a.newTable(a.deps.Stdout, "SESSION", "PROFILE", "TENANCY", "REGION", "STATE", "OCI CONFIG")
	for _, s := range out {
		state := "expired"
		switch {
		case s.ExpiresAt == nil:
			state = "missing or unreadable"
		case now.Before(*s.ExpiresAt):
			state = "valid until " + a.when(*s.ExpiresAt)
		}
		for _, k := range s.KeptFreshBy {
			state += fmt.Sprintf(", kept fresh by %s (pid %d)", k.Command, k.PID)
		}
		tw.row(s.Name, s.Profile, firstOf(s.Tenancy, "unknown"), dash(s.Region), state, s.ConfigFile)
	}
	return tw.flush()
}

// regionWarning says that region is not one the OCI Go SDK knows, and
// which known region is nearest, or "" for a known region. A region newer
// than the SDK may be real, so it is a warning, never a refusal.
func regionWarning(region string) string {
	if oci.KnownRegion(region) {
		return ""
	}
	msg := fmt.Sprintf("the OCI Go SDK knows no region %q", region)
	if near := config.Suggest(region, oci.Regions()); len(near) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", near[0])
	}
	return msg + "; the oci CLI and the SDKs may not find its endpoints (`idcsctl oci session --region <TAB>` lists the known ones)"
}

// completeOCISessions offers the names of the OCI sessions the profile
// made, and its default session name.
func (a *app) completeOCISessions(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	f, err := a.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	profile, err := f.ProfileName(a.deps.Getenv, a.global.profile)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := []string{"idcsctl-" + profile}
	if path, err := a.ociRecordsPath(profile); err == nil {
		if recs, err := oci.LoadRecords(path); err == nil {
			for _, r := range recs.Sessions {
				names = append(names, r.Name)
			}
		}
	}
	slices.Sort(names)
	return withPrefix(slices.Compact(names), toComplete), cobra.ShellCompDirectiveNoFileComp
}

// withPrefix keeps the names that start with prefix.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
