package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/testnet"
)

func TestJudgeAuthorizeAnswer(t *testing.T) {
	const (
		redirect = "http://127.0.0.1:8000/callback"
		client   = "idcsctl-app"
	)
	authURL, _ := url.Parse("https://idcs-1.identity.oraclecloud.com:443/oauth2/v1/authorize?client_id=idcsctl-app")
	html := func(title, p string) string {
		return "<!DOCTYPE html><html><head><title>" + title + "</title></head><body><p>" + p + "</p></body></html>"
	}
	tests := []struct {
		name      string
		status    int
		media     string
		location  string
		body      string
		wantTitle string // "" = not refused
		warn      bool
	}{
		// Recognised refusals end the sign-in.
		{"IDCS: unregistered redirect URI, an OAuth error document", 400, "application/json", "",
			`{"error":"invalid_redirect_uri","error_description":"Client idcsctl-app requested an invalid redirect URL: http://127.0.0.1:8000/callback. ECID: x"}`, "invalid_redirect_uri", false},
		{"unknown client as an OAuth error document with 401", 401, "application/json", "", `{"error":"invalid_client","error_description":"no such client"}`, "invalid_client", false},
		{"OAuth error document with 403", 403, "application/json;charset=UTF-8", "", `{"error":"unauthorized_client"}`, "unauthorized_client", false},
		{"a redirect to IDCS's error page", 302, "text/html", "/ui/v1/error?errorCtx=abc", "", "the domain's error page", false},
		{"a redirect to IDCS's error page, absolute and with :443", 303, "", "https://IDCS-1.identity.oraclecloud.com/ui/v1/error", "", "the domain's error page", false},
		{"the provider's HTML page about the redirect URI", 400, "text/html", "", html("Invalid redirect URI", "The redirect_uri is not registered."), "Invalid redirect URI", false},
		{"the provider's HTML page naming the client id", 400, "text/html", "", html("Error", "Unknown idcsctl-app."), "Error", false},

		// Not recognised: one warning, and the browser opens.
		{"a WAF's 403 page", 403, "text/html", "", html("403 Forbidden", "Request blocked by the web application firewall."), "", true},
		{"a WAF's 403 page that mentions the application", 403, "text/html", "", html("Access denied", "This application is protected."), "", true},
		{"a rate limiter's 429, even with an OAuth-looking body", 429, "application/json", "", `{"error":"temporarily_unavailable"}`, "", true},
		{"a 429 page", 429, "text/html", "", html("Too Many Requests", "Slow down."), "", true},
		{"an unknown 400 page", 400, "text/html", "", html("Bad Request", "Request header or cookie too large."), "", true},
		{"a JSON 403 that is no OAuth error", 403, "application/json", "", `{"message":"Forbidden"}`, "", true},
		{"a JSON error with a code OAuth does not have", 403, "application/json", "", `{"error":"Forbidden"}`, "", true},
		{"a 404", 404, "text/plain", "", "not found", "", true},
		{"a 502 from a proxy", 502, "text/html", "", html("Bad gateway", "The client application..."), "", true},

		// Accepted, or nothing to judge: the browser opens without a word.
		{"the sign-in page", 200, "text/html", "", "", "", false},
		{"a redirect to the sign-in page", 302, "", "/ui/v1/signin?ctx=1", "", "", false},
		{"a redirect back with an error (prompt=none without this request's session)", 302, "", redirect + "?error=login_required&state=x", "", "", false},
		{"a redirect to an error page on another host", 302, "", "https://evil.example/ui/v1/error", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.media != "" {
				resp.Header.Set("Content-Type", tt.media)
			}
			if tt.location != "" {
				resp.Header.Set("Location", tt.location)
			}
			v := judgeAuthorizeAnswer(resp, []byte(tt.body), authURL, redirect, client)
			switch {
			case tt.wantTitle == "" && v.refused != nil:
				t.Errorf("refused (%v), want the browser to open", v.refused)
			case tt.wantTitle != "" && (v.refused == nil || v.refused.Title != tt.wantTitle || v.refused.Status != tt.status || v.refused.RedirectURI != redirect):
				t.Errorf("verdict %+v, want a refusal titled %q", v.refused, tt.wantTitle)
			}
			if (v.warning != "") != tt.warn {
				t.Errorf("warning %q, want one: %v", v.warning, tt.warn)
			}
			if tt.warn && !strings.Contains(v.warning, fmt.Sprint(tt.status)) {
				t.Errorf("warning %q does not name the status", v.warning)
			}
		})
	}
}

// TestLoginBehindAFirewallWarnsAndOpensTheBrowser: a 403 in front of the
// authorization endpoint does not end a sign-in that a browser could
// complete.
func TestLoginBehindAFirewallWarnsAndOpensTheBrowser(t *testing.T) {
	p := newTestProvider(t)
	waf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "<html><head><title>403 Forbidden</title></head><body><p>Blocked.</p></body></html>")
	}))
	defer waf.Close()
	c := p.client()
	md := *c.Metadata
	md.AuthorizationEndpoint = waf.URL + "/oauth2/v1/authorize"
	c.Metadata = &md
	port := testnet.Port(t)
	var stderr bytes.Buffer
	opened := false
	// The person presses Ctrl-C once the browser opens: the pre-check has
	// all the time it needs (with a short sign-in timeout, a slow answer
	// on a loaded machine read as no answer, and no warning).
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	_, err := c.Login(ctx, LoginOptions{
		Ports: []int{port}, CheckRequest: true, Stderr: &stderr, Timeout: time.Minute,
		OpenBrowser: func(string) error { opened = true; cancel(); return nil },
	})
	if !errors.Is(err, ErrCancelled) {
		t.Fatalf("err = %v, want the sign-in to wait for the browser until Ctrl-C", err)
	}
	if !opened {
		t.Error("the browser was not opened")
	}
	if n := strings.Count(stderr.String(), "warning:"); n != 1 || !strings.Contains(stderr.String(), "HTTP 403") {
		t.Errorf("stderr = %q, want one warning naming HTTP 403", stderr.String())
	}
}
