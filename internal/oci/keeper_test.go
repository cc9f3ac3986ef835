package oci

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestClaimsMargin(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		issued time.Time
		life   time.Duration
		asked  time.Duration
		want   time.Duration
	}{
		{"an hour's UPST keeps the margin asked for", t0, time.Hour, 5 * time.Minute, 5 * time.Minute},
		{"a 12 s UPST is renewed 3 s early", t0, 12 * time.Second, 5 * time.Minute, 3 * time.Second},
		{"a 20 min UPST is renewed 5 min early", t0, 20 * time.Minute, 10 * time.Minute, 5 * time.Minute},
		{"no iat: the margin asked for", time.Time{}, 12 * time.Second, 5 * time.Minute, 5 * time.Minute},
		{"iat after exp: the margin asked for", t0.Add(time.Minute), 0, time.Minute, time.Minute},
		{"a zero margin stays zero", t0, time.Hour, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := t0.Add(tc.life)
			c := Claims{Issued: tc.issued, Expiry: exp}
			if got := c.Margin(tc.asked); got != tc.want {
				t.Errorf("Margin(%s) = %s, want %s", tc.asked, got, tc.want)
			}
		})
	}
}

// fakeClock is a clock whose After moves it on at once: a keeper's whole
// schedule runs without waiting, and the test reads when each call came.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// keeperRun runs a keeper of a session issued at the clock's time with
// life, whose Ensure answers with results in turn (a nil error: a session
// renewed for another life from then), until results run out. It returns
// the times of the Ensure calls and what the keeper reported.
func keeperRun(t *testing.T, life, margin time.Duration, results []error) (calls []time.Duration, events []KeepEvent) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	start := clock.now
	session := func() *Session {
		return &Session{Name: "s", Issued: clock.now, Expiry: clock.now.Add(life)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k := &Keeper{
		Margin: margin, Now: clock.Now, After: clock.After,
		Report: func(ev KeepEvent) { events = append(events, ev) },
		Ensure: func(context.Context) (*Session, error) {
			if len(calls) == len(results) {
				cancel()
				return nil, ctx.Err()
			}
			calls = append(calls, clock.now.Sub(start))
			if err := results[len(calls)-1]; err != nil {
				return nil, err
			}
			return session(), nil
		},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.Run(ctx, session())
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the keeper did not end when its context did")
	}
	return calls, events
}

func TestKeeperRenewsOncePerLifetimeAtTheLead(t *testing.T) {
	calls, events := keeperRun(t, time.Hour, 5*time.Minute, []error{nil, nil, nil})
	want := []time.Duration{55 * time.Minute, 110 * time.Minute, 165 * time.Minute}
	if !equalDurations(calls, want) {
		t.Errorf("renewals at %v, want %v", calls, want)
	}
	for _, ev := range events {
		if ev.Kind != Renewed {
			t.Errorf("reported %v, want only renewals", ev.Kind)
		}
	}
	// A short UPST: a quarter of its lifetime early.
	calls, _ = keeperRun(t, 12*time.Second, 5*time.Minute, []error{nil, nil})
	if want := []time.Duration{9 * time.Second, 18 * time.Second}; !equalDurations(calls, want) {
		t.Errorf("12 s UPST renewals at %v, want %v", calls, want)
	}
}

func TestKeeperReportsARunOfFailuresOnceAndBacksOff(t *testing.T) {
	refused := errors.New("refused")
	// Renewal due at 55 min; it fails until 55 min + 31 min, then works.
	results := []error{refused, refused, refused, refused, refused, refused, refused, refused, refused, nil, refused, nil}
	calls, events := keeperRun(t, time.Hour, 5*time.Minute, results)
	// Pauses: 30 s, then doubling up to the lead (5 min); the session's
	// expiry (at 60 min) is a wake-up of its own.
	want := []time.Duration{
		55 * time.Minute,
		55*time.Minute + 30*time.Second,
		56*time.Minute + 30*time.Second,
		58*time.Minute + 30*time.Second,
		60 * time.Minute, // expired: said once
		65 * time.Minute,
		70 * time.Minute,
		75 * time.Minute,
		80 * time.Minute,
		85 * time.Minute, // renewed: valid until 145 min
		140 * time.Minute,
		140*time.Minute + 30*time.Second, // a new run of failures starts over at 30 s
	}
	if !equalDurations(calls, want) {
		t.Errorf("tries at\n%v, want\n%v", calls, want)
	}
	var kinds []KeepEventKind
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	wantKinds := []KeepEventKind{Failing, Expired, Recovered, Failing, Recovered}
	if len(kinds) != len(wantKinds) {
		t.Fatalf("reported %v, want %v", kinds, wantKinds)
	}
	for i := range kinds {
		if kinds[i] != wantKinds[i] {
			t.Fatalf("reported %v, want %v", kinds, wantKinds)
		}
	}
	if events[0].Err != refused || events[0].Session.Expiry.Sub(events[0].Session.Issued) != time.Hour {
		t.Errorf("the failure report carries %v and a session of %s, want the error and the last good session", events[0].Err, events[0].Session.Expiry.Sub(events[0].Session.Issued))
	}
	if events[2].Tries != 9 {
		t.Errorf("recovered after %d tries, want 9", events[2].Tries)
	}
}

func TestKeeperNeverSpinsOnASessionThatIsAlreadyDue(t *testing.T) {
	// Ensure answers with the same, already due session: a keeper must
	// wait at least a second between calls, whatever the clocks say.
	clock := &fakeClock{now: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	due := &Session{Issued: clock.now.Add(-time.Hour), Expiry: clock.now.Add(time.Minute)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls []time.Time
	k := &Keeper{Margin: 5 * time.Minute, Now: clock.Now, After: clock.After,
		Ensure: func(context.Context) (*Session, error) {
			if calls = append(calls, clock.now); len(calls) == 5 {
				cancel()
			}
			return due, nil
		}}
	k.Run(ctx, due)
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Sub(calls[i-1]); gap < time.Second {
			t.Fatalf("calls %s apart, want at least 1s", gap)
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
