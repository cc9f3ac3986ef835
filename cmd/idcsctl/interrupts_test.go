package main

import (
	"context"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/store"
)

// TestInterruptsAreWatchedOnlyOnceACommandWaits: the cached token path
// installs no signal handler, since os/signal starts threads that every
// script's `idcsctl token` would pay for; a command that builds an HTTP
// client, and so waits on the network, does.
func TestInterruptsAreWatchedOnlyOnceACommandWaits(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	a, stdout, _, dir := testApp(t, now)
	watched := 0
	a.deps.WatchInterrupts = func() { watched++ }
	tok := &store.Token{AccessToken: "at-1", Expiry: now.Add(time.Hour), Domain: "https://idcs-x.identity.oraclecloud.com", ClientID: "c"}
	if err := store.NewFile(dir).Save(context.Background(), "default", tok); err != nil {
		t.Fatal(err)
	}

	if err := runToken(context.Background(), a, &tokenOptions{margin: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "at-1\n" {
		t.Fatalf("token printed %q", stdout)
	}
	if watched != 0 {
		t.Errorf("the cached token path watched for interrupts %d times, want 0", watched)
	}

	if _, err := a.httpClient(nil); err != nil {
		t.Fatal(err)
	}
	if watched != 1 {
		t.Errorf("building an HTTP client watched for interrupts %d times, want 1", watched)
	}
}
