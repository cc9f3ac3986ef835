package oci

import (
	"context"
	"time"
)

// Keeper keeps one session fresh for as long as it runs, for a program
// that reads the session's files over hours (Terraform, a script of oci
// commands): the OCI SDKs and the oci CLI read the token file again for
// each request, so a UPST renewed in place, with the same key, keeps them
// working past the first one's hour.
type Keeper struct {
	// Ensure makes the session usable for at least the margin, under the
	// profile's lock, as Ensure does: it exchanges only when the session
	// is due, so the keepers of one session share each exchange.
	Ensure func(ctx context.Context) (*Session, error)
	// Margin is the renewal margin asked for; a short UPST is renewed a
	// quarter of its lifetime before it expires (Claims.Margin).
	Margin time.Duration
	// Now and After are the clock; nil means the real one.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// Report hears what happened: each renewal, and a run of failures
	// once when it starts, once when the session expires during it and
	// once when it ends.
	Report func(KeepEvent)
}

// KeepEventKind says what a KeepEvent is about.
type KeepEventKind int

// What a keeper reports.
const (
	// Renewed: the session was made fresh (by this keeper, or found
	// renewed by another process).
	Renewed KeepEventKind = iota
	// Failing: a renewal failed after others succeeded; the keeper keeps
	// trying, less and less often.
	Failing
	// Expired: the session expired while renewals failed.
	Expired
	// Recovered: a renewal succeeded after failures.
	Recovered
)

// KeepEvent is one thing a keeper reports.
type KeepEvent struct {
	Kind KeepEventKind
	// Session is the session as it now is: the renewed one, or the last
	// good one while renewals fail.
	Session *Session
	// Err is the failure, for Failing and Expired.
	Err error
	// Tries counts the failed renewals of the current run of failures.
	Tries int
}

// Lead is how long before s expires a keeper renews it, for the margin
// asked for.
func Lead(s *Session, margin time.Duration) time.Duration {
	c := Claims{Issued: s.Issued, Expiry: s.Expiry}
	return c.Margin(margin)
}

// Run renews s before it expires, as often as needed, until ctx ends, and
// returns the session as it last made or found it. A
// renewal that fails is tried again after a pause that doubles, from a
// fifth of the lead (at least a second, at most 30 s) up to the lead (at
// most 5 minutes); the keeper never gives up, since the fix (a new
// sign-in, a trust restored, the network back) comes from elsewhere.
func (k *Keeper) Run(ctx context.Context, s *Session) *Session {
	now, after := k.Now, k.After
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	report := func(kind KeepEventKind, s *Session, err error, tries int) {
		if k.Report != nil {
			k.Report(KeepEvent{Kind: kind, Session: s, Err: err, Tries: tries})
		}
	}
	var (
		tries       int
		pause       time.Duration
		expiredSaid bool
		lastErr     error
	)
	for {
		lead := Lead(s, k.Margin)
		var wait time.Duration
		if tries == 0 {
			// Never a busy loop, whatever the clocks say.
			wait = max(s.Expiry.Sub(now())-lead, time.Second)
		} else {
			wait = pause
			if untilExpiry := s.Expiry.Sub(now()); !expiredSaid && untilExpiry < wait {
				wait = max(untilExpiry, 0)
			}
		}
		select {
		case <-ctx.Done():
			return s
		case <-after(wait):
		}
		if tries > 0 && !expiredSaid && !now().Before(s.Expiry) {
			expiredSaid = true
			report(Expired, s, lastErr, tries)
		}
		next, err := k.Ensure(ctx)
		if ctx.Err() != nil {
			return s
		}
		if err != nil {
			tries++
			lastErr = err
			if tries == 1 {
				pause = min(max(lead/5, time.Second), 30*time.Second)
				report(Failing, s, err, tries)
			} else {
				pause = min(2*pause, max(min(lead, 5*time.Minute), time.Second))
			}
			continue
		}
		s = next
		if tries > 0 {
			report(Recovered, s, nil, tries)
		} else {
			report(Renewed, s, nil, 0)
		}
		tries, expiredSaid, lastErr = 0, false, nil
	}
}
