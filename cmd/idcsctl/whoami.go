package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

type whoamiOptions struct {
	overrides config.Overrides
	source    string
	doc       docFlags
}

func newWhoamiCmd(a *app) *cobra.Command {
	o := &whoamiOptions{}
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who is signed in, on which domain, until when",
		Long: `Show the signed-in identity of the profile.

Sources:
  default   the verified ID token's claims, completed by the userinfo endpoint;
            when the domain cannot be asked, the ID token's alone, said on stderr
  id-token  the stored, verified ID token only (no network)
  userinfo  the provider's userinfo endpoint
  me        IDCS's SCIM /admin/v1/Me: user name, emails, groups (needs the
            urn:opc:idm:t.user.me scope; IDCS only)`,
		Example: `  idcsctl whoami
  idcsctl whoami --source me -o json
  idcsctl whoami --jq .user_name
  idcsctl whoami --template '{{.user_name}} until {{.expires_at}}'
  idcsctl whoami --source me --template '{{range .groups}}{{.}}{{"\n"}}{{end}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWhoami(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.source, "source", "default", "where the identity comes from: default, id-token, userinfo or me")
	addDocFlags(cmd, &o.doc)
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	_ = cmd.RegisterFlagCompletionFunc("source", cobra.FixedCompletions([]string{"default", "id-token", "userinfo", "me"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// whoamiJSON is the -o json shape of whoami; a documented contract.
type whoamiJSON struct {
	identity
	Source string   `json:"source"`
	Emails []string `json:"emails,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Active *bool    `json:"active,omitempty"`
}

func runWhoami(ctx context.Context, a *app, o *whoamiOptions) error {
	switch o.source {
	case "default", "id-token", "userinfo", "me":
	default:
		return usagef("--source must be default, id-token, userinfo or me, not %q", o.source)
	}
	doc, err := a.document(&o.doc, "whoami", whoamiJSON{})
	if err != nil {
		return err
	}
	_, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	var (
		t *store.Token
		m *session.Manager
		// offline is why the domain could not be asked, when whoami
		// answers from the stored ID token instead.
		offline error
	)
	if o.source == "id-token" {
		t, m, err = a.storedTokenOf(ctx, p) // no network, as its help says
	} else {
		t, m, err = a.freshToken(ctx, p)
	}
	if err != nil {
		st := a.answerOffline(ctx, o, m, p, err)
		if st == nil {
			return err
		}
		t, offline = st, err
	}
	if session.Rejected(t) {
		fmt.Fprintf(a.deps.Stderr, "Note: the domain rejected the refresh token of profile %q at %s: run %s before the access token expires (%s).\n",
			p.Name, session.Clock(t.RefreshRejectedAt, a.deps.Now()), loginCommandLine(p.Name), a.when(t.Expiry))
	}
	out := &whoamiJSON{identity: *summarize(p, m.Store.Name(), t), Source: o.source}
	if out.Email != "" {
		out.Emails = []string{out.Email}
	}
	switch {
	case offline != nil:
		a.sayOffline(out, offline)
	case o.source == "default", o.source == "userinfo":
		if o.source == "userinfo" {
			out.identity = identity{Profile: out.Profile, Domain: out.Domain, ClientID: out.ClientID, ExpiresAt: out.ExpiresAt, Store: out.Store, Scopes: out.Scopes, Grant: out.Grant}
		}
		info, err := a.withRetry(ctx, p, t, m.ForceRefresh, func(c *auth.Client, access string) (map[string]any, error) {
			return c.UserInfo(ctx, access)
		})
		if errors.Is(err, auth.ErrNoUserinfo) && o.source == "default" && t.IDToken != "" {
			// Userinfo is optional in OpenID Connect: the ID token,
			// verified when it was stored, is then all there is.
			fmt.Fprintln(a.deps.Stderr, "The provider has no userinfo endpoint: showing the claims of the ID token verified at sign-in.")
			out.Source = "id-token"
			break
		}
		if err != nil && o.source == "default" && t.IDToken != "" && exitCode(err) == exitError {
			a.sayOffline(out, err)
			break
		}
		if errors.Is(err, auth.ErrNoUserinfo) {
			return fmt.Errorf("read userinfo: %w; use --source id-token", err)
		}
		if err != nil {
			return fmt.Errorf("read userinfo: %w", err)
		}
		out.Subject = firstOf(out.Subject, claimString(info, "sub"))
		// summarize falls back to sub for the user name; an ID token with no
		// name claim (zitadel, and providers that keep profile claims for
		// userinfo) must not hide userinfo's preferred_username behind it.
		if out.UserName == out.Subject {
			out.UserName = ""
		}
		out.UserName = firstOf(out.UserName, claimString(info, "preferred_username"), out.Email, claimString(info, "email"), claimString(info, "sub"))
		out.DisplayName = firstOf(out.DisplayName, claimString(info, "name"))
		out.Email = firstOf(out.Email, claimString(info, "email"))
		if out.Email != "" && len(out.Emails) == 0 {
			out.Emails = []string{out.Email}
		}
	case o.source == "me":
		me, err := a.withRetry(ctx, p, t, m.ForceRefresh, func(c *auth.Client, access string) (map[string]any, error) {
			return a.scimMe(ctx, c, p, access)
		})
		if err != nil {
			return err
		}
		applyMe(out, me)
	}
	if doc != nil {
		return doc.write(ctx, a.deps.Stdout, out)
	}
	return writeWhoamiText(a.deps.Stdout, out, a.deps.Now())
}

