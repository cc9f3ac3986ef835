package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

type statusOptions struct {
	tokenStore string
	doc        docFlags
}

func newStatusCmd(a *app) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every profile: signed in or not, who, until when",
		Long: `Show every profile of the config file (and the one chosen by flags or
environment): whether it is signed in, as whom, until when, and where its
tokens are kept. It uses no network and never prints a token.
--token-store looks for every profile's tokens in that store, as it does
for the other commands.`,
		Example: `  idcsctl status
  idcsctl status --jq '.profiles[] | select(.signed_in) | .name'
  idcsctl status --template '{{range .profiles}}{{.name}} {{.expires_at}}{{"\n"}}{{end}}'
  idcsctl status --token-store file`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), a, o)
		},
	}
	addTokenStoreFlag(cmd, &o.tokenStore)
	addDocFlags(cmd, &o.doc)
	return cmd
}

// statusJSON is status's -o json document; a documented contract.
type statusJSON struct {
	Profiles []profileStatus `json:"profiles"`
}

// profileStatus is one profile in status's -o json; a documented contract.
type profileStatus struct {
	Name        string `json:"name"`
	Default     bool   `json:"default"`
	Domain      string `json:"domain,omitempty"`
	ClientID    string `json:"client_id,omitempty"`
	SignedIn    bool   `json:"signed_in"`
	Expired     bool   `json:"expired"`
	Refreshable bool   `json:"refreshable"`
	// SignInNeeded: only `idcsctl login` gets this profile a working token
	// (signed out, or expired with no way to renew it).
	SignInNeeded bool `json:"sign_in_needed"`
	// RefreshRejectedAt is when the domain rejected the refresh token; a
	// sign-in is needed from then on, once the access token expires.
	RefreshRejectedAt *time.Time `json:"refresh_rejected_at,omitempty"`
	UserName          string     `json:"user_name,omitempty"`
	DisplayName       string     `json:"display_name,omitempty"`
	ExpiresAt         *time.Time `json:"expires_at,omitempty"`
	Store             string     `json:"store"`
	Error             string     `json:"error,omitempty"`
}

func runStatus(ctx context.Context, a *app, o *statusOptions) error {
	// A mistyped flag is the command line's fault, not one profile's row.
	if _, err := store.ParseKind(o.tokenStore); err != nil {
		return &usageError{fmt.Errorf("--token-store: %w", err)}
	}
	doc, err := a.document(&o.doc, "status", statusJSON{})
	if err != nil {
		return err
	}
	f, cur, err := a.resolve(config.Overrides{TokenStore: o.tokenStore})
	if err != nil {
		return err
	}
	names := f.Names()
	// The profile in use gets a row when it exists outside the file (flags,
	// environment, tokens alone); "default" with none of these is no
	// profile at all, and a row for it would contradict profile list.
	if !slices.Contains(names, cur.Name) && a.exists(cur) {
		names = append(names, cur.Name)
	}
	stores := map[string]store.Store{}
	out := []profileStatus{} // [] rather than null when there is none
	for _, name := range names {
		p, err := f.Resolve(a.deps.Getenv, config.Overrides{Profile: name, TokenStore: o.tokenStore})
		if err != nil {
			out = append(out, profileStatus{Name: name, Error: err.Error()})
			continue
		}
		s := profileStatus{Name: name, Default: name == cur.Name, Domain: p.Domain, ClientID: p.ClientID, Store: p.TokenStore}
		st, ok := stores[p.TokenStore]
		if !ok {
			st, err = a.openStore(ctx, p)
			if err != nil {
				s.Error = err.Error()
				out = append(out, s)
				continue
			}
			stores[p.TokenStore] = st
		}
		s.Store = st.Name()
		t, err := st.Load(ctx, name)
		switch {
		case isNotFound(err):
		case err != nil:
			s.Error = err.Error()
		default:
			id := summarize(p, st.Name(), t)
			s.SignedIn = true
			s.UserName = id.UserName
			s.DisplayName = id.DisplayName
			s.ExpiresAt = id.ExpiresAt
			s.Expired = !t.Expiry.IsZero() && !a.deps.Now().Before(t.Expiry)
			// A client credentials token is renewed by its grant, with no
			// refresh token.
			s.Refreshable = (t.RefreshToken != "" && !session.Rejected(t)) || t.Grant == session.GrantClientCredentials
			s.RefreshRejectedAt = jsonTime(t.RefreshRejectedAt)
		}
		s.SignInNeeded = s.Error == "" && (!s.SignedIn || (s.Expired && !s.Refreshable))
		out = append(out, s)
	}
	if doc != nil {
		return doc.write(ctx, a.deps.Stdout, statusJSON{out})
	}
	if len(out) == 0 {
		// As profile list says it: an empty table would look like an error.
		fmt.Fprintln(a.deps.Stderr, "No profiles yet: `idcsctl login --domain https://idcs-<id>.identity.oraclecloud.com --client-id ID` creates one.")
		return nil
	}
	return a.writeStatusText(a.deps.Stdout, out, a.deps.Now())
}

func (a *app) writeStatusText(w io.Writer, rows []profileStatus, now time.Time) error {
	tw := a.newTable(w, "PROFILE", "STATE", "USER", "EXPIRES", "STORE", "DOMAIN")
	for _, r := range rows {
		name := r.Name
		if r.Default {
			name = "* " + name
		}
		state := "signed out"
		switch {
		case r.Error != "":
			state = "error: " + r.Error
		case r.SignedIn && r.RefreshRejectedAt != nil && r.Expired:
			state = session.SignInNeededSince(*r.RefreshRejectedAt, now) + " (" + loginCommandLine(r.Name) + ")"
		case r.SignedIn && r.RefreshRejectedAt != nil:
			state = "signed in; refresh rejected at " + session.Clock(*r.RefreshRejectedAt, now) + " (" + loginCommandLine(r.Name) + " before it expires)"
		case r.SignedIn && r.Expired && r.Refreshable:
			state = "expired (refreshable)"
		case r.SignedIn && r.Expired:
			state = "expired"
		case r.SignedIn:
			state = "signed in"
		}
		exp := "-"
		if r.ExpiresAt != nil {
			exp = formatWhen(*r.ExpiresAt, now)
		}
		user := (&identity{UserName: r.UserName, DisplayName: r.DisplayName}).displayUser()
		if !r.SignedIn {
			user = "-"
		}
		tw.row(name, state, user, exp, r.Store, dash(r.Domain))
	}
	return tw.flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
