package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

// doctorTimeout bounds the network checks, so a hung domain is reported
// rather than waited for.
const doctorTimeout = 15 * time.Second

// Check outcomes; the JSON output uses them as they are.
const (
	checkOK   = "ok"
	checkWarn = "warn"
	checkFail = "fail"
)

type doctorOptions struct {
	overrides config.Overrides
	doc       docFlags
}

func newDoctorCmd(a *app) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what sign-in needs here and say how to fix what is wrong",
		Long: `Check, for the profile, everything a sign-in depends on: the config file and
profile, whether the domain's discovery document can be read (network, proxy,
CA), the redirect URIs to register in the IDCS application and whether their
ports are free, the OS keyring (D-Bus, Secret Service, locked), the stored
tokens, the client secret, and whether a browser can open here (display, WSL,
SSH). Each check is OK, WARN or FAIL, with a fix. Below the checks it lists
the redirect URIs to register, and the post-logout redirect URLs
(http://127.0.0.1:PORT/signed-out) that logout --browser needs.

Exits 1 when any check fails.`,
		Example: `  idcsctl doctor
  idcsctl doctor -p work -o json
  idcsctl doctor --jq '.checks[] | select(.status != "ok") | .fix'
  idcsctl doctor --domain https://idcs-1234.identity.oraclecloud.com --client-id 0a1b2c...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDoctor(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.overrides.Domain, "domain", "", "identity domain URL to check instead of the profile's (env IDCSCTL_DOMAIN)")
	f.StringVar(&o.overrides.ClientID, "client-id", "", "client id to check instead of the profile's (env IDCSCTL_CLIENT_ID)")
	f.IntSliceVar(&o.overrides.Ports, "port", nil, "loopback port(s) to check instead of the profile's")
	f.StringVar(&o.overrides.RedirectURL, "redirect-url", "", "redirect URI to check instead of the profile's")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	f.StringVar(&o.overrides.CAFile, "ca-file", "", "PEM file of an extra CA to trust instead of the profile's")
	addDocFlags(cmd, &o.doc)
	return cmd
}

// check is one line of the report; field names are a documented contract.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctorReport is doctor's -o json document.
type doctorReport struct {
	OK           bool     `json:"ok"`
	Profile      string   `json:"profile,omitempty"`
	Config       string   `json:"config,omitempty"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// PostLogoutURIs are where the domain sends the browser back after
	// logout --browser: the application's post-logout redirect URLs.
	PostLogoutURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Checks         []check  `json:"checks"`
}

func (r *doctorReport) add(name, status, detail, fix string) {
	r.Checks = append(r.Checks, check{Name: name, Status: status, Detail: detail, Fix: fix})
}

func runDoctor(ctx context.Context, a *app, o *doctorOptions) error {
	doc, err := a.document(&o.doc, "doctor", doctorReport{})
	if err != nil {
		return err
	}
	r := &doctorReport{}
	p, err := a.doctorProfile(r, o)
	if err != nil {
		return err
	}
	if p != nil {
		r.Profile = p.Name
		if domain, ok := a.checkProfile(r, p); ok {
			a.checkDiscovery(ctx, r, p, domain)
		}
		a.checkRedirect(r, p)
		a.checkKeyring(ctx, r, p)
		a.checkTokens(ctx, r, p)
		a.checkSecret(ctx, r, p)
		a.checkOCI(ctx, r, p)
		a.checkCA(r, p)
	}
	a.checkBrowser(r)
	a.checkProxy(r)

	failed, warned := 0, 0
	for _, c := range r.Checks {
		switch c.Status {
		case checkFail:
			failed++
		case checkWarn:
			warned++
		}
	}
	r.OK = failed == 0
	if doc != nil {
		if err := doc.write(ctx, a.deps.Stdout, r); err != nil {
			return err
		}
	} else if err := a.writeDoctorText(a.deps.Stdout, r, failed, warned); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d checks failed", errSilent, failed)
	}
	return nil
}

