package store

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/idcsctl/idcsctl/internal/secretservice"
)

// childEnv, when set, makes this test binary a helper child process (see
// nodbus_test.go and lock_test.go) instead of running the package's tests.
const childEnv = "IDCSCTL_STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		// A child must keep the environment its parent gave it: no shared
		// Secret Service, no DBUS_SESSION_BUS_ADDRESS rewrite.
		m.Run()
		return
	}
	secretservice.Main(m)
}

// Secret values that tests look for in every error message and notice.
const (
	secretAccess  = "ACCESS-7f3c9e1d-SECRET"
	secretRefresh = "REFRESH-2b8a4c6e-SECRET"
	secretID      = "IDTOKEN-9d1e5f3a-SECRET"
)

var secretValues = []string{secretAccess, secretRefresh, secretID}

// smallToken fits in one keyring item.
func smallToken() *Token {
	return &Token{
		AccessToken:  secretAccess,
		TokenType:    "Bearer",
		RefreshToken: secretRefresh,
		IDToken:      secretID,
		Expiry:       time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC),
		Scope:        "urn:opc:idm:t.user.me openid",
		Grant:        "authorization_code",
		Domain:       "https://idcs-0123456789abcdef.identity.oraclecloud.com",
		ClientID:     "4f8a0c2e6b1d3f5a",
	}
}

// bigToken is a token of about 16 KB, with multi-byte characters in the
// scope so that chunk boundaries fall inside them.
func bigToken() *Token {
	t := smallToken()
	t.AccessToken = secretAccess + "." + strings.Repeat("eyJhbGciOiJSUzI1NiJ9", 400)
	t.IDToken = secretID + "." + strings.Repeat("eyJraWQiOiJTSUdOSU5H", 300)
	t.RefreshToken = secretRefresh + "." + strings.Repeat("AgAgAGZiZDE", 200)
	t.Scope = "openid " + strings.Repeat("é漢字🔑 ", 60)
	// Every backend keeps the record of a rejected refresh token.
	t.RefreshRejectedAt = time.Date(2031, 5, 6, 8, 9, 10, 0, time.UTC)
	return t
}

func recordSize(t *testing.T, tok *Token) int {
	t.Helper()
	b, err := encodeRecord(tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// checkSame fails the test unless got is want after a round trip.
func checkSame(t *testing.T, got, want *Token) {
	t.Helper()
	if got == nil {
		t.Fatal("got no token")
	}
	g, w := *got, *want
	if !g.Expiry.Equal(w.Expiry) {
		t.Errorf("expiry = %v, want %v", g.Expiry, w.Expiry)
	}
	if !g.RefreshRejectedAt.Equal(w.RefreshRejectedAt) {
		t.Errorf("refresh rejected at = %v, want %v", g.RefreshRejectedAt, w.RefreshRejectedAt)
	}
	g.Expiry, w.Expiry = time.Time{}, time.Time{}
	g.RefreshRejectedAt, w.RefreshRejectedAt = time.Time{}, time.Time{}
	if g != w {
		t.Errorf("token differs after a round trip:\n got %.200q...\nwant %.200q...", fmt.Sprint(g), fmt.Sprint(w))
	}
}

// checkNoSecret fails the test when text contains a secret value.
func checkNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range secretValues {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the secret %q: %s", what, s, text)
		}
	}
}

// fakeKeyring is an in-memory Keyring. Limit, when not zero, makes Set
// refuse longer secrets the way the Windows Credential Manager does (2,560
// bytes). Before, when set, runs before every call and can fail, block or
// panic it; it is called outside the lock.
type fakeKeyring struct {
	mu      sync.Mutex
	items   map[string]string // service + "\x00" + user
	limit   int
	longest int
	before  func(op, user, secret string) error
}

func newFakeKeyring(limit int) *fakeKeyring {
	return &fakeKeyring{items: map[string]string{}, limit: limit}
}

func fakeKey(service, user string) string { return service + "\x00" + user }

func (f *fakeKeyring) hook(op, user, secret string) error {
	f.mu.Lock()
	before := f.before
	f.mu.Unlock()
	if before == nil {
		return nil
	}
	return before(op, user, secret)
}

func (f *fakeKeyring) setBefore(fn func(op, user, secret string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.before = fn
}

func (f *fakeKeyring) Get(service, user string) (string, error) {
	if err := f.hook("get", user, ""); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[fakeKey(service, user)]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Set(service, user, secret string) error {
	if err := f.hook("set", user, secret); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit > 0 && len(secret) > f.limit {
		return keyring.ErrSetDataTooBig
	}
	f.longest = max(f.longest, len(secret))
	f.items[fakeKey(service, user)] = secret
	return nil
}

func (f *fakeKeyring) Delete(service, user string) error {
	if err := f.hook("delete", user, ""); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fakeKey(service, user)
	if _, ok := f.items[k]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.items, k)
	return nil
}

// users lists the item names the fake holds, sorted.
func (f *fakeKeyring) users() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var us []string
	for k := range f.items {
		us = append(us, k[strings.IndexByte(k, 0)+1:])
	}
	slices.Sort(us)
	return us
}

func (f *fakeKeyring) item(user string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.items[fakeKey(DefaultService, user)]
}

func (f *fakeKeyring) put(user, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.items[fakeKey(DefaultService, user)] = value
}

func (f *fakeKeyring) remove(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, fakeKey(DefaultService, user))
}

// windowsLimit is the Credential Manager's limit on one secret.
const windowsLimit = 2560

// testKeyring returns a keyring store over a Windows-limited fake.
func testKeyring(t *testing.T) (*keyringStore, *fakeKeyring) {
	t.Helper()
	fake := newFakeKeyring(windowsLimit)
	k := newKeyring(Options{Dir: t.TempDir(), Keyring: fake, KeyringTimeout: 5 * time.Second})
	return k, fake
}

func bg() context.Context { return context.Background() }
