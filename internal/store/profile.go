package store

import "fmt"

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
