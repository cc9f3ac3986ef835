package store

import (
	"fmt"
	"path/filepath"
	"slices"
)

const maxProfileLen = 64

// checkProfile enforces the config package's profile name rule here too,
// because a name becomes a file name and a keyring item name: it must not
// contain path separators, start with a dot, or be empty.
func checkProfile(name string) error {
	ok := len(name) >= 1 && len(name) <= maxProfileLen && isAlnum(name[0])
	for i := 1; ok && i < len(name); i++ {
		c := name[i]
		ok = isAlnum(c) || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("profile name %q is not valid: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Known lists the profiles that have tokens in the file store under dir or
// an entry in the keyring's index there, sorted and without duplicates. It
// reads only folders, never the keyring, so telling a mistyped profile name
// from a signed-out profile costs nothing.
func Known(dir string) ([]string, error) {
	files, err := listProfiles(filepath.Join(dir, tokensFolder), ".json")
	if err != nil {
		return nil, err
	}
	keyring, err := listProfiles(filepath.Join(dir, indexFolder), "")
	if err != nil {
		return nil, err
	}
	names := append(files, keyring...)
	slices.Sort(names)
	return slices.Compact(names), nil
}
