package ocir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
	"github.com/idcsctl/idcsctl/internal/store"
)

// DefaultMargin is how long before its expiry a cached registry token is
// replaced, so a token handed to docker does not die during a pull.
const DefaultMargin = time.Minute

// maxCacheFile bounds the cache file read: a few tokens per profile.
const maxCacheFile = 1 << 20

// cacheFile is a profile's registry tokens, by host.
type cacheFile struct {
	Tokens map[string]Token `json:"tokens"`
}

// Minter hands out registry tokens for one idcsctl profile: from its
// cache (a 0600 file in a 0700 folder, <Dir>/<profile>.json, replaced
// atomically) while they outlive the margin, else fresh from the
// registry, under the profile's registry lock so that parallel callers
// ask once between them.
type Minter struct {
	// Dir is the cache and lock folder, <idcsctl state>/ocir.
	Dir     string
	Profile string
	// Margin: a token that expires within it is replaced. 0 means
	// DefaultMargin.
	Margin time.Duration
	Now    func() time.Time
	HTTP   *http.Client
	// Session makes the profile's OCI session fresh and returns a signer
	// with its key; it is called only when a token is due, under the lock.
	Session func(ctx context.Context) (Signer, error)
	// Notice hears about a long wait for the lock; nil: nobody.
	Notice io.Writer
}

// CacheDir is the cache and lock folder in idcsctl's state folder (the
// config file's folder).
func CacheDir(stateDir string) string { return filepath.Join(stateDir, "ocir") }

// CachePath is where profile's registry tokens are kept in dir.
func CachePath(dir, profile string) string { return filepath.Join(dir, profile+".json") }

func (m *Minter) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Minter) margin() time.Duration {
	if m.Margin > 0 {
		return m.Margin
	}
	return DefaultMargin
}

// Get returns a registry token for host that outlives the margin. The
// fast way reads the cache alone; a due token is fetched under the lock,
// after reading the cache again, so of parallel callers one fetches.
func (m *Minter) Get(ctx context.Context, host string) (*Token, error) {
	if t, ok := m.cached(host); ok {
		return t, nil
	}
	unlock, err := store.LockWith(ctx, m.Dir, m.Profile, store.LockOptions{Purpose: "asking a registry for a token", Notice: m.Notice})
	if err != nil {
		return nil, fmt.Errorf("lock the registry tokens of profile %q: %w", m.Profile, err)
	}
	defer unlock()
	if t, ok := m.cached(host); ok {
		return t, nil
	}
	sign, err := m.Session(ctx)
	if err != nil {
		return nil, err
	}
	hc := m.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	t, err := FetchToken(ctx, hc, sign, host, m.now())
	if err != nil {
		return nil, err
	}
	c := readCache(CachePath(m.Dir, m.Profile))
	m.dropExpired(c)
	c.Tokens[host] = *t
	if err := writeCache(CachePath(m.Dir, m.Profile), c); err != nil {
		return nil, err
	}
	return t, nil
}

func (m *Minter) cached(host string) (*Token, bool) {
	c := readCache(CachePath(m.Dir, m.Profile))
	t, ok := c.Tokens[host]
	if !ok || t.Secret == "" || !m.now().Add(m.margin()).Before(t.Expires) {
		return nil, false
	}
	return &t, true
}

func (m *Minter) dropExpired(c *cacheFile) {
	for h, t := range c.Tokens {
		if !m.now().Before(t.Expires) {
			delete(c.Tokens, h)
		}
	}
}

// Hosts lists the hosts with a cached token that outlives the margin,
// sorted.
func (m *Minter) Hosts() []string {
	var out []string
	for h := range readCache(CachePath(m.Dir, m.Profile)).Tokens {
		if _, ok := m.cached(h); ok {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// Forget removes host's cached token, under the lock.
func (m *Minter) Forget(ctx context.Context, host string) error {
	unlock, err := store.LockWith(ctx, m.Dir, m.Profile, store.LockOptions{Purpose: "forgetting a registry token", Notice: m.Notice})
	if err != nil {
		return fmt.Errorf("lock the registry tokens of profile %q: %w", m.Profile, err)
	}
	defer unlock()
	path := CachePath(m.Dir, m.Profile)
	c := readCache(path)
	if _, ok := c.Tokens[host]; !ok {
		return nil
	}
	delete(c.Tokens, host)
	m.dropExpired(c)
	return writeCache(path, c)
}

// RemoveCache deletes profile's cached registry tokens (logout). It
// reports whether there was a file.
func RemoveCache(dir, profile string) (bool, error) {
	err := os.Remove(CachePath(dir, profile))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("remove the cached registry tokens: %w", err)
}

// readCache reads the cache as the file token store reads its files: a
// symbolic link, a file others may read, or one that does not parse is
// no cache (the next write replaces it).
func readCache(path string) *cacheFile {
	c := &cacheFile{Tokens: map[string]Token{}}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxCacheFile {
		return c
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return c
	}
	data, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(data, c) != nil || c.Tokens == nil {
		return &cacheFile{Tokens: map[string]Token{}}
	}
	return c
}

func writeCache(path string, c *cacheFile) error {
	if len(c.Tokens) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the cached registry tokens: %w", err)
		}
		return nil
	}
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode the cached registry tokens: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the registry token folder: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("cache the registry token: %w", err)
	}
	return nil
}
