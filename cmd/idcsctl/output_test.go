package main

import (
	"testing"
	"time"
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
