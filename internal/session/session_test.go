package session

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/store"
)

// now is the fake clock of every test: tokens expire relative to it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const profile = "work"

// fakeRefresher answers Refresh from a function and records every refresh
// token it was given, in order.
type fakeRefresher struct {
	mu     sync.Mutex
	used   []string
	answer func(refreshToken string) (*auth.Result, error)
}

func (f *fakeRefresher) Refresh(_ context.Context, refreshToken string) (*auth.Result, error) {
	f.mu.Lock()
	f.used = append(f.used, refreshToken)
	f.mu.Unlock()
	return f.answer(refreshToken)
}

func (f *fakeRefresher) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.used...)
}

// hookStore wraps a store to run a hook after each Load (with the count
// so far) and to fail Saves on demand.
type hookStore struct {
	store.Store
	mu        sync.Mutex
	loads     int
	afterLoad func(n int)
	saveErr   error
}

func (h *hookStore) Load(ctx context.Context, p string) (*store.Token, error) {
	t, err := h.Store.Load(ctx, p)
	h.mu.Lock()
	h.loads++
	n, hook := h.loads, h.afterLoad
	h.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return t, err
}

func (h *hookStore) Save(ctx context.Context, p string, t *store.Token) error {
	if h.saveErr != nil {
		return h.saveErr
	}
	return h.Store.Save(ctx, p, t)
}

// rotating issues a new access token and, with rotation, a new refresh
// token derived from the one it was given: "r1" -> access "a(r1)", refresh "r1+".
func rotating(rotate bool) func(string) (*auth.Result, error) {
	return func(rt string) (*auth.Result, error) {
		r := &auth.Result{AccessToken: "a(" + rt + ")", TokenType: "Bearer", Expiry: now.Add(time.Hour)}
		if rotate {
			r.RefreshToken = rt + "+"
		}
		return r, nil
	}
}

func invalidGrant() error {
	return &auth.ProviderError{Code: "invalid_grant", Description: "refresh token already used", Status: 400, Endpoint: "token"}
}

func tok(access, refresh string, expiresIn time.Duration) *store.Token {
	return &store.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", IDToken: "id-" + access, Expiry: now.Add(expiresIn)}
}

type fixture struct {
	m       *Manager
	st      *hookStore
	r       *fakeRefresher
	warn    *bytes.Buffer
	lockDir string
}

func newFixture(t *testing.T, stored *store.Token, answer func(string) (*auth.Result, error)) *fixture {
	t.Helper()
	f := &fixture{
		st:      &hookStore{Store: store.NewMemory()},
		r:       &fakeRefresher{answer: answer},
		warn:    &bytes.Buffer{},
		lockDir: t.TempDir(),
	}
	if stored != nil {
		if err := f.st.Store.Save(context.Background(), profile, stored); err != nil {
			t.Fatal(err)
		}
	}
	f.m = &Manager{
		Profile:   profile,
		Store:     f.st,
		LockDir:   f.lockDir,
		Refresher: func(context.Context) (Refresher, error) { return f.r, nil },
		Margin:    DefaultMargin,
		Now:       func() time.Time { return now },
		Warn:      f.warn,
	}
	return f
}

func (f *fixture) stored(t *testing.T) *store.Token {
	t.Helper()
	got, err := f.st.Store.Load(context.Background(), profile)
	if err != nil {
		t.Fatalf("load stored token: %v", err)
	}
	return got
}

