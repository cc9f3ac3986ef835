// Package session keeps one profile's sign-in alive: it hands out an access
// token that is valid for a while yet, refreshing it when it is about to
// expire, so that many processes sharing one profile refresh once between
// them and never log each other out.
//
// It joins internal/auth (which talks to the provider) and internal/store
// (which keeps tokens) and knows nothing of either's insides.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/store"
)

// DefaultMargin is how long before expiry a token counts as expired, so a
// token handed to a script does not die in the middle of its request.
const DefaultMargin = 60 * time.Second

// MarginFor is the refresh margin of a token that lives lifetime from its
// issue to its expiry: DefaultMargin, or a quarter of the lifetime when that
// is less. A token that lives a minute or less could never outlive the
// default margin, so it would count as expired the moment it was issued and
// be refreshed on every use; with a quarter it is handed out for most of its
// life. A lifetime of zero or less (unknown) gives DefaultMargin.
func MarginFor(lifetime time.Duration) time.Duration {
	if lifetime <= 0 || lifetime/4 >= DefaultMargin {
		return DefaultMargin
	}
	return lifetime / 4
}

// ErrLoginRequired means there is no usable token and none can be had
// without the person: the caller should run `idcsctl login`.
var ErrLoginRequired = errors.New("sign-in required")

// LoginRequiredError says why a sign-in is required.
type LoginRequiredError struct {
	Profile string
	Reason  string
	Err     error
}

func (e *LoginRequiredError) Error() string {
	login := "idcsctl login"
	if e.Profile != "" && e.Profile != "default" {
		login += " -p " + e.Profile
	}
	return fmt.Sprintf("%s: run `%s`", e.Reason, login)
}

// Unwrap lets errors.Is find ErrLoginRequired and the cause.
func (e *LoginRequiredError) Unwrap() []error { return []error{ErrLoginRequired, e.Err} }

// Rejected reports whether the provider has rejected t's refresh token,
// so that only a sign-in renews it.
func Rejected(t *store.Token) bool { return t != nil && !t.RefreshRejectedAt.IsZero() }

// SignInNeededSince is the reason given once a refresh token was rejected:
// since when a sign-in is needed, in local time, with the date when it was
// not today.
func SignInNeededSince(at, now time.Time) string {
	return "sign-in needed since " + Clock(at, now)
}

// Clock is a time as a person reads it on a wall clock: 15:04, or
// 2006-01-02 15:04 when it is not today, in local time.
func Clock(at, now time.Time) string {
	lt, ln := at.Local(), now.Local()
	if y, m, d := lt.Date(); y != ln.Year() || m != ln.Month() || d != ln.Day() {
		return lt.Format("2006-01-02 15:04")
	}
	return lt.Format("15:04")
}

// DeadlineError means a refresh, the wait for the profile's lock included,
// did not finish within the profile's timeout.
type DeadlineError struct {
	Profile string
	Timeout time.Duration
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("the refresh of profile %q did not finish within %s (the profile's timeout setting, or --timeout)", e.Profile, e.Timeout)
}

// Refresher trades a refresh token for new tokens. *auth.Client is one.
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string) (*auth.Result, error)
}

// Renewer gets the application a new token with the client credentials
// grant, which has no refresh token: an expired token of that grant is
// renewed with the grant itself. *auth.Client is one. A Refresher that is
// not a Renewer cannot renew such a token.
type Renewer interface {
	ClientCredentials(ctx context.Context, scopes ...string) (*auth.Result, error)
}

// GrantClientCredentials is the Grant of a token the application got for
// itself, with no person.
const GrantClientCredentials = "client_credentials"

// Manager hands out fresh tokens for one profile.
type Manager struct {
	Profile string
	Store   store.Store
	// LockDir holds the per-profile lock file that serialises refreshes
	// across processes.
	LockDir string
	// Refresher is called only when a refresh is due, so that commands on
	// the cached path never build a provider client or touch the network.
	Refresher func(ctx context.Context) (Refresher, error)
	// Margin is how long before its expiry a token is refreshed; see
	// DefaultMargin.
	Margin time.Duration
	// Fresh, when set, decides in place of Valid whether a stored token
	// may be handed out as it is, and so whether a refresh is due: kubectl
	// needs a live ID token, whatever its access token's expiry.
	Fresh func(t *store.Token) bool
	// Timeout bounds a refresh as a whole, the wait for the profile lock
	// included, so the lock is never held longer; 0: no bound but the
	// context's.
	Timeout time.Duration
	Now     func() time.Time
	// Warn receives one-line notices that do not stop the command.
	Warn io.Writer
}