// answerOffline is the stored token whoami answers from when the domain
// could not be asked (err) for the default source: one with an ID token,
// verified when it was stored. A sign-in that is needed, a usage error or
// Ctrl-C is no reason to answer from it: nil then.
func (a *app) answerOffline(ctx context.Context, o *whoamiOptions, m *session.Manager, p *config.Resolved, err error) *store.Token {
	if o.source != "default" || m == nil || exitCode(err) != exitError {
		return nil
	}
	t, lerr := m.Load(ctx)
	if lerr != nil || t.IDToken == "" || checkIssuedFor(t, p) != nil {
		return nil
	}
	return t
}

// sayOffline says in one line that the identity shown is the stored ID
// token's, and why the domain was not asked, in the words the one failure
// classifier gives the cause (explain): no fix, since nothing failed.
// "Offline" only when the domain could not be reached: a domain that
// answered with an error is not.
func (a *app) sayOffline(out *whoamiJSON, cause error) {
	what, _ := explain(cause)
	label := "Offline"
	if !isUnreachable(cause) {
		label = "The domain could not answer"
	}
	fmt.Fprintf(a.deps.Stderr, "%s: %s; showing the claims of the ID token verified at sign-in.\n", label, what)
	out.Source = "id-token"
}

// storedTokenOf is the profile's stored token as it is, checked to be the
// profile's domain's and client's, without refreshing it: what is known
// here without the network.
func (a *app) storedTokenOf(ctx context.Context, p *config.Resolved) (*store.Token, *session.Manager, error) {
	m, err := a.manager(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	t, err := m.Load(ctx)
	if err != nil {
		return nil, m, err
	}
	if err := checkIssuedFor(t, p); err != nil {
		return nil, m, err
	}
	return t, m, nil
}

// withRetry calls f with a client and the access token; when the provider
// says the token is no longer good it refreshes once and tries again.
func (a *app) withRetry(ctx context.Context, p *config.Resolved, t *store.Token,
	refresh func(context.Context, string) (*store.Token, error),
	f func(*auth.Client, string) (map[string]any, error)) (map[string]any, error) {
	c, err := a.client(ctx, p)
	if err != nil {
		return nil, err
	}
	v, err := f(c, t.AccessToken)
	if !errors.Is(err, auth.ErrUnauthorized) {
		return v, err
	}
	nt, rerr := refresh(ctx, t.AccessToken)
	if rerr != nil {
		return nil, rerr
	}
	return f(c, nt.AccessToken)
}

// errNoMe says the provider is not IDCS, so there is no /admin/v1/Me.
var errNoMe = errors.New("this provider has no IDCS /admin/v1/Me endpoint (it is not an IDCS identity domain); use --source userinfo")

// scimMe reads IDCS's SCIM view of the token's user.
func (a *app) scimMe(ctx context.Context, c *auth.Client, p *config.Resolved, access string) (map[string]any, error) {
	domain, err := requireDomain(p)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, domain+"/admin/v1/Me", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+access)
	req.Header.Set("Accept", "application/scim+json, application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read /admin/v1/Me: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("read /admin/v1/Me: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, fmt.Errorf("read /admin/v1/Me: %w", auth.ErrUnauthorized)
	case resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("read /admin/v1/Me: the domain refused (403: %s); the token needs the scope urn:opc:idm:t.user.me, so add it to the profile's scopes and run `idcsctl login`", scimDetail(body, access))
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return nil, errNoMe
	case resp.StatusCode >= 300:
		return nil, fmt.Errorf("read /admin/v1/Me: HTTP %d: %s", resp.StatusCode, scimDetail(body, access))
	}
	var me map[string]any
	if err := json.Unmarshal(body, &me); err != nil {
		return nil, fmt.Errorf("read /admin/v1/Me: the answer is not JSON (%s): %w", resp.Header.Get("Content-Type"), errNoMe)
	}
	return me, nil
}

