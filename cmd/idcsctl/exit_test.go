package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/session"
)

func TestExitCodeMapsErrorsToTheDocumentedCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, exitOK},
		{"anything else", errors.New("network down"), exitError},
		{"usage", usagef("bad flag"), exitUsage},
		{"config file", fmt.Errorf("load: %w", &config.Error{Path: "c.toml", Line: 3, Problem: "x"}), exitUsage},
		{"insecure domain", fmt.Errorf("domain: %w", auth.ErrInsecureURL), exitUsage},
		{"cancelled", fmt.Errorf("sign-in: %w", auth.ErrCancelled), exitCancelled},
		{"timed out", fmt.Errorf("sign-in: %w", auth.ErrTimeout), exitCancelled},
		{"context cancelled", context.Canceled, exitCancelled},
		{"login required", &session.LoginRequiredError{Profile: "p", Reason: "r"}, exitLoginRequired},
		{"http status", &statusError{status: 404}, exitHTTPStatus},
		{"provider error", &auth.ProviderError{Code: "invalid_client"}, exitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
