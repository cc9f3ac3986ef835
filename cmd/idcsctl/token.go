package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

type tokenOptions struct {
	overrides    config.Overrides
	idToken      bool
	margin       time.Duration
	forceRefresh bool
	scopes       []string
	doc          docFlags
}

func newTokenCmd(a *app) *cobra.Command {
	o := &tokenOptions{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a fresh access token for scripts",
		Long: `Print the profile's access token alone on stdout, refreshing it first when it
expires within the margin. Many processes may call this at once: one of them
refreshes, the others wait for it and print the new token.

--force-refresh refreshes it now, however long it has yet to live.
--scope asks for a token with a narrower set of the profile's scopes, traded
for the profile's refresh token without a new sign-in; it is kept apart from
the profile's own token, so both stay usable.

Exits 4 when there is no usable token and no way to get one without you:
run idcsctl login.`,
		Example: `  curl -H "Authorization: Bearer $(idcsctl token)" https://api.example.com/orders
  idcsctl token -o json        # {"access_token": ..., "token_type": ..., "expires_at": ...}
  idcsctl token --jq .expires_at
  idcsctl token --force-refresh
  idcsctl token --scope urn:opc:idm:t.user.me`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runToken(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.idToken, "id-token", false, "print the ID token instead of the access token")
	f.DurationVar(&o.margin, "margin", 60*time.Second, "refresh when the access token expires within this long")
	f.BoolVar(&o.forceRefresh, "force-refresh", false, "refresh the token now, even if it is still valid")
	f.StringSliceVar(&o.scopes, "scope", nil, "get a token with only these of the profile's scopes (repeat the flag or separate with commas); kept apart from the profile's token")
	f.DurationVar(&o.overrides.Timeout, "timeout", 0, "give up a refresh (the wait for the profile lock included) after this long, exit 1 (default: the profile's timeout, else 30s)")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	addDocFlags(cmd, &o.doc)
	return cmd
}

// tokenJSON is the -o json shape of token; a documented contract.
type tokenJSON struct {
	AccessToken string     `json:"access_token,omitempty"`
	IDToken     string     `json:"id_token,omitempty"`
	TokenType   string     `json:"token_type"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Scopes      []string   `json:"scopes,omitempty"`
}

func runToken(ctx context.Context, a *app, o *tokenOptions) error {
	if o.margin < 0 {
		return usagef("--margin must not be negative")
	}
	if len(o.scopes) > 0 && o.idToken {
		return usagef("--scope narrows the access token; the ID token has no scopes: drop one of --scope and --id-token")
	}
	for _, s := range o.scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return usagef("--scope: %q is not a scope", s)
		}
	}
	if o.overrides.Timeout < 0 {
		return usagef("--timeout must not be negative")
	}
	// Nothing to parse on the cached path unless --jq or --template asks.
	doc, err := a.document(&o.doc, "token", tokenJSON{})
	if err != nil {
		return err
	}
	_, p, err := a.resolve(o.overrides)
	if err != nil {
		return err
	}
	var t *store.Token
	switch {
	case len(o.scopes) > 0:
		t, err = a.scopedToken(ctx, p, o.scopes, o.margin, o.forceRefresh)
	case o.forceRefresh:
		t, err = a.refreshedToken(ctx, p)
	default:
		t, _, err = a.freshTokenWithMargin(ctx, p, o.margin)
	}
	if err != nil {
		return err
	}
	if o.idToken && t.IDToken == "" {
		return fmt.Errorf("profile %q has no ID token (it signed in with a grant that issues none); run `idcsctl login`", p.Name)
	}
	if doc != nil {
		out := tokenJSON{TokenType: firstOf(t.TokenType, "Bearer"), ExpiresAt: jsonTime(t.Expiry)}
		if o.idToken {
			out.IDToken = t.IDToken
			out.TokenType = "id_token"
			out.ExpiresAt = nil
		} else {
			out.AccessToken = t.AccessToken
			out.Scopes = strings.Fields(t.Scope)
		}
		return doc.write(ctx, a.deps.Stdout, out)
	}
	v := t.AccessToken
	if o.idToken {
		v = t.IDToken
	}
	_, err = fmt.Fprintln(a.deps.Stdout, v)
	return err
}

// scopedToken is the profile's token narrowed to scopes (token --scope).
func (a *app) scopedToken(ctx context.Context, p *config.Resolved, scopes []string, margin time.Duration, force bool) (*store.Token, error) {
	m, err := a.manager(ctx, p)
	if err != nil {
		return nil, err
	}
	m.Margin = margin
	scoped, err := a.scopedStore(ctx, p)
	if err != nil {
		return nil, err
	}
	t, err := m.ScopedToken(ctx, scoped, scopes, force)
	var serr *session.ScopeError
	if errors.As(err, &serr) {
		return nil, &usageError{err}
	}
	if err != nil {
		return nil, err
	}
	if err := checkIssuedFor(t, p); err != nil {
		return nil, err
	}
	return t, nil
}

// scopedService is the keyring service of scoped tokens, apart from the
// profiles' own entries so that neither is mistaken for the other.
const scopedService = "idcsctl-scoped"

// scopedStore keeps the profile's tokens of narrower scopes (token --scope)
// in the kind of store the profile names, in a folder of the profile's own
// so that logout finds and forgets them all.
func (a *app) scopedStore(ctx context.Context, p *config.Resolved) (store.Store, error) {
	// No Warn: the profile's own store has told of a keyring fallback.
	return a.openStoreOf(ctx, p, func(dir string) store.Options {
		return store.Options{Dir: filepath.Join(dir, "scoped", p.Name), Service: scopedService}
	})
}
