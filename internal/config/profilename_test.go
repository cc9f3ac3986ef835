package config

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidProfileNameMatchesTheDocumentedPattern checks the written-out
// name check against the regular expression it replaces, on every string
// of up to three characters from an alphabet that has each kind of byte
// the rule treats apart, and on the length limits.
func TestValidProfileNameMatchesTheDocumentedPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	alphabet := []string{"a", "Z", "0", "9", ".", "_", "-", " ", "/", "é", "\x00", "\n", "{", "`", "@", "[", ":"}
	names := []string{"", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65), "a" + strings.Repeat("-", 63), "-" + strings.Repeat("a", 63)}
	for _, a := range alphabet {
		names = append(names, a)
		for _, b := range alphabet {
			names = append(names, a+b)
			for _, c := range alphabet {
				names = append(names, a+b+c)
			}
		}
	}
	for _, name := range names {
		if got, want := validProfileName(name), pattern.MatchString(name); got != want {
			t.Errorf("validProfileName(%q) = %v, want %v", name, got, want)
		}
	}
}
