package ocir

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func jwtWithExp(exp time.Time) string {
	p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u","exp":` + strconv.FormatInt(exp.Unix(), 10) + `}`))
	return "eyJhbGciOiJIUzI1NiJ9." + p + ".c2ln"
}

func TestParseTokenAnswer(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(37 * time.Minute)
	tests := []struct {
		name, ctype, body string
		wantExp           time.Time
		wantErr           string
	}{
		{"a JWT's exp wins", "application/json", `{"token":"` + jwtWithExp(exp) + `","expires_in":60}`, exp, ""},
		{"expires_in for an opaque token", "application/json", `{"token":"opaque-token","expires_in":120}`, now.Add(2 * time.Minute), ""},
		{"no expiry: the default", "application/json", `{"token":"opaque-token"}`, now.Add(DefaultTokenTTL), ""},
		{"not JSON", "text/html; charset=utf-8", "<html>busy</html>", time.Time{}, "not a JSON object (text/html)"},
		{"no token", "application/json", `{"access_token":"","expires_in":300}`, time.Time{}, "answered no token"},
		{"a token with a line break", "application/json", `{"token":"a\nb"}`, time.Time{}, "characters a password cannot hold"},
		{"huge", "application/json", `{"token":"` + strings.Repeat("A", MaxTokenAnswer) + `"}`, time.Time{}, "more than 64 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseTokenAnswer("iad.ocir.io", tc.ctype, []byte(tc.body), now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrTokenAnswer) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "AAAA") || strings.Contains(err.Error(), "busy") {
					t.Fatalf("the error carries the answer: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Expires.Equal(tc.wantExp) {
				t.Fatalf("expires %v, want %v", tok.Expires, tc.wantExp)
			}
		})
	}
}

// registry serves tokens that live ttl and counts the token requests.
func registry(t *testing.T, ttl time.Duration, n *atomic.Int32) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != TokenPath || r.Header.Get("Authorization") != "Signature signed" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"code":"NotAuthenticated","message":"The required information to complete authentication was not provided."}`))
			return
		}
		n.Add(1)
		_, _ = w.Write([]byte(`{"token":"` + jwtWithExp(time.Now().Add(ttl)) + `"}`))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func sign(r *http.Request) error { r.Header.Set("Authorization", "Signature signed"); return nil }

func TestFetchTokenSaysWhyItWasRefused(t *testing.T) {
	var n atomic.Int32
	host := registry(t, time.Hour, &n)
	_, err := FetchToken(context.Background(), http.DefaultClient, func(*http.Request) error { return nil }, host, time.Now())
	if err == nil || !strings.Contains(err.Error(), "HTTP 401: NotAuthenticated The required information") {
		t.Fatalf("err = %v", err)
	}
	if _, err := FetchToken(context.Background(), http.DefaultClient, sign, host, time.Now()); err != nil {
		t.Fatal(err)
	}
}