func TestToken(t *testing.T) {
	tests := []struct {
		name   string
		stored *store.Token
		answer func(string) (*auth.Result, error)
		// setup may change the fixture before Token runs.
		setup func(t *testing.T, f *fixture)

		wantAccess      string // "" when an error is expected
		wantRefreshes   []string
		wantStoredRT    string // refresh token kept afterwards
		wantStoredAT    string // access token kept afterwards
		wantLoginNeeded bool
		wantErrText     string
		wantWarn        string
		wantLoads       int // how often the store was read; 0: not checked
	}{
		{
			name:          "a token valid beyond the margin is returned without a refresh",
			stored:        tok("a0", "r0", 10*time.Minute),
			answer:        rotating(true),
			wantAccess:    "a0",
			wantStoredRT:  "r0",
			wantStoredAT:  "a0",
			wantRefreshes: nil,
		},
		{
			name:       "a token with no expiry counts as valid",
			stored:     &store.Token{AccessToken: "a0", RefreshToken: "r0"},
			answer:     rotating(true),
			wantAccess: "a0", wantStoredRT: "r0", wantStoredAT: "a0",
		},
		{
			name:          "a token expiring within the margin is refreshed and saved",
			stored:        tok("a0", "r0", 30*time.Second),
			answer:        rotating(false),
			wantAccess:    "a(r0)",
			wantRefreshes: []string{"r0"},
			wantStoredRT:  "r0", // no rotation: the old refresh token still holds
			wantStoredAT:  "a(r0)",
		},
		{
			name:          "an expired token is refreshed",
			stored:        tok("a0", "r0", -time.Hour),
			answer:        rotating(false),
			wantAccess:    "a(r0)",
			wantRefreshes: []string{"r0"},
			wantStoredRT:  "r0",
			wantStoredAT:  "a(r0)",
		},
		{
			name:          "with rotation the new refresh token is saved",
			stored:        tok("a0", "r0", -time.Minute),
			answer:        rotating(true),
			wantAccess:    "a(r0)",
			wantRefreshes: []string{"r0"},
			wantStoredRT:  "r0+",
			wantStoredAT:  "a(r0)",
		},
		{
			name:   "a token another process refreshed while this one waited for the lock is used without a second refresh",
			stored: tok("a0", "r0", -time.Minute),
			answer: rotating(true),
			setup: func(t *testing.T, f *fixture) {
				// Hold the profile lock as the other process would; once
				// this one has read the expired token without the lock,
				// that process saves its refreshed tokens and unlocks.
				unlock, err := store.Lock(context.Background(), f.lockDir, profile)
				if err != nil {
					t.Fatal(err)
				}
				f.st.afterLoad = func(n int) {
					if n != 1 {
						return
					}
					go func() {
						if err := f.st.Store.Save(context.Background(), profile, tok("a-other", "r-other", time.Hour)); err != nil {
							t.Error(err)
						}
						unlock()
					}()
				}
			},
			wantAccess:    "a-other",
			wantRefreshes: nil,
			wantStoredRT:  "r-other",
			wantStoredAT:  "a-other",
			wantLoads:     2,
		},
		{
			name:   "invalid_grant reads the store again and uses tokens another sign-in stored meanwhile",
			stored: tok("a0", "r0", -time.Minute),
			setup: func(t *testing.T, f *fixture) {
				f.r.answer = func(rt string) (*auth.Result, error) {
					// A login in another terminal (which takes no lock)
					// replaced the tokens while the refresh was in flight.
					if err := f.st.Store.Save(context.Background(), profile, tok("a-login", "r-login", time.Hour)); err != nil {
						t.Error(err)
					}
					return nil, invalidGrant()
				}
			},
			wantAccess:    "a-login",
			wantRefreshes: []string{"r0"},
			wantStoredRT:  "r-login",
			wantStoredAT:  "a-login",
		},
		{
			name:   "invalid_grant retries once with a newer refresh token found on re-reading",
			stored: tok("a0", "r0", -time.Minute),
			setup: func(t *testing.T, f *fixture) {
				f.r.answer = func(rt string) (*auth.Result, error) {
					if rt == "r0" {
						if err := f.st.Store.Save(context.Background(), profile, tok("a-old", "r-new", -time.Minute)); err != nil {
							t.Error(err)
						}
						return nil, invalidGrant()
					}
					return rotating(true)(rt)
				}
			},
			wantAccess:    "a(r-new)",
			wantRefreshes: []string{"r0", "r-new"},
			wantStoredRT:  "r-new+",
			wantStoredAT:  "a(r-new)",
		},
		{
			name:            "invalid_grant with nothing newer stored asks for a sign-in and keeps the entry",
			stored:          tok("a0", "r0", -time.Minute),
			answer:          func(string) (*auth.Result, error) { return nil, invalidGrant() },
			wantRefreshes:   []string{"r0"},
			wantLoginNeeded: true,
			wantErrText:     "refresh token was rejected",
			wantStoredRT:    "r0",
			wantStoredAT:    "a0",
		},
		{
			name:            "an expired token without a refresh token asks for a sign-in",
			stored:          tok("a0", "", -time.Minute),
			answer:          rotating(true),
			wantLoginNeeded: true,
			wantErrText:     "no refresh token",
			wantStoredAT:    "a0",
		},
		{
			name:            "no stored token asks for a sign-in naming the profile",
			answer:          rotating(true),
			wantLoginNeeded: true,
			wantErrText:     "idcsctl login -p work",
		},
		{
			name:   "a provider error is returned and the old tokens stay stored",
			stored: tok("a0", "r0", -time.Minute),
			answer: func(string) (*auth.Result, error) {
				return nil, &auth.ProviderError{Code: "temporarily_unavailable", Status: 503, Endpoint: "token"}
			},
			wantRefreshes: []string{"r0"},
			wantErrText:   "temporarily_unavailable",
			wantStoredRT:  "r0",
			wantStoredAT:  "a0",
		},
		{
			name:   "a failed save still returns the new token, with a warning",
			stored: tok("a0", "r0", -time.Minute),
			answer: rotating(true),
			setup: func(t *testing.T, f *fixture) {
				f.st.saveErr = errors.New("disk full")
			},
			wantAccess:    "a(r0)",
			wantRefreshes: []string{"r0"},
			wantStoredRT:  "r0",
			wantStoredAT:  "a0",
			wantWarn:      "could not save the refreshed tokens (disk full)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.stored, tt.answer)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			got, err := f.m.Token(ctx)

			if tt.wantAccess != "" {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				if got.AccessToken != tt.wantAccess {
					t.Errorf("access token = %q, want %q", got.AccessToken, tt.wantAccess)
				}
			} else {
				if err == nil {
					t.Fatalf("Token returned %q, want an error", got.AccessToken)
				}
				if got := errors.Is(err, ErrLoginRequired); got != tt.wantLoginNeeded {
					t.Errorf("errors.Is(err, ErrLoginRequired) = %v, want %v (err: %v)", got, tt.wantLoginNeeded, err)
				}
				if tt.wantLoginNeeded {
					var lre *LoginRequiredError
					if !errors.As(err, &lre) || lre.Profile != profile {
						t.Errorf("error %v is not a *LoginRequiredError for profile %q", err, profile)
					}
				}
				if !strings.Contains(err.Error(), tt.wantErrText) {
					t.Errorf("error %q does not say %q", err, tt.wantErrText)
				}
			}
			if calls := f.r.calls(); strings.Join(calls, ",") != strings.Join(tt.wantRefreshes, ",") {
				t.Errorf("refreshed with %q, want %q", calls, tt.wantRefreshes)
			}
			if tt.stored != nil {
				kept := f.stored(t)
				if kept.RefreshToken != tt.wantStoredRT || kept.AccessToken != tt.wantStoredAT {
					t.Errorf("stored access/refresh = %q/%q, want %q/%q", kept.AccessToken, kept.RefreshToken, tt.wantStoredAT, tt.wantStoredRT)
				}
			}
			if tt.wantLoads != 0 && f.st.loads != tt.wantLoads {
				t.Errorf("the store was read %d times, want %d", f.st.loads, tt.wantLoads)
			}
			if w := f.warn.String(); tt.wantWarn == "" && w != "" || !strings.Contains(w, tt.wantWarn) {
				t.Errorf("warnings = %q, want %q", w, tt.wantWarn)
			}
			for _, secret := range []string{"r0", "r0+", "a(r0)"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains the token %q", err, secret)
				}
				if strings.Contains(f.warn.String(), secret) {
					t.Errorf("warning %q contains the token %q", f.warn, secret)
				}
			}
		})
	}
}