// writeText prints the report as a table with the fixes under the checks.
func (a *app) writeDoctorText(w io.Writer, r *doctorReport, failed, warned int) error {
	tw := a.newTable(w, "STATUS", "CHECK", "DETAIL")
	for _, c := range r.Checks {
		tw.row(strings.ToUpper(c.Status), c.Name, c.Detail)
		if c.Fix != "" {
			tw.row("", "", "fix: "+c.Fix)
		}
	}
	if err := tw.flush(); err != nil {
		return err
	}
	if len(r.RedirectURIs) > 0 {
		fmt.Fprintln(w, "\nRedirect URIs to register in the IDCS application:")
		for _, u := range r.RedirectURIs {
			fmt.Fprintf(w, "  %s\n", u)
		}
	}
	if len(r.PostLogoutURIs) > 0 {
		fmt.Fprintln(w, "\nPost-logout redirect URLs to register, for `idcsctl logout --browser`:")
		for _, u := range r.PostLogoutURIs {
			fmt.Fprintf(w, "  %s\n", u)
		}
	}
	switch {
	case failed > 0:
		_, err := fmt.Fprintf(w, "\n%s failed, %s.\n", plural(failed, "check"), plural(warned, "warning"))
		return err
	case warned > 0:
		_, err := fmt.Fprintf(w, "\nNo check failed; %s.\n", plural(warned, "warning"))
		return err
	}
	_, err := fmt.Fprintln(w, "\nEverything a sign-in needs is in place.")
	return err
}

// plural is "1 check", "2 checks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// doctorProfile loads the config and resolves the profile, or reports why
// it cannot. A profile that does not exist is not a check that fails but a
// mistyped name, answered as every command answers it (exit 2).
func (a *app) doctorProfile(r *doctorReport, o *doctorOptions) (*config.Resolved, error) {
	path, err := a.configPath()
	if err != nil {
		r.add("config", checkFail, err.Error(), "set IDCSCTL_CONFIG or --config to a file path")
		return nil, nil
	}
	r.Config = path
	f, err := config.Load(path)
	if err != nil {
		r.add("config", checkFail, err.Error(), "correct the file at the line named, or move it away and sign in again")
		return nil, nil
	}
	detail := fmt.Sprintf("%s (%d profiles)", path, len(f.Profiles))
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		detail = path + " does not exist yet; the first login with --domain and --client-id writes it"
	}
	r.add("config", checkOK, detail, "")
	ov := o.overrides
	ov.Profile = a.global.profile
	p, err := f.Resolve(a.deps.Getenv, ov)
	if err != nil {
		r.add("profile", checkFail, err.Error(), "correct the profile in the config file")
		return nil, nil
	}
	if err := a.checkExists(f, p); err != nil {
		return nil, err
	}
	return p, nil
}

// checkProfile reports whether the profile names a domain and a client.
func (a *app) checkProfile(r *doctorReport, p *config.Resolved) (string, bool) {
	domain, err := requireDomain(p)
	if err != nil {
		fix := "pass --domain https://idcs-<id>.identity.oraclecloud.com and --client-id ID, or sign in once with them"
		if p.Domain != "" && p.ClientID != "" {
			fix = "use the domain URL of the identity domain, https://idcs-<id>.identity.oraclecloud.com"
		}
		r.add("profile", checkFail, err.Error(), fix)
		return "", false
	}
	src := "from the config file"
	if !p.InFile {
		src = "not saved yet"
	}
	r.add("profile", checkOK, fmt.Sprintf("%q: %s, client %s (%s)", p.Name, domain, p.ClientID, src), "")
	return domain, true
}

// checkDiscovery reads the discovery document afresh, never from the cache,
// since the point is whether the domain answers now.
func (a *app) checkDiscovery(ctx context.Context, r *doctorReport, p *config.Resolved, domain string) {
	hc, err := a.httpClient(p)
	if err != nil {
		r.add("discovery", checkFail, err.Error(), "correct --ca-file or ca_file in the profile")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, doctorTimeout)
	defer cancel()
	md, err := (&auth.Discoverer{HTTP: auth.BoundedClient(hc, p.NetworkTimeout), Now: a.deps.Now}).Discover(ctx, domain)
	if err != nil {
		what, fix := explain(err)
		if fix == "" {
			fix = "check the domain URL: it is the identity domain's own URL, https://idcs-<id>.identity.oraclecloud.com"
		}
		r.add("discovery", checkFail, what, fix)
		return
	}
	c := &auth.Client{Metadata: md, ClientID: p.ClientID, HTTP: hc, Domain: domain}
	detail := "reachable; issuer " + md.Issuer
	if c.IsIDCS(ctx) {
		detail += " (an IDCS identity domain)"
	}
	if _, err := c.DeviceEndpoint(ctx); err == nil {
		detail += "; offers device code sign-in (--device)"
	}
	r.add("discovery", checkOK, detail, "")
	a.checkScopes(ctx, r, p, c)
}

