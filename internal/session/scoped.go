package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/store"
)

// ScopedRefresher trades the profile's refresh token for an access token
// with fewer scopes. *auth.Client is one.
type ScopedRefresher interface {
	RefreshScoped(ctx context.Context, refreshToken string, scopes []string) (*auth.Result, error)
}

// GrantRefreshToken is the Grant of a scoped token: it came from the
// refresh grant, never from a sign-in of its own.
const GrantRefreshToken = "refresh_token"

// ScopedEntry names the entry that keeps the profile's token for one set
// of scopes, in the store of scoped tokens: the same scopes in any order
// give the same entry, and no two profiles share one.
func ScopedEntry(profile string, scopes []string) string {
	s := slices.Clone(scopes)
	slices.Sort(s)
	sum := sha256.Sum256([]byte(profile + "\n" + strings.Join(slices.Compact(s), " ")))
	return "scoped-" + hex.EncodeToString(sum[:12])
}

// ScopedToken returns an access token of the profile limited to scopes,
// from scoped (a store apart from the profile's own, so the main token is
// never replaced by a narrower one). A cached one that outlives the margin
// is returned as it is unless force is set; otherwise the profile's refresh
// token is traded for a new one under the profile's lock. When the provider
// rotates the refresh token on that trade, the profile's main entry keeps
// the new one, so the profile stays signed in. The scoped entry keeps no
// refresh token of its own.
func (m *Manager) ScopedToken(ctx context.Context, scoped store.Store, scopes []string, force bool) (*store.Token, error) {
	entry := ScopedEntry(m.Profile, scopes)
	usable := func(t *store.Token) bool { return !force && m.Valid(t) }
	if t, err := scoped.Load(ctx, entry); err == nil && usable(t) {
		return t, nil
	}
	unlock, err := store.LockWith(ctx, m.LockDir, m.Profile, m.lockOptions("refreshing its tokens"))
	if err != nil {
		return nil, fmt.Errorf("lock profile %q for refresh: %w", m.Profile, err)
	}
	defer unlock()
	// Another process may have got one while this one waited for the lock;
	// with force, this process's own refresh is what was asked for.
	if t, err := scoped.Load(ctx, entry); err == nil && usable(t) {
		return t, nil
	}
	main, err := m.Load(ctx)
	if err != nil {
		return nil, err
	}
	if granted := strings.Fields(main.Scope); len(granted) > 0 {
		for _, s := range scopes {
			if !slices.Contains(granted, s) {
				return nil, &ScopeError{Profile: m.Profile, Scope: s, Granted: granted}
			}
		}
	}
	if main.RefreshToken == "" {
		return nil, &LoginRequiredError{Profile: m.Profile, Reason: fmt.Sprintf("profile %q has no refresh token to trade for a token with other scopes", m.Profile)}
	}
	r, err := m.Refresher(ctx)
	if err != nil {
		return nil, err
	}
	sr, ok := r.(ScopedRefresher)
	if !ok {
		return nil, errors.New("this provider client cannot ask for a narrower set of scopes")
	}
	res, err := sr.RefreshScoped(ctx, main.RefreshToken, scopes)
	if err != nil {
		auth.RedactError(err, main.AccessToken, main.RefreshToken, main.IDToken)
		if auth.IsInvalidGrant(err) {
			return nil, &LoginRequiredError{Profile: m.Profile, Reason: "the refresh token was rejected (expired, revoked or already used)", Err: err}
		}
		return nil, fmt.Errorf("get a token with scopes %s for profile %q: %w", strings.Join(scopes, " "), m.Profile, err)
	}
	if res.RefreshToken != "" && res.RefreshToken != main.RefreshToken {
		next := *main
		next.RefreshToken = res.RefreshToken
		if err := m.Store.Save(ctx, m.Profile, &next); err != nil && m.Warn != nil {
			fmt.Fprintf(m.Warn, "warning: could not keep the rotated refresh token (%v); the next command may ask you to sign in again\n", err)
		}
	}
	t := FromResult(res, main.Domain, main.ClientID, GrantRefreshToken)
	t.RefreshToken = ""
	if t.Scope == "" {
		t.Scope = strings.Join(scopes, " ")
	}
	if err := scoped.Save(ctx, entry, t); err != nil && m.Warn != nil {
		fmt.Fprintf(m.Warn, "warning: could not keep the token for scopes %s (%v); the next command will get another\n", strings.Join(scopes, " "), err)
	}
	return t, nil
}

// ScopeError says a scope asked for is not one the profile was granted:
// the refresh grant can only narrow the scopes of a sign-in.
type ScopeError struct {
	Profile string
	Scope   string
	Granted []string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("scope %s was not granted to profile %q (it holds %s): a token can only be narrowed; sign in with it first: `idcsctl login -p %s --scopes ...`",
		e.Scope, e.Profile, strings.Join(e.Granted, " "), e.Profile)
}
