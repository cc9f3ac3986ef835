package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestStatusTextSaysWhatEachProfileNeeds(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 30, 0, 0, time.Local)
	rejected := time.Date(2026, 12, 5, 10, 2, 0, 0, time.Local)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	tests := []struct {
		name string
		row  profileStatus
		want string
	}{
		{name: "signed out", row: profileStatus{Name: "work"}, want: "signed out"},
		{name: "expired, refreshable", row: profileStatus{Name: "work", SignedIn: true, Expired: true, Refreshable: true, ExpiresAt: &past}, want: "expired (refreshable)"},
		{name: "refresh rejected, expired", row: profileStatus{Name: "work", SignedIn: true, Expired: true, ExpiresAt: &past, RefreshRejectedAt: &rejected},
			want: "sign-in needed since 10:02 (`idcsctl login -p work`)"},
		{name: "refresh rejected, default profile", row: profileStatus{Name: "default", SignedIn: true, Expired: true, ExpiresAt: &past, RefreshRejectedAt: &rejected},
			want: "sign-in needed since 10:02 (`idcsctl login`)"},
		{name: "refresh rejected, still valid", row: profileStatus{Name: "work", SignedIn: true, ExpiresAt: &future, RefreshRejectedAt: &rejected},
			want: "signed in; refresh rejected at 10:02 (`idcsctl login -p work` before it expires)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			a := &app{deps: &deps{Getenv: func(string) string { return "" }}}
			if err := a.writeStatusText(&b, []profileStatus{tt.row}, now); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("status says\n%s\nwant %q", b.String(), tt.want)
			}
		})
	}
}