// Valid reports whether t holds an access token that outlives the margin.
func (m *Manager) Valid(t *store.Token) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	return t.Expiry.IsZero() || m.now().Add(m.Margin).Before(t.Expiry)
}

// Load returns the stored token as it is, fresh or not.
func (m *Manager) Load(ctx context.Context) (*store.Token, error) {
	t, err := m.Store.Load(ctx, m.Profile)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &LoginRequiredError{Profile: m.Profile, Reason: fmt.Sprintf("profile %q is not signed in", m.Profile), Err: err}
	}
	return t, err
}

// Token returns a token that is valid for at least the margin, refreshing
// it first when needed.
func (m *Manager) Token(ctx context.Context) (*store.Token, error) {
	t, err := m.Load(ctx)
	if err != nil {
		return nil, err
	}
	if m.fresh(t) {
		return t, nil
	}
	// At most one refresh: what it brings is handed out even when it is
	// itself within the margin (a provider whose tokens live less than
	// the margin), rather than refreshed again.
	return m.refresh(ctx, func(cur *store.Token) bool { return !m.fresh(cur) })
}

// fresh is Fresh, or Valid when Fresh is not set.
func (m *Manager) fresh(t *store.Token) bool {
	if m.Fresh != nil {
		return t != nil && m.Fresh(t)
	}
	return m.Valid(t)
}

// ForceRefresh refreshes even though the token looks valid, because a
// server rejected it. If another process already replaced the rejected
// token, that newer token is returned without a second refresh.
func (m *Manager) ForceRefresh(ctx context.Context, rejected string) (*store.Token, error) {
	return m.refresh(ctx, func(cur *store.Token) bool { return cur.AccessToken == rejected || !m.fresh(cur) })
}

// Refresh refreshes now, however long the token has yet to live: what a
// person asks for with `idcsctl token --force-refresh`.
func (m *Manager) Refresh(ctx context.Context) (*store.Token, error) {
	return m.refresh(ctx, func(*store.Token) bool { return true })
}

// Save stores t under the profile's lock, so it never interleaves with a
// refresh in another process.
func (m *Manager) Save(ctx context.Context, t *store.Token) error {
	unlock, err := store.LockWith(ctx, m.LockDir, m.Profile, m.lockOptions("saving its tokens"))
	if err != nil {
		return fmt.Errorf("lock profile %q: %w", m.Profile, err)
	}
	defer unlock()
	return m.Store.Save(ctx, m.Profile, t)
}

// refresh takes the lock, re-reads the token (another process may have
// refreshed it while this one waited) and refreshes only if needed(cur).
func (m *Manager) refresh(ctx context.Context, needed func(cur *store.Token) bool) (*store.Token, error) {
	if m.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, m.Timeout, &DeadlineError{Profile: m.Profile, Timeout: m.Timeout})
		defer cancel()
	}
	unlock, err := store.LockWith(ctx, m.LockDir, m.Profile, m.lockOptions("refreshing its tokens"))
	if err != nil {
		return nil, fmt.Errorf("lock profile %q for refresh: %w", m.Profile, err)
	}
	defer unlock()

	cur, err := m.Load(ctx)
	if err != nil {
		return nil, err
	}
	if !needed(cur) {
		return cur, nil
	}
	if cur.Grant == GrantClientCredentials {
		return m.renew(ctx, cur)
	}
	if cur.RefreshToken == "" {
		return nil, &LoginRequiredError{Profile: m.Profile, Reason: "the access token has expired and there is no refresh token"}
	}
	if Rejected(cur) {
		// The provider said no already: asking again would only say no
		// again, and would need the network.
		return nil, m.rejectedError(cur.RefreshRejectedAt, nil)
	}
	r, err := m.Refresher(ctx)
	if err != nil {
		return nil, err
	}
	res, err := r.Refresh(ctx, cur.RefreshToken)
	if auth.IsInvalidGrant(err) {
		// A process that does not take the lock (a login in another
		// terminal) may have replaced the tokens: read once more before
		// telling the person to sign in again.
		again, lerr := m.Load(ctx)
		if lerr == nil && again.RefreshToken != cur.RefreshToken {
			if !needed(again) {
				return again, nil
			}
			cur = again
			res, err = r.Refresh(ctx, cur.RefreshToken)
		}
	}
	if err != nil {
		invalid := auth.IsInvalidGrant(err)
		// A provider may quote the profile's tokens in its error text.
		auth.RedactError(err, cur.AccessToken, cur.RefreshToken, cur.IDToken)
		if invalid {
			at := m.now()
			m.remember(ctx, cur, at)
			return nil, m.rejectedError(at, err)
		}
		return nil, fmt.Errorf("refresh tokens of profile %q: %w", m.Profile, err)
	}
	next := Merge(cur, res)
	if err := m.Store.Save(ctx, m.Profile, next); err != nil {
		// The new token works; only keeping it failed. Hand it out and say
		// so, since failing here would throw away a working token.
		if m.Warn != nil {
			fmt.Fprintf(m.Warn, "warning: could not save the refreshed tokens (%v); the next command may ask you to sign in again\n", err)
		}
	}
	return next, nil
}