// checkScopes warns about scopes the profile asks for that the provider's
// discovery document does not list: a provider may refuse the whole
// sign-in for one (invalid_scope). IDCS lists few of the scopes it grants,
// so its urn:opc: scopes are not reported on IDCS.
func (a *app) checkScopes(ctx context.Context, r *doctorReport, p *config.Resolved, c *auth.Client) {
	scopes := p.Scopes
	if p.ScopesDefaulted && !c.IsIDCS(ctx) {
		scopes = c.Metadata.DefaultScopes(p.Scopes)
	}
	unlisted := c.UnlistedScopes(ctx, scopes)
	if len(unlisted) == 0 {
		r.add("scopes", checkOK, strings.Join(scopes, " "), "")
		return
	}
	r.add("scopes", checkWarn,
		fmt.Sprintf("the profile asks for %s, which the domain's discovery document does not list (it lists %s)", strings.Join(unlisted, " "), strings.Join(c.Metadata.ScopesSupported, " ")),
		"the provider may refuse the sign-in with invalid_scope: set the profile's scopes to ones it lists (scopes = [...] in the config file, or --scopes)")
}

// checkRedirect lists the redirect URIs to register and says whether their
// ports are free now.
func (a *app) checkRedirect(r *doctorReport, p *config.Resolved) {
	r.RedirectURIs = redirectURIs(p)
	r.PostLogoutURIs = postLogoutURIs(p)
	host, ports, err := redirectPorts(p)
	if err != nil {
		r.add("redirect", checkFail, err.Error(), "use a redirect URI like http://127.0.0.1:8000/callback")
		return
	}
	var busy []string
	for _, port := range ports {
		if port == 0 {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			busy = append(busy, strconv.Itoa(port))
			continue
		}
		ln.Close()
	}
	detail := fmt.Sprintf("%s to register (listed below)", plural(len(r.RedirectURIs), "redirect URI"))
	switch {
	case len(busy) == 0:
		free := "; their ports are free"
		if len(ports) == 1 {
			free = "; its port is free"
		}
		r.add("redirect", checkOK, detail+free, "")
	case len(busy) < len(ports):
		r.add("redirect", checkWarn, fmt.Sprintf("%s; port %s is in use now, so login will use the next one", detail, strings.Join(busy, ", ")),
			"stop the program on that port, or leave it: the next port works if its redirect URI is registered")
	default:
		r.add("redirect", checkFail, fmt.Sprintf("%s; every port is in use now: %s", detail, strings.Join(busy, ", ")),
			"stop the program that holds one, or pass --port N with a free port and register http://127.0.0.1:N/callback")
	}
}

// postLogoutURIs are the post-logout redirect URLs logout --browser may
// send, as auth.SignOut makes them: the path auth.PostLogoutPath on each
// host and port of the sign-in redirect.
func postLogoutURIs(p *config.Resolved) []string {
	if p.RedirectURL != "" {
		u, err := url.Parse(p.RedirectURL)
		if err != nil || u.Port() == "0" {
			return nil
		}
		u.Path, u.RawPath = auth.PostLogoutPath, ""
		return []string{u.String()}
	}
	var out []string
	for _, port := range p.RedirectPorts {
		if port > 0 {
			out = append(out, fmt.Sprintf("http://127.0.0.1:%d%s", port, auth.PostLogoutPath))
		}
	}
	return out
}