// scimDetail takes the human part of a SCIM error body, with the access
// token the request carried redacted and terminal escapes removed: the
// provider wrote it.
func scimDetail(body []byte, access string) string {
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil && e.Detail != "" {
		return auth.Printable(auth.Redact(e.Detail, access), 300)
	}
	return "no detail"
}

func applyMe(out *whoamiJSON, me map[string]any) {
	out.UserName = firstOf(claimString(me, "userName"), out.UserName)
	out.DisplayName = firstOf(claimString(me, "displayName"), out.DisplayName)
	out.UserID = firstOf(claimString(me, "id"), out.UserID)
	if emails, ok := me["emails"].([]any); ok {
		out.Emails = nil
		for _, e := range emails {
			em, _ := e.(map[string]any)
			if v := claimString(em, "value"); v != "" && !slices.Contains(out.Emails, v) {
				out.Emails = append(out.Emails, v)
				if b, _ := em["primary"].(bool); b || out.Email == "" {
					out.Email = v
				}
			}
		}
	}
	if groups, ok := me["groups"].([]any); ok {
		for _, g := range groups {
			gm, _ := g.(map[string]any)
			if v := firstOf(claimString(gm, "display"), claimString(gm, "value")); v != "" {
				out.Groups = append(out.Groups, v)
			}
		}
	}
	if act, ok := me["active"].(bool); ok {
		out.Active = &act
	}
}

func writeWhoamiText(w io.Writer, o *whoamiJSON, now time.Time) error {
	var b strings.Builder
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-14s %s\n", k+":", v)
		}
	}
	row("User", o.UserName)
	row("Display name", o.DisplayName)
	row("Email", strings.Join(o.Emails, ", "))
	row("Subject", o.Subject)
	row("User id", o.UserID)
	row("Groups", strings.Join(o.Groups, ", "))
	row("Domain", o.Domain)
	row("Client", o.ClientID)
	row("Profile", o.Profile)
	if o.ExpiresAt != nil {
		row("Expires", formatWhen(*o.ExpiresAt, now))
	}
	row("Scopes", strings.Join(o.Scopes, " "))
	row("Token store", o.Store)
	_, err := io.WriteString(w, b.String())
	return err
}