// lockHeld reports whether someone holds the profile's lock: the flock on
// "<dir>/<profile>.lock" that store.Lock takes (flocks exclude each other
// within one process too, so this sees the Manager's lock). One attempt,
// no deadline: a store.Lock with a short one read a free lock as held
// when the machine was too busy to try before the deadline.
func lockHeld(t *testing.T, dir string) bool {
	t.Helper()
	fl := flock.New(filepath.Join(dir, profile+".lock"))
	ok, err := fl.TryLock()
	if err != nil {
		t.Errorf("probe the lock: %v", err)
		return false
	}
	if ok {
		if err := fl.Unlock(); err != nil {
			t.Errorf("release the probe's lock: %v", err)
		}
	}
	return !ok
}

// TestTokenRereadsUnderTheLockAndUsesAnotherProcesssRefresh: an expired
// token makes Token wait for the profile lock that another process (here
// the test) holds while it refreshes; when that process has stored its new
// token and lets go, Token reads again under the lock and hands out the new
// token without a second refresh. The re-read must happen under the lock,
// or two processes would both refresh, and with rotation the slower one
// would use a refresh token the faster one had already spent.
func TestTokenRereadsUnderTheLockAndUsesAnotherProcesssRefresh(t *testing.T) {
	f := newFixture(t, tok("a0", "r0", -time.Minute), rotating(true))
	unlock, err := store.Lock(context.Background(), f.lockDir, profile)
	if err != nil {
		t.Fatal(err)
	}
	firstRead := make(chan struct{})
	var heldAtReread []bool
	f.st.afterLoad = func(n int) {
		if n == 1 {
			close(firstRead)
			return
		}
		heldAtReread = append(heldAtReread, lockHeld(t, f.lockDir))
	}
	type result struct {
		t   *store.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		got, err := f.m.Token(context.Background())
		done <- result{got, err}
	}()
	<-firstRead
	// The other process finishes its refresh and lets go of the lock.
	if err := f.st.Store.Save(context.Background(), profile, tok("a-other", "r0+", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.t.AccessToken != "a-other" {
		t.Errorf("Token = %q, want the other process's a-other", r.t.AccessToken)
	}
	if calls := f.r.calls(); len(calls) != 0 {
		t.Errorf("refreshed again with %q after the other process had refreshed", calls)
	}
	if len(heldAtReread) != 1 || !heldAtReread[0] {
		t.Errorf("reads after the first: %d, lock held at each: %v; want one re-read, under the lock", len(heldAtReread), heldAtReread)
	}
}

// TestTokenRefreshesUnderTheLock: the refresh itself and the save of its
// result happen while the profile lock is held.
func TestTokenRefreshesUnderTheLock(t *testing.T) {
	f := newFixture(t, tok("a0", "r0", -time.Minute), nil)
	var heldAtRefresh bool
	f.r.answer = func(rt string) (*auth.Result, error) {
		heldAtRefresh = lockHeld(t, f.lockDir)
		return rotating(true)(rt)
	}
	got, err := f.m.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != "a(r0)" {
		t.Errorf("Token = %q, want a(r0)", got.AccessToken)
	}
	if !heldAtRefresh {
		t.Error("the refresh ran without the profile lock")
	}
	if f.st.loads != 2 {
		t.Errorf("an expired token was read %d times, want 2 (before and under the lock)", f.st.loads)
	}
}

func TestTokenValidTokenNeverBuildsARefresher(t *testing.T) {
	f := newFixture(t, tok("a0", "r0", time.Hour), nil)
	f.m.Refresher = func(context.Context) (Refresher, error) {
		t.Error("the cached path built a refresher (discovery, network)")
		return nil, errors.New("no network on the cached path")
	}
	got, err := f.m.Token(context.Background())
	if err != nil || got.AccessToken != "a0" {
		t.Fatalf("Token = %v, %v; want a0", got, err)
	}
	if f.st.loads != 1 {
		t.Errorf("a valid token was read %d times, want 1 (no lock, no re-read)", f.st.loads)
	}
}

func TestTokenRefresherErrorIsReturned(t *testing.T) {
	f := newFixture(t, tok("a0", "r0", -time.Minute), nil)
	discovery := errors.New("read the discovery document: connection refused")
	f.m.Refresher = func(context.Context) (Refresher, error) { return nil, discovery }
	_, err := f.m.Token(context.Background())
	if !errors.Is(err, discovery) {
		t.Fatalf("Token error = %v, want the refresher's error", err)
	}
	if errors.Is(err, ErrLoginRequired) {
		t.Errorf("a network problem reads as sign-in required: %v", err)
	}
}

func TestTokenWaitingForTheLockEndsWithTheContext(t *testing.T) {
	f := newFixture(t, tok("a0", "r0", -time.Minute), rotating(true))
	unlock, err := store.Lock(context.Background(), f.lockDir, profile)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	f.st.afterLoad = func(int) { cancel() }
	_, err = f.m.Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Token error = %v, want context.Canceled", err)
	}
	if calls := f.r.calls(); len(calls) != 0 {
		t.Errorf("refreshed without the lock: %q", calls)
	}
}

func TestForceRefresh(t *testing.T) {
	tests := []struct {
		name          string
		stored        *store.Token
		rejected      string
		wantAccess    string
		wantRefreshes int
	}{
		{
			name:          "a valid token a server rejected is refreshed",
			stored:        tok("a0", "r0", time.Hour),
			rejected:      "a0",
			wantAccess:    "a(r0)",
			wantRefreshes: 1,
		},
		{
			name:          "a rejected token another process already replaced is not refreshed again",
			stored:        tok("a-new", "r1", time.Hour),
			rejected:      "a0",
			wantAccess:    "a-new",
			wantRefreshes: 0,
		},
		{
			name:          "a replacement that is itself expiring is refreshed",
			stored:        tok("a-new", "r1", 10*time.Second),
			rejected:      "a0",
			wantAccess:    "a(r1)",
			wantRefreshes: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.stored, rotating(true))
			got, err := f.m.ForceRefresh(context.Background(), tt.rejected)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken != tt.wantAccess {
				t.Errorf("access token = %q, want %q", got.AccessToken, tt.wantAccess)
			}
			if n := len(f.r.calls()); n != tt.wantRefreshes {
				t.Errorf("%d refreshes, want %d", n, tt.wantRefreshes)
			}
		})
	}
}