// redirectPorts is where login listens: the redirect URI's host and port,
// or 127.0.0.1 and the profile's ports.
func redirectPorts(p *config.Resolved) (string, []int, error) {
	if p.RedirectURL == "" {
		return "127.0.0.1", p.RedirectPorts, nil
	}
	u, err := url.Parse(p.RedirectURL)
	if err != nil || u.Scheme != "http" || u.Port() == "" {
		return "", nil, fmt.Errorf("the redirect URI %q is not http://HOST:PORT/PATH on a loopback host", p.RedirectURL)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return "", nil, fmt.Errorf("the redirect URI %q has no valid port", p.RedirectURL)
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	return host, []int{port}, nil
}

// checkKeyring asks the OS keyring for the profile's entry: an answer,
// found or not, means it works; an *store.UnavailableError says why not.
// How bad that is depends on whether the profile keeps its tokens there.
func (a *app) checkKeyring(ctx context.Context, r *doctorReport, p *config.Resolved) {
	dir, err := a.stateDir()
	if err != nil {
		r.add("keyring", checkFail, err.Error(), "set IDCSCTL_CONFIG to a file path")
		return
	}
	kind, _ := store.ParseKind(p.TokenStore)
	kr := store.NewKeyring(store.Options{Dir: dir, Keyring: a.deps.Keyring})
	_, err = kr.Load(ctx, p.Name)
	var (
		u       *store.UnavailableError
		corrupt *store.CorruptError
	)
	switch {
	case err == nil:
		r.add("keyring", checkOK, fmt.Sprintf("the OS keyring answers and holds the tokens of profile %q", p.Name), "")
	case errors.Is(err, store.ErrNotFound):
		r.add("keyring", checkOK, "the OS keyring answers", "")
	case errors.As(err, &corrupt):
		r.add("keyring", checkWarn, err.Error(), fmt.Sprintf("run `idcsctl logout -p %s`, then sign in again", p.Name))
	case errors.As(err, &u):
		switch kind {
		case store.KindKeyring:
			r.add("keyring", checkFail, "unavailable: "+u.Reason+"; the profile keeps its tokens there", u.Fix)
		case store.KindAuto:
			r.add("keyring", checkWarn, "unavailable: "+u.Reason+"; tokens go to a private file instead", u.Fix)
		default:
			r.add("keyring", checkOK, fmt.Sprintf("not used (token store %s); it would not answer: %s", kind, u.Reason), "")
		}
	default:
		r.add("keyring", checkFail, err.Error(), "use --token-store file")
	}
}

// checkTokens says whether the profile is signed in, without the network.
func (a *app) checkTokens(ctx context.Context, r *doctorReport, p *config.Resolved) {
	kind, err := store.ParseKind(p.TokenStore)
	if err != nil {
		r.add("tokens", checkFail, err.Error(), "set token_store to auto, keyring, file or none")
		return
	}
	dir, err := a.stateDir()
	if err != nil {
		r.add("tokens", checkFail, err.Error(), "")
		return
	}
	st, err := store.Open(ctx, kind, store.Options{Dir: dir, Keyring: a.deps.Keyring})
	if err != nil {
		r.add("tokens", checkFail, err.Error(), "use --token-store file")
		return
	}
	t, err := st.Load(ctx, p.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		r.add("tokens", checkWarn, fmt.Sprintf("profile %q is not signed in (store %s)", p.Name, st.Name()), loginFix(p.Name))
	case err != nil:
		r.add("tokens", checkFail, err.Error(), loginFix(p.Name))
	default:
		sum := summarize(p, st.Name(), t)
		detail := fmt.Sprintf("signed in as %s (store %s); access token valid until %s", sum.displayUser(), st.Name(), a.when(t.Expiry))
		expired := !t.Expiry.IsZero() && !a.deps.Now().Before(t.Expiry)
		if session.Rejected(t) {
			rejected := fmt.Sprintf("the domain rejected the refresh token at %s", session.Clock(t.RefreshRejectedAt, a.deps.Now()))
			if expired {
				r.add("tokens", checkWarn, fmt.Sprintf("profile %q: %s (%s; the access token expired at %s)", p.Name, session.SignInNeededSince(t.RefreshRejectedAt, a.deps.Now()), rejected, a.when(t.Expiry)), loginFix(p.Name))
				return
			}
			r.add("tokens", checkWarn, detail+"; "+rejected+", so it will not be renewed", loginFix(p.Name)+" before the access token expires")
			return
		}
		if expired {
			detail = fmt.Sprintf("signed in as %s (store %s); the access token expired at %s", sum.displayUser(), st.Name(), a.when(t.Expiry))
			if t.RefreshToken == "" && t.Grant != session.GrantClientCredentials {
				r.add("tokens", checkWarn, detail+" and cannot be refreshed", loginFix(p.Name))
				return
			}
			detail += " and will be renewed on next use"
		}
		r.add("tokens", checkOK, detail, "")
	}
}

// checkSecret says where a confidential application's secret comes from,
// or that it is missing, without showing it.
func (a *app) checkSecret(ctx context.Context, r *doctorReport, p *config.Resolved) {
	if a.deps.Getenv(config.EnvClientSecret) != "" {
		r.add("client secret", checkOK, "from "+config.EnvClientSecret, "")
		return
	}
	secret, err := a.clientSecret(ctx, p)
	var missing *missingSecretError
	switch {
	case errors.As(err, &missing):
		fix := secretFix(p.Name)
		detail := fmt.Sprintf("missing: profile %q uses the confidential application %s, and %s is not set and no secret is kept for it", p.Name, p.ClientID, config.EnvClientSecret)
		if missing.cause != nil {
			detail = fmt.Sprintf("unreadable: the kept secret of the confidential application %s cannot be read now (%v)", p.ClientID, missing.cause)
		}
		r.add("client secret", checkFail, detail, fix)
	case err != nil:
		r.add("client secret", checkFail, err.Error(), "")
	case secret == "":
		r.add("client secret", checkOK, "none: a public application (a confidential one needs "+config.EnvClientSecret+" or login --client-secret-stdin --save-secret)", "")
	default:
		where := "kept beside the tokens"
		if st, err := a.secretStore(ctx, p); err == nil {
			where = "kept in " + st.Where(p.Name)
		}
		r.add("client secret", checkOK, where, "")
	}
}

// checkCA reports the extra CA of the profile.
func (a *app) checkCA(r *doctorReport, p *config.Resolved) {
	if p.CAFile == "" {
		r.add("ca", checkOK, "the system's trusted CAs (no ca_file)", "")
		return
	}
	data, err := os.ReadFile(p.CAFile)
	if err != nil {
		r.add("ca", checkFail, fmt.Sprintf("cannot read ca_file %s: %v", p.CAFile, err), "correct --ca-file or ca_file in the profile")
		return
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		r.add("ca", checkFail, fmt.Sprintf("ca_file %s holds no PEM certificate", p.CAFile), "export the CA as PEM (-----BEGIN CERTIFICATE-----)")
		return
	}
	r.add("ca", checkOK, fmt.Sprintf("the system's trusted CAs and %s", p.CAFile), "")
}

// checkBrowser says what login will do to show the sign-in page here.
func (a *app) checkBrowser(r *doctorReport) {
	op := a.opener("")
	ssh := a.sshDestination()
	launcher, err := op.Launcher()
	switch {
	case err != nil && ssh != "":
		r.add("browser", checkWarn, "none will open: "+strings.TrimPrefix(err.Error(), "no browser to open: "),
			fmt.Sprintf("login prints the URL and the line that forwards its port (ssh -L PORT:127.0.0.1:PORT %s); or sign in with login --paste or --device", ssh))
	case err != nil:
		r.add("browser", checkWarn, "none will open: "+strings.TrimPrefix(err.Error(), "no browser to open: "),
			"login prints the URL to open by hand; or set BROWSER, or sign in with login --paste or --device")
	case op.Env.IsWSL:
		r.add("browser", checkOK, "WSL: opens the Windows browser with "+launcher, "")
	case launcher == "":
		r.add("browser", checkOK, "opens the system's default browser", "")
	default:
		r.add("browser", checkOK, "opens with "+launcher, "")
	}
}

// checkProxy reports the proxy variables and whether requests to the
// profile's domain go through one. Proxy URLs may hold a password, so they
// are shown redacted.
func (a *app) checkProxy(r *doctorReport) {
	var set []string
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"} {
		if v := a.deps.Getenv(k); v != "" {
			if u, err := url.Parse(v); err == nil && u.User != nil {
				v = u.Redacted()
			}
			set = append(set, k+"="+v)
		}
	}
	if len(set) == 0 {
		r.add("proxy", checkOK, "no proxy variables: requests go direct", "")
		return
	}
	r.add("proxy", checkOK, strings.Join(set, " "), "")
}
