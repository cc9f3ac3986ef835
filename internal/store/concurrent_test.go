package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testReadersNeverSeeAPartialSave runs readers against one writer that keeps
// replacing the profile's token, alternating two versions, as another
// idcsctl process's refresh does (Save runs under Lock, so there is one
// writer at a time; readers such as `idcsctl token` with a fresh token take
// no lock). Every read must succeed and return one of the two versions,
// whole. It counts reads and saves rather than time (each reader reads at
// least reads times, and on until the writer has saved saves times), so a
// slow machine only makes it slower; it stops at the first failure.
//
// What it catches: a writer that truncates and rewrites the file in place
// (readers see an empty or half-written record), and a reader that fails
// when a rename lands between two of its own steps.
//
// open gives each reader and the writer a store of its own, as each process
// has.
func testReadersNeverSeeAPartialSave(t *testing.T, open func() Store, readers, reads int, minSaves int64) {
	t.Helper()
	s := open()
	a, b := smallToken(), bigToken()
	a.AccessToken, b.AccessToken = "version-a-"+a.AccessToken, "version-b-"+b.AccessToken
	if err := s.Save(bg(), "dev", a); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg(), 2*time.Minute)
	defer cancel()
	var done atomic.Bool
	var saves atomic.Int64
	var firstErr sync.Once
	var failure error
	fail := func(err error) {
		firstErr.Do(func() { failure = err })
		done.Store(true)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; !done.Load() && ctx.Err() == nil; i++ {
			tok := a
			if i%2 == 1 {
				tok = b
			}
			if err := s.Save(ctx, "dev", tok); err != nil {
				fail(fmt.Errorf("save #%d: %w", i+1, err))
				return
			}
			saves.Add(1)
		}
	})
	var readersWG sync.WaitGroup
	for r := range readers {
		rs := open()
		readersWG.Go(func() {
			for i := 0; i < reads || saves.Load() < minSaves; i++ {
				if done.Load() || ctx.Err() != nil {
					return
				}
				got, err := rs.Load(ctx, "dev")
				if err != nil {
					fail(fmt.Errorf("reader %d, read %d: %w", r+1, i+1, err))
					return
				}
				if got.AccessToken != a.AccessToken && got.AccessToken != b.AccessToken || got.RefreshToken != a.RefreshToken && got.RefreshToken != b.RefreshToken {
					fail(fmt.Errorf("reader %d, read %d: a token that is neither version", r+1, i+1))
					return
				}
			}
		})
	}
	readersWG.Wait()
	done.Store(true)
	wg.Wait()
	if failure != nil {
		t.Fatalf("after %d saves: %v", saves.Load(), failure)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("the readers did not finish: %v", err)
	}
	t.Logf("%d readers beside %d saves", readers, saves.Load())
}

func TestFileStoreReadersNeverSeeAPartialSave(t *testing.T) {
	dir := t.TempDir()
	testReadersNeverSeeAPartialSave(t, func() Store { return NewFile(dir) }, 4, 1000, 40)
}

// The keyring splits the 16 KB version into chunks (the fake refuses items
// over the Credential Manager's 2,560 bytes), so a reader can meet a save
// between the manifest and the chunks, or between two chunks.
func TestKeyringStoreReadersNeverSeeAPartialSave(t *testing.T) {
	fake := newFakeKeyring(windowsLimit)
	dir := t.TempDir()
	testReadersNeverSeeAPartialSave(t, func() Store {
		return NewKeyring(Options{Dir: dir, Keyring: fake, KeyringTimeout: 5 * time.Second})
	}, 4, 2000, 200)
}