func TestSaveWaitsForTheLock(t *testing.T) {
	f := newFixture(t, nil, nil)
	unlock, err := store.Lock(context.Background(), f.lockDir, profile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := f.m.Save(ctx, tok("a1", "r1", time.Hour)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Save while another holds the lock = %v, want it to wait until the context ends", err)
	}
	unlock()
	if err := f.m.Save(context.Background(), tok("a1", "r1", time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := f.stored(t); got.AccessToken != "a1" {
		t.Errorf("stored %q, want a1", got.AccessToken)
	}
}

func TestValidUsesTheMargin(t *testing.T) {
	m := &Manager{Margin: time.Minute, Now: func() time.Time { return now }}
	tests := []struct {
		name string
		t    *store.Token
		want bool
	}{
		{"nil token", nil, false},
		{"no access token", &store.Token{RefreshToken: "r"}, false},
		{"no expiry", &store.Token{AccessToken: "a"}, true},
		{"expires after the margin", tok("a", "r", 61*time.Second), true},
		{"expires exactly at the margin", tok("a", "r", time.Minute), false},
		{"expires within the margin", tok("a", "r", 59*time.Second), false},
		{"expired", tok("a", "r", -time.Second), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Valid(tt.t); got != tt.want {
				t.Errorf("Valid = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	old := &store.Token{AccessToken: "a0", RefreshToken: "r0", IDToken: "i0", Scope: "openid", Grant: "authorization_code", Domain: "https://d", ClientID: "c", Expiry: now}
	tests := []struct {
		name string
		res  *auth.Result
		want store.Token
	}{
		{
			name: "fields the provider left out keep their old values",
			res:  &auth.Result{AccessToken: "a1", TokenType: "Bearer", Expiry: now.Add(time.Hour)},
			want: store.Token{AccessToken: "a1", TokenType: "Bearer", RefreshToken: "r0", IDToken: "i0", Scope: "openid", Grant: "authorization_code", Domain: "https://d", ClientID: "c", Expiry: now.Add(time.Hour)},
		},
		{
			name: "fields the provider sent replace the old ones",
			res:  &auth.Result{AccessToken: "a1", TokenType: "Bearer", RefreshToken: "r1", IDToken: "i1", Scope: "openid email", Expiry: now.Add(time.Hour)},
			want: store.Token{AccessToken: "a1", TokenType: "Bearer", RefreshToken: "r1", IDToken: "i1", Scope: "openid email", Grant: "authorization_code", Domain: "https://d", ClientID: "c", Expiry: now.Add(time.Hour)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(old, tt.res)
			if *got != tt.want {
				t.Errorf("Merge = %+v, want %+v", *got, tt.want)
			}
			if old.AccessToken != "a0" {
				t.Error("Merge changed the old token")
			}
		})
	}
}

func TestLoginRequiredErrorNamesTheCommand(t *testing.T) {
	tests := []struct {
		profile string
		want    string
	}{
		{"default", "run `idcsctl login`"},
		{"", "run `idcsctl login`"},
		{"work", "run `idcsctl login -p work`"},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			err := &LoginRequiredError{Profile: tt.profile, Reason: "expired"}
			if !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("%q does not end with %q", err, tt.want)
			}
			if !errors.Is(err, ErrLoginRequired) {
				t.Error("errors.Is(err, ErrLoginRequired) = false")
			}
		})
	}
}

func TestScopedEntryNamesOneSetOfScopesOfOneProfile(t *testing.T) {
	a := ScopedEntry("work", []string{"openid", "urn:opc:idm:t.user.me"})
	tests := []struct {
		name    string
		profile string
		scopes  []string
		same    bool
	}{
		{"same scopes in another order", "work", []string{"urn:opc:idm:t.user.me", "openid"}, true},
		{"a repeated scope", "work", []string{"openid", "openid", "urn:opc:idm:t.user.me"}, true},
		{"fewer scopes", "work", []string{"openid"}, false},
		{"another profile", "lab", []string{"openid", "urn:opc:idm:t.user.me"}, false},
	}
	for _, tt := range tests {
		b := ScopedEntry(tt.profile, tt.scopes)
		if (a == b) != tt.same {
			t.Errorf("%s: %q vs %q, same = %v", tt.name, a, b, tt.same)
		}
		if len(b) > 64 {
			t.Errorf("%s: entry name %q is longer than a profile name may be", tt.name, b)
		}
	}
}

func TestMarginForFitsTheLifetime(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		want     time.Duration
	}{
		{"unknown", 0, DefaultMargin},
		{"negative", -time.Minute, DefaultMargin},
		{"an hour", time.Hour, DefaultMargin},
		{"four minutes", 4 * time.Minute, DefaultMargin},
		{"two minutes", 2 * time.Minute, 30 * time.Second},
		{"a minute", time.Minute, 15 * time.Second},
		{"thirty seconds", 30 * time.Second, 7500 * time.Millisecond},
		{"a second", time.Second, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MarginFor(tt.lifetime)
			if got != tt.want {
				t.Errorf("MarginFor(%v) = %v, want %v", tt.lifetime, got, tt.want)
			}
			if tt.lifetime > 0 && got >= tt.lifetime {
				t.Errorf("MarginFor(%v) = %v: a fresh token would count as expired", tt.lifetime, got)
			}
		})
	}
}

// TestTokenWithFreshRefreshesAtMostOnce: a Fresh test replaces Valid, and a
// refresh whose result Fresh still refuses is handed out, not repeated.
func TestTokenWithFreshRefreshesAtMostOnce(t *testing.T) {
	idLive := func(t *store.Token) bool { return !strings.HasPrefix(t.IDToken, "dying") }
	tests := []struct {
		name          string
		stored        *store.Token
		answer        func(string) (*auth.Result, error)
		wantID        string
		wantRefreshes int
	}{
		{
			name:   "fresh by the test although the access token expired",
			stored: tok("a0", "r0", -time.Hour),
			answer: rotating(true), wantID: "id-a0", wantRefreshes: 0,
		},
		{
			name:   "not fresh by the test although the access token lives",
			stored: &store.Token{AccessToken: "a0", RefreshToken: "r0", IDToken: "dying-0", Expiry: now.Add(time.Hour)},
			answer: func(rt string) (*auth.Result, error) {
				return &auth.Result{AccessToken: "a1", IDToken: "id-1", Expiry: now.Add(time.Hour)}, nil
			},
			wantID: "id-1", wantRefreshes: 1,
		},
		{
			name:   "a refresh that brings another dying token is not repeated",
			stored: &store.Token{AccessToken: "a0", RefreshToken: "r0", IDToken: "dying-0", Expiry: now.Add(time.Hour)},
			answer: func(rt string) (*auth.Result, error) {
				return &auth.Result{AccessToken: "a1", IDToken: "dying-1", Expiry: now.Add(time.Hour)}, nil
			},
			wantID: "dying-1", wantRefreshes: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.stored, tt.answer)
			f.m.Fresh = idLive
			got, err := f.m.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got.IDToken != tt.wantID {
				t.Errorf("ID token = %q, want %q", got.IDToken, tt.wantID)
			}
			if n := len(f.r.calls()); n != tt.wantRefreshes {
				t.Errorf("%d refreshes, want %d", n, tt.wantRefreshes)
			}
		})
	}
}
