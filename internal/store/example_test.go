package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/idcsctl/idcsctl/internal/store"
)

// A command opens the store the user chose, then loads, refreshes and saves
// a profile's token under the profile's lock.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "idcsctl-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	kind, err := store.ParseKind("file") // the --token-store flag
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := store.Open(ctx, kind, store.Options{Dir: dir, Warn: os.Stderr})
	if err != nil {
		fmt.Println(err)
		return
	}

	unlock, err := store.Lock(ctx, dir, "dev")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer unlock()

	if _, err := st.Load(ctx, "dev"); errors.Is(err, store.ErrNotFound) {
		fmt.Println("not signed in yet")
	}
	tok := &store.Token{AccessToken: "...", Expiry: time.Now().Add(time.Hour), Grant: "authorization_code"}
	if err := st.Save(ctx, "dev", tok); err != nil {
		fmt.Println(err)
		return
	}
	profiles, _ := st.Profiles(ctx)
	fmt.Println(st.Name(), profiles)
	// Output:
	// not signed in yet
	// file [dev]
}
