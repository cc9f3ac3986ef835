package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
)

// testApp is an app over buffers and a config folder in t.TempDir, for
// calling run functions directly.
func testApp(t *testing.T, now time.Time) (*app, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte("[profiles.default]\ndomain = \"https://idcs-x.identity.oraclecloud.com\"\nclient_id = \"c\"\ntoken_store = \"file\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	d := &deps{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }, Now: func() time.Time { return now }}
	return &app{deps: d, global: &globalOptions{configPath: cfg, output: "text"}}, &stdout, &stderr, dir
}

func TestTokenRunPrintsOnlyTheTokenOnStdout(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		tok        *store.Token
		output     string
		idToken    bool
		wantStdout string
		wantErr    error
	}{
		{
			name:       "valid token is printed alone",
			tok:        &store.Token{AccessToken: "at-1", Expiry: now.Add(time.Hour), Domain: "https://idcs-x.identity.oraclecloud.com", ClientID: "c"},
			wantStdout: "at-1\n",
		},
		{
			name:       "json has the documented fields",
			tok:        &store.Token{AccessToken: "at-1", TokenType: "Bearer", Expiry: now.Add(time.Hour)},
			output:     "json",
			wantStdout: `{"access_token":"at-1","token_type":"Bearer","expires_at":"2026-11-25T13:00:00Z"}`,
		},
		{
			name:    "expired without refresh token needs a sign-in",
			tok:     &store.Token{AccessToken: "at-1", Expiry: now.Add(30 * time.Second)},
			wantErr: session.ErrLoginRequired,
		},
		{
			name:    "tokens of another domain are not handed out",
			tok:     &store.Token{AccessToken: "at-1", Expiry: now.Add(time.Hour), Domain: "https://idcs-other.identity.oraclecloud.com", ClientID: "c"},
			wantErr: session.ErrLoginRequired,
		},
		{
			name:    "no ID token for --id-token",
			tok:     &store.Token{AccessToken: "at-1", Expiry: now.Add(time.Hour)},
			idToken: true,
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, _, dir := testApp(t, now)
			if tt.output != "" {
				a.global.output = tt.output
			}
			if err := store.NewFile(dir).Save(context.Background(), "default", tt.tok); err != nil {
				t.Fatal(err)
			}
			err := runToken(context.Background(), a, &tokenOptions{margin: time.Minute, idToken: tt.idToken})
			switch {
			case tt.wantErr == errAny && err == nil:
				t.Fatal("runToken succeeded, want an error")
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("runToken error = %v, want %v", err, tt.wantErr)
			case tt.wantErr == nil && err != nil:
				t.Fatalf("runToken error = %v", err)
			}
			got := stdout.String()
			if tt.output == "json" {
				var b bytes.Buffer
				if err := json.Compact(&b, stdout.Bytes()); err != nil {
					t.Fatal(err)
				}
				got = b.String()
			}
			if got != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tt.wantStdout)
			}
			if err != nil && strings.Contains(err.Error(), "at-1") {
				t.Errorf("error %q holds the token", err)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestStatusRunReportsACorruptEntryWithoutFailing(t *testing.T) {
	a, stdout, _, dir := testApp(t, time.Now())
	a.global.output = "json"
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens", "default.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runStatus(context.Background(), a, &statusOptions{}); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Profiles []profileStatus `json:"profiles"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Profiles) != 1 || out.Profiles[0].SignedIn || !strings.Contains(out.Profiles[0].Error, "idcsctl logout") {
		t.Fatalf("status = %+v, want one profile with an error naming idcsctl logout", out.Profiles)
	}
}
