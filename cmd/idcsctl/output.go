package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/store"
)

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// when shows a time as people read it, from the command's clock.
func (a *app) when(t time.Time) string { return formatWhen(t, a.deps.Now()) }

// formatWhen shows a time in the person's zone, with the date only when it
// is not today, and how far it is from now: "14:05 CET (in 54 min)",
// "2026-11-26 09:00 CET (in 19 h 55 min)", "13:02 CET (3 min ago)". JSON
// output keeps RFC 3339 in UTC for scripts.
func formatWhen(t, now time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	lt, ln := t.Local(), now.Local()
	layout := "15:04 MST"
	if y, m, d := lt.Date(); y != ln.Year() || m != ln.Month() || d != ln.Day() {
		layout = "2006-01-02 15:04 MST"
	}
	left := t.Sub(now)
	if left < 0 {
		return lt.Format(layout) + " (" + humanDuration(-left) + " ago)"
	}
	return lt.Format(layout) + " (in " + humanDuration(left) + ")"
}

// humanDuration is a duration as a person says it, to the minute (to the
// second under a minute), rounded down.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// jsonTime renders a time for JSON output: RFC 3339 in UTC, or omitted.
func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}

// identity is who a stored token belongs to, as shown by login, status
// and whoami. Field names are a documented contract (docs/output.md).
type identity struct {
	Profile     string     `json:"profile"`
	Domain      string     `json:"domain,omitempty"`
	ClientID    string     `json:"client_id,omitempty"`
	Subject     string     `json:"subject,omitempty"`
	UserName    string     `json:"user_name,omitempty"`
	DisplayName string     `json:"display_name,omitempty"`
	Email       string     `json:"email,omitempty"`
	UserID      string     `json:"user_id,omitempty"`
	Issuer      string     `json:"issuer,omitempty"`
	Scopes      []string   `json:"scopes,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Store       string     `json:"store,omitempty"`
	Grant       string     `json:"grant,omitempty"`
}

func (i *identity) displayUser() string {
	switch {
	case i.UserName != "" && i.DisplayName != "" && i.DisplayName != i.UserName:
		return i.DisplayName + " <" + i.UserName + ">"
	case i.UserName != "":
		return i.UserName
	case i.DisplayName != "":
		return i.DisplayName
	case i.Subject != "":
		return i.Subject
	case i.Grant == "client_credentials":
		return "client " + i.ClientID
	}
	return "unknown user"
}

// isUser reports whether name (a --login-hint) names this identity: its
// user name, e-mail address or subject, in any case. An identity with none
// of them cannot be told apart, so it passes.
func (i *identity) isUser(name string) bool {
	if i.UserName == "" && i.Email == "" && i.Subject == "" {
		return true
	}
	for _, n := range []string{i.UserName, i.Email, i.Subject} {
		if n != "" && strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// summarize describes a stored token without the network: the claims come
// from the stored ID token, which was verified before it was stored.
func summarize(p *config.Resolved, storeName string, t *store.Token) *identity {
	id := &identity{
		Profile:   p.Name,
		Domain:    firstOf(t.Domain, p.Domain),
		ClientID:  firstOf(t.ClientID, p.ClientID),
		ExpiresAt: jsonTime(t.Expiry),
		Store:     storeName,
		Grant:     t.Grant,
	}
	if t.Scope != "" {
		id.Scopes = strings.Fields(t.Scope)
	}
	c := storedClaims(t.IDToken)
	id.Subject = claimString(c, "sub")
	id.Issuer = claimString(c, "iss")
	// The user shown: preferred_username, else the e-mail address (Dex sends
	// no preferred_username), else the subject, which may be opaque.
	id.UserName = firstOf(claimString(c, "preferred_username"), claimString(c, "user_name"), claimString(c, "email"), claimString(c, "sub"))
	id.DisplayName = firstOf(claimString(c, "user_displayname"), claimString(c, "name"))
	id.Email = claimString(c, "email")
	id.UserID = claimString(c, "user_id")
	return id
}

// storedClaims reads the claims of an ID token that was verified when it
// was stored. It must never be used on a token from the network.
func storedClaims(raw string) map[string]any {
	var c map[string]any
	if !storedClaimsInto(raw, &c) {
		return nil
	}
	return c
}

// storedClaimsInto is storedClaims into a struct of the claims wanted, which
// a command on the cached path (kube token) decodes faster than them all.
func storedClaimsInto(raw string, dst any) bool {
	if raw == "" {
		return false
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA})
	if err != nil {
		return false
	}
	return tok.UnsafeClaimsWithoutVerification(dst) == nil
}

// claimString reads a string claim made safe to show: claims come from the
// provider, and a display name with escape sequences must not reach the
// terminal (JSON output included, which does not escape C1 controls).
func claimString(c map[string]any, key string) string {
	s, _ := c[key].(string)
	return auth.Printable(s, maxClaimLen)
}

// maxClaimLen bounds a claim shown to a person.
const maxClaimLen = 256

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
