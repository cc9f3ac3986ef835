package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/store"
)

// ccRenewer is a provider client that can refresh and renew client
// credentials tokens; it records what it was asked.
type ccRenewer struct {
	mu      sync.Mutex
	renews  [][]string
	refresh int
	err     error
}

func (c *ccRenewer) Refresh(context.Context, string) (*auth.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh++
	return nil, errors.New("a client credentials token has no refresh token to use")
}

func (c *ccRenewer) ClientCredentials(_ context.Context, scopes ...string) (*auth.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.renews = append(c.renews, scopes)
	if c.err != nil {
		return nil, c.err
	}
	return &auth.Result{AccessToken: "at-renewed", TokenType: "Bearer", Expiry: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)}, nil
}

// refreshOnly can refresh but not renew.
type refreshOnly struct{}

func (refreshOnly) Refresh(context.Context, string) (*auth.Result, error) {
	return nil, errors.New("no refresh token")
}

func TestClientCredentialsTokensAreRenewedByTheGrant(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	expired := &store.Token{AccessToken: "at-old", Grant: GrantClientCredentials, Scope: "urn:opc:idm:__myscopes__", Expiry: now.Add(10 * time.Second), ClientID: "app"}
	tests := []struct {
		name        string
		stored      *store.Token
		refresher   Refresher
		renewErr    error
		force       bool
		wantAccess  string
		wantRenews  int
		wantErr     error
		wantErrText string
	}{
		{name: "an expired token is renewed with its scopes", stored: expired, wantAccess: "at-renewed", wantRenews: 1},
		{name: "a valid token is handed out as it is", stored: &store.Token{AccessToken: "at-old", Grant: GrantClientCredentials, Expiry: now.Add(time.Hour)}, wantAccess: "at-old"},
		{name: "a rejected token is renewed", stored: &store.Token{AccessToken: "at-old", Grant: GrantClientCredentials, Scope: "urn:opc:idm:__myscopes__", Expiry: now.Add(time.Hour)}, force: true, wantAccess: "at-renewed", wantRenews: 1},
		{name: "a refused renewal names the profile", stored: expired, renewErr: &auth.ProviderError{Code: "invalid_client"}, wantRenews: 1, wantErrText: `renew the client credentials token of profile "ci"`},
		{name: "a client that cannot renew asks for a sign-in", stored: expired, refresher: refreshOnly{}, wantErr: ErrLoginRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := store.NewMemory()
			ctx := t.Context()
			if err := st.Save(ctx, "ci", tt.stored); err != nil {
				t.Fatal(err)
			}
			cc := &ccRenewer{err: tt.renewErr}
			var r Refresher = cc
			if tt.refresher != nil {
				r = tt.refresher
			}
			m := &Manager{
				Profile: "ci", Store: st, LockDir: t.TempDir(), Margin: DefaultMargin,
				Now:       func() time.Time { return now },
				Refresher: func(context.Context) (Refresher, error) { return r, nil },
			}
			var got *store.Token
			var err error
			if tt.force {
				got, err = m.ForceRefresh(ctx, "at-old")
			} else {
				got, err = m.Token(ctx)
			}
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			case tt.wantErrText != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("err = %v, want one with %q", err, tt.wantErrText)
				}
			case err != nil:
				t.Fatalf("Token: %v", err)
			case got.AccessToken != tt.wantAccess:
				t.Fatalf("access token = %q, want %q", got.AccessToken, tt.wantAccess)
			}
			if len(cc.renews) != tt.wantRenews || cc.refresh != 0 {
				t.Fatalf("renewed %d times (%v), refreshed %d times; want %d renewals and no refresh", len(cc.renews), cc.renews, cc.refresh, tt.wantRenews)
			}
			if tt.wantRenews > 0 && !slices.Equal(cc.renews[0], []string{"urn:opc:idm:__myscopes__"}) {
				t.Errorf("renewed with scopes %v, want the stored token's", cc.renews[0])
			}
			if tt.wantAccess == "at-renewed" {
				kept, err := st.Load(ctx, "ci")
				if err != nil || kept.AccessToken != "at-renewed" || kept.Grant != GrantClientCredentials || kept.Scope != "urn:opc:idm:__myscopes__" {
					t.Errorf("kept %+v, %v; want the renewed token with the grant and scopes", kept, err)
				}
			}
		})
	}
}
