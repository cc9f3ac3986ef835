package ocir

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func minter(t *testing.T, host string, sessions *atomic.Int32) *Minter {
	return &Minter{
		Dir: filepath.Join(t.TempDir(), "ocir"), Profile: "p", HTTP: http.DefaultClient,
		Session: func(context.Context) (Signer, error) { sessions.Add(1); return sign, nil },
	}
}

// Parallel callers ask the registry once between them, and later ones
// read the cache: a 0600 file in a 0700 folder.
func TestMinterAsksOnceForParallelCallers(t *testing.T) {
	var requests, sessions atomic.Int32
	host := registry(t, time.Hour, &requests)
	m := minter(t, host, &sessions)
	var wg sync.WaitGroup
	secrets := make([]string, 8)
	errs := make([]error, 8)
	for i := range secrets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := m.Get(context.Background(), host)
			errs[i] = err
			if err == nil {
				secrets[i] = tok.Secret
			}
		}()
	}
	wg.Wait()
	for i := range secrets {
		if errs[i] != nil || secrets[i] != secrets[0] || secrets[0] == "" {
			t.Fatalf("caller %d: %v, token equal to the first: %v", i, errs[i], secrets[i] == secrets[0])
		}
	}
	if requests.Load() != 1 || sessions.Load() != 1 {
		t.Fatalf("%d token requests, %d sessions; want 1, 1", requests.Load(), sessions.Load())
	}
	fi, err := os.Stat(CachePath(m.Dir, m.Profile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", fi, err)
	}
	if di, err := os.Stat(m.Dir); err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("cache folder: %v %v", di, err)
	}
	if got := m.Hosts(); len(got) != 1 || got[0] != host {
		t.Fatalf("Hosts() = %v", got)
	}
}

func TestMinterRenewsWhatExpiresWithinTheMargin(t *testing.T) {
	var requests, sessions atomic.Int32
	host := registry(t, 30*time.Second, &requests) // under the one-minute margin
	m := minter(t, host, &sessions)
	for range 3 {
		if _, err := m.Get(context.Background(), host); err != nil {
			t.Fatal(err)
		}
	}
	if requests.Load() != 3 {
		t.Fatalf("%d token requests, want 3", requests.Load())
	}
}

func TestMinterForgetsAndDistrustsALooseCache(t *testing.T) {
	var requests, sessions atomic.Int32
	host := registry(t, time.Hour, &requests)
	m := minter(t, host, &sessions)
	ctx := context.Background()
	if _, err := m.Get(ctx, host); err != nil {
		t.Fatal(err)
	}
	if err := m.Forget(ctx, host); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(CachePath(m.Dir, m.Profile)); !os.IsNotExist(err) {
		t.Fatalf("the cache of no token is still there: %v", err)
	}
	if _, err := m.Get(ctx, host); err != nil {
		t.Fatal(err)
	}
	// A cache others can read is not trusted: the next Get asks anew and
	// replaces it with a private one.
	if err := os.Chmod(CachePath(m.Dir, m.Profile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, host); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 3 {
		t.Fatalf("%d token requests, want 3", requests.Load())
	}
	if fi, _ := os.Stat(CachePath(m.Dir, m.Profile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache mode %v", fi.Mode())
	}
	if removed, err := RemoveCache(m.Dir, m.Profile); !removed || err != nil {
		t.Fatalf("RemoveCache: %v %v", removed, err)
	}
}
