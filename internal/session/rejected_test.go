package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/store"
)

func TestARejectedRefreshTokenIsRememberedAndEveryTokenKept(t *testing.T) {
	tests := []struct {
		name      string
		stored    *store.Token
		call      func(m *Manager) (*store.Token, error)
		wantToken string // the token handed out; "" for a sign-in needed
		wantMark  bool
	}{
		{
			name:     "expired: sign-in needed, the rejection recorded",
			stored:   tok("a0", "r0", -time.Minute),
			call:     func(m *Manager) (*store.Token, error) { return m.Token(context.Background()) },
			wantMark: true,
		},
		{
			name:     "forced while the access token lives: recorded, access token kept",
			stored:   tok("a0", "r0", time.Hour),
			call:     func(m *Manager) (*store.Token, error) { return m.Refresh(context.Background()) },
			wantMark: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.stored, func(string) (*auth.Result, error) { return nil, invalidGrant() })
			_, err := tt.call(f.m)
			if !errors.Is(err, ErrLoginRequired) {
				t.Fatalf("err = %v, want a sign-in required", err)
			}
			if want := "sign-in needed since " + now.Local().Format("15:04"); !strings.Contains(err.Error(), want) {
				t.Errorf("err %q does not say %q", err, want)
			}
			got := f.stored(t)
			if got.AccessToken != tt.stored.AccessToken || got.RefreshToken != tt.stored.RefreshToken || got.IDToken != tt.stored.IDToken || !got.Expiry.Equal(tt.stored.Expiry) {
				t.Errorf("stored %+v, want every token of %+v kept", got, tt.stored)
			}
			if !got.RefreshRejectedAt.Equal(now) {
				t.Errorf("RefreshRejectedAt = %v, want %v", got.RefreshRejectedAt, now)
			}
			// The next refresh asks nothing of the provider, and a token
			// that still lives is still handed out.
			_, err = f.m.Refresh(context.Background())
			if !errors.Is(err, ErrLoginRequired) {
				t.Errorf("second refresh: err = %v, want a sign-in required", err)
			}
			if n := len(f.r.calls()); n != 1 {
				t.Errorf("the provider was asked %d times, want 1", n)
			}
			tk, err := f.m.Token(context.Background())
			switch {
			case f.m.Valid(tt.stored) && (err != nil || tk.AccessToken != "a0"):
				t.Errorf("Token = %v, %v; want the live access token", tk, err)
			case !f.m.Valid(tt.stored) && !errors.Is(err, ErrLoginRequired):
				t.Errorf("Token err = %v, want a sign-in required", err)
			}
		})
	}
}

func TestASignInStoredMeanwhileIsNotMarkedRejected(t *testing.T) {
	f := newFixture(t, tok("a0", "r0", -time.Minute), nil)
	f.r.answer = func(string) (*auth.Result, error) {
		// Another terminal signs in while this refresh is refused; its
		// tokens have another refresh token.
		if err := f.st.Store.Save(context.Background(), profile, tok("a9", "r9", time.Hour)); err != nil {
			t.Error(err)
		}
		return nil, invalidGrant()
	}
	tk, err := f.m.Token(context.Background())
	if err != nil || tk.AccessToken != "a9" {
		t.Fatalf("Token = %v, %v; want the new sign-in's token", tk, err)
	}
	if got := f.stored(t); Rejected(got) || got.AccessToken != "a9" {
		t.Errorf("stored %+v, want the new sign-in's tokens, unmarked", got)
	}
}

func TestMergeClearsARecordedRejection(t *testing.T) {
	old := tok("a0", "r0", -time.Minute)
	old.RefreshRejectedAt = now
	if got := Merge(old, &auth.Result{AccessToken: "a1", Expiry: now.Add(time.Hour)}); Rejected(got) {
		t.Errorf("Merge kept the rejection: %+v", got)
	}
}

func TestClockSaysTheDateOnlyWhenNotToday(t *testing.T) {
	day := time.Date(2026, 12, 5, 10, 2, 0, 0, time.Local)
	tests := []struct {
		at   time.Time
		want string
	}{
		{at: day, want: "10:02"},
		{at: day.Add(-24 * time.Hour), want: "2026-12-04 10:02"},
	}
	for _, tt := range tests {
		if got := Clock(tt.at, day.Add(time.Hour)); got != tt.want {
			t.Errorf("Clock(%v) = %q, want %q", tt.at, got, tt.want)
		}
	}
}
