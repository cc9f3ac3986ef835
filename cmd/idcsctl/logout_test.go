package main

import (
	"strings"
	"testing"
)

// TestSignOutInterruptedSaysWhatIsLeft: a Ctrl-C during logout --browser
// names the sign-out, what happened to the tokens, and how to end the
// browser session by hand; never a sign-in.
func TestSignOutInterruptedSaysWhatIsLeft(t *testing.T) {
	tests := []struct {
		name                string
		noRevoke, forgotten bool
		endSession          string
		want                []string
	}{
		{"revoked", false, true, "https://d/oauth2/v1/userlogout",
			[]string{`sign-out interrupted: the tokens of profile "p" were already revoked at the domain and removed from this machine`, "open https://d/oauth2/v1/userlogout in the browser"}},
		{"no revoke", true, true, "",
			[]string{"removed from this machine (not revoked: --no-revoke)", "sign out of the domain in the browser"}},
		{"tokens not forgotten", false, false, "",
			[]string{`the tokens of profile "p" may not all be gone (see above)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signOutInterrupted("p", tt.noRevoke, tt.forgotten, tt.endSession)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "sign-in") {
				t.Errorf("%q speaks of a sign-in", err)
			}
		})
	}
}
