package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
)

// Every error OpenID Connect's prompt=none ends with (Core 3.1.2.6) is
// "sign-in required", exit 4 (docs/exit-codes.md), whatever the domain
// calls it; another authorization error is not.
func TestPromptNoneErrorsAreSignInRequired(t *testing.T) {
	file, err := config.Load(filepath.Join(t.TempDir(), "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	p := &config.Resolved{Profile: config.Profile{Name: "default", RedirectPorts: config.DefaultRedirectPorts}}
	for code, want := range map[string]int{
		"login_required":             exitLoginRequired,
		"interaction_required":       exitLoginRequired,
		"consent_required":           exitLoginRequired,
		"account_selection_required": exitLoginRequired,
		"invalid_scope":              exitError,
	} {
		pe := &auth.ProviderError{Code: code, Description: "the domain's words", Endpoint: "authorization"}
		got := signInAttempt{file: file, p: p}.failed(pe)
		if c := exitCode(got); c != want {
			t.Errorf("%s: exit code %d, want %d (%v)", code, c, want, got)
		}
		if !errors.Is(got, pe) {
			t.Errorf("%s: %v no longer carries the domain's error", code, got)
		}
	}
}
