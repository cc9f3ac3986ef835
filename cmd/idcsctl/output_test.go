package main

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/store"
)

func TestFormatWhenSaysLocalTimeAndTimeLeft(t *testing.T) {
	zone := time.FixedZone("CET", 3600)
	saved := time.Local
	time.Local = zone
	t.Cleanup(func() { time.Local = saved })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) // 13:00 CET
	tests := []struct {
		name string
		t    time.Time
		want string
	}{
		{"later today", now.Add(54*time.Minute + 30*time.Second), "13:54 CET (in 54 min)"},
		{"in seconds", now.Add(30 * time.Second), "13:00 CET (in 30 s)"},
		{"hours", now.Add(5*time.Hour + 3*time.Minute), "18:03 CET (in 5 h 3 min)"},
		{"whole hours", now.Add(2 * time.Hour), "15:00 CET (in 2 h)"},
		{"tomorrow shows the date", now.Add(20 * time.Hour), "2026-11-26 09:00 CET (in 20 h)"},
		{"days", now.Add(72 * time.Hour), "2026-11-28 13:00 CET (in 3 days)"},
		{"past", now.Add(-3 * time.Minute), "12:57 CET (3 min ago)"},
		{"unknown", time.Time{}, "unknown"},
	}
	for _, tt := range tests {
		if got := formatWhen(tt.t, now); got != tt.want {
			t.Errorf("%s: formatWhen = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestSummarizeShowsPreferredUsernameElseEmailElseSub: the user shown by
// login, status and whoami, from the stored ID token's claims.
func TestSummarizeShowsPreferredUsernameElseEmailElseSub(t *testing.T) {
	unsigned := func(claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
	}
	for _, tc := range []struct {
		name, claims, want string
	}{
		{"IDCS", `{"sub":"ada@example.com","user_displayname":"Ada"}`, "Ada <ada@example.com>"},
		{"preferred_username first", `{"sub":"0f3a","preferred_username":"ada","email":"ada@example.com"}`, "ada"},
		{"Dex: no preferred_username, the email", `{"sub":"CiQwOGE4Njg0Yi1kYjg4","email":"ada@example.com"}`, "ada@example.com"},
		{"only an opaque subject", `{"sub":"CiQwOGE4Njg0Yi1kYjg4"}`, "CiQwOGE4Njg0Yi1kYjg4"},
	} {
		id := summarize(&config.Resolved{Profile: config.Profile{Name: "p"}}, "file", &store.Token{IDToken: unsigned(tc.claims)})
		if got := id.displayUser(); got != tc.want {
			t.Errorf("%s: user shown %q, want %q", tc.name, got, tc.want)
		}
	}
}
