package auth

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPrintableRemovesEscapeSequencesWhole(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "Ada Lovelace", "Ada Lovelace"},
		{"CSI colour", "Ada\x1b[31m Lovelace\x1b[0m", "Ada Lovelace"},
		{"C1 CSI", "Ada\u009b2J Lovelace", "Ada Lovelace"},
		{"OSC title with BEL", "\x1b]0;pwned\x07Ada", "Ada"},
		{"OSC with ST", "\x1b]8;;http://evil\x1b\\Ada", "Ada"},
		{"C1 OSC", "\u009d0;pwned\u009cAda", "Ada"},
		{"line breaks become spaces", "Ada\r\nfake: line", "Ada  fake: line"},
		{"bell and NUL dropped", "A\x07d\x00a", "Ada"},
		{"lone ESC", "Ada\x1b", "Ada"},
		{"bidi override dropped", "Ada\u202eecalevol", "Adaecalevol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Printable(tc.in, 0); got != tc.want {
				t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := Printable("abcdef", 3); got != "abc…" {
		t.Errorf("limit: got %q", got)
	}
}

func TestRedactErrorReplacesPlainAndEncodedSecrets(t *testing.T) {
	secret := "s3cr+t/value=="
	pe := &ProviderError{Code: "invalid_request", Description: "got refresh_token=s3cr%2Bt%2Fvalue%3D%3D and s3cr+t/value==", URI: "https://x/?c=s3cr+t/value=="}
	err := RedactError(pe, secret, "ab")
	if strings.Contains(err.Error(), "s3cr") || strings.Count(err.Error(), redactedText) < 2 {
		t.Errorf("not redacted: %v", err)
	}
	if strings.Contains(pe.URI, "s3cr") {
		t.Errorf("URI not redacted: %q", pe.URI)
	}
}

// A token endpoint that quotes the request in its error gets none of the
// request's secrets shown: code, verifier, refresh token, client secret.
func TestTokenEndpointErrorQuotingTheRequestIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"you sent ` + r.Form.Encode() + ` auth ` + r.Header.Get("Authorization") + `"}`))
	}))
	defer srv.Close()
	c := &Client{Metadata: &Metadata{TokenEndpoint: srv.URL}, ClientID: "cid", ClientSecret: "the-client-secret", HTTP: srv.Client()}
	_, err := c.Refresh(context.Background(), "the-refresh-token")
	if err == nil {
		t.Fatal("refresh succeeded")
	}
	basic := base64.StdEncoding.EncodeToString([]byte("cid:the-client-secret"))
	for _, s := range []string{"the-refresh-token", "the-client-secret", basic} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error quotes %q: %v", s, err)
		}
	}
	if !strings.Contains(err.Error(), "refresh_token="+redactedText) {
		t.Errorf("error does not show where the secret was: %v", err)
	}
}