// rejectedError is the sign-in needed once the refresh token was rejected.
func (m *Manager) rejectedError(at time.Time, err error) error {
	return &LoginRequiredError{Profile: m.Profile, Err: err,
		Reason: SignInNeededSince(at, m.now()) + " (the refresh token was rejected: expired, revoked or already used)"}
}

// remember records in the store that cur's refresh token was rejected at
// at, keeping every token: the access token may work until it expires.
// It runs under the profile's lock, and writes only when the stored tokens
// are still cur's, so a sign-in that replaced them is never undone.
func (m *Manager) remember(ctx context.Context, cur *store.Token, at time.Time) {
	now, err := m.Store.Load(ctx, m.Profile)
	if err != nil || now.RefreshToken != cur.RefreshToken || now.AccessToken != cur.AccessToken {
		return
	}
	marked := *now
	marked.RefreshRejectedAt = at.UTC()
	if err := m.Store.Save(ctx, m.Profile, &marked); err != nil && m.Warn != nil {
		fmt.Fprintf(m.Warn, "warning: could not record that the refresh token was rejected (%v)\n", err)
	}
}

// renew gets a new client credentials token with the scopes the old one was
// issued for, and keeps it. It runs under the profile's lock, like refresh.
func (m *Manager) renew(ctx context.Context, cur *store.Token) (*store.Token, error) {
	r, err := m.Refresher(ctx)
	if err != nil {
		return nil, err
	}
	rn, ok := r.(Renewer)
	if !ok {
		return nil, &LoginRequiredError{Profile: m.Profile, Reason: "the application's access token has expired and cannot be renewed here"}
	}
	res, err := rn.ClientCredentials(ctx, strings.Fields(cur.Scope)...)
	if err != nil {
		auth.RedactError(err, cur.AccessToken, cur.IDToken)
		return nil, fmt.Errorf("renew the client credentials token of profile %q: %w", m.Profile, err)
	}
	next := Merge(cur, res)
	if err := m.Store.Save(ctx, m.Profile, next); err != nil && m.Warn != nil {
		fmt.Fprintf(m.Warn, "warning: could not save the renewed token (%v); the next command will get another\n", err)
	}
	return next, nil
}

// Merge builds the token to keep after a refresh: the provider may leave
// out the refresh token or the ID token, and then the old ones still hold.
func Merge(old *store.Token, r *auth.Result) *store.Token {
	next := *old
	next.RefreshRejectedAt = time.Time{} // the provider renewed it: it works
	next.AccessToken = r.AccessToken
	next.TokenType = r.TokenType
	next.Expiry = r.Expiry
	if r.RefreshToken != "" {
		next.RefreshToken = r.RefreshToken
	}
	if r.IDToken != "" {
		next.IDToken = r.IDToken
	}
	if r.Scope != "" {
		next.Scope = r.Scope
	}
	return &next
}

// FromResult builds the token to keep after a sign-in.
func FromResult(r *auth.Result, domain, clientID, grant string) *store.Token {
	return &store.Token{
		AccessToken:  r.AccessToken,
		TokenType:    r.TokenType,
		RefreshToken: r.RefreshToken,
		IDToken:      r.IDToken,
		Expiry:       r.Expiry,
		Scope:        r.Scope,
		Grant:        grant,
		Domain:       domain,
		ClientID:     clientID,
	}
}

// lockOptions say what this process holds the profile lock for, and let a
// long wait for it be announced on Warn.
func (m *Manager) lockOptions(purpose string) store.LockOptions {
	return store.LockOptions{Purpose: purpose, Notice: m.Warn}
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}
