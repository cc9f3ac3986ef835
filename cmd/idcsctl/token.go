package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
)

type tokenOptions struct {
	overrides config.Overrides
	idToken   bool
	margin    time.Duration
}

func newTokenCmd(a *app) *cobra.Command {
	o := &tokenOptions{}
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print a fresh access token for scripts",
		Long: `Print the profile's access token alone on stdout, refreshing it first when it
expires within the margin. Many processes may call this at once: one of them
refreshes, the others wait for it and print the new token.

Exits 4 when there is no usable token and no way to get one without you:
run idcsctl login.`,
		Example: `  curl -H "Authorization: Bearer $(idcsctl token)" https://api.example.com/orders
  idcsctl token -o json        # {"access_token": ..., "token_type": ..., "expires_at": ...}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runToken(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.idToken, "id-token", false, "print the ID token instead of the access token")
	f.DurationVar(&o.margin, "margin", 60*time.Second, "refresh when the access token expires within this long")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	return cmd
}

// tokenJSON is the -o json shape of token; a documented contract.
type tokenJSON struct {
	AccessToken string     `json:"access_token,omitempty"`
	IDToken     string     `json:"id_token,omitempty"`
	TokenType   string     `json:"token_type"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
}

func runToken(ctx context.Context, a *app, o *tokenOptions) error {
	if o.margin < 0 {
		return usagef("--margin must not be negative")
	}
	_, p, err := a.resolveExisting(o.overrides)
	if err != nil {
		return err
	}
	t, _, err := a.freshTokenWithMargin(ctx, p, o.margin)
	if err != nil {
		return err
	}
	if o.idToken && t.IDToken == "" {
		return fmt.Errorf("profile %q has no ID token (it signed in with a grant that issues none); run `idcsctl login`", p.Name)
	}
	if a.global.output == "json" {
		out := tokenJSON{TokenType: firstOf(t.TokenType, "Bearer"), ExpiresAt: jsonTime(t.Expiry)}
		if o.idToken {
			out.IDToken = t.IDToken
			out.TokenType = "id_token"
			out.ExpiresAt = nil
		} else {
			out.AccessToken = t.AccessToken
		}
		return writeJSON(a.deps.Stdout, out)
	}
	v := t.AccessToken
	if o.idToken {
		v = t.IDToken
	}
	_, err = fmt.Fprintln(a.deps.Stdout, v)
	return err
}
