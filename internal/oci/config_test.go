package oci

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const userConfig = `# my OCI config
[DEFAULT]
user=ocid1.user.oc1..aaaa
fingerprint=aa:bb
key_file=~/.oci/oci_api_key.pem
tenancy=ocid1.tenancy.oc1..aaaa
region=eu-frankfurt-1

; the work tenancy
[work]
user = ocid1.user.oc1..bbbb
  continued value
key_file : ~/.oci/work.pem
`

var sessionKeys = []KV{{"fingerprint", "11:22"}, {"key_file", "/k"}, {"tenancy", "ocid1.tenancy.oc1..x"}, {"region", "us-ashburn-1"}, {"security_token_file", "/t"}}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigAddThenRemoveKeepsEveryOtherByte(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"user config", userConfig},
		{"no final newline", strings.TrimSuffix(userConfig, "\n") + "x=1"},
		{"CRLF", strings.ReplaceAll(userConfig, "\n", "\r\n")},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.content)
			c, err := ReadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.SetSection("idcsctl-default", sessionKeys); err != nil {
				t.Fatal(err)
			}
			if err := c.Write(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			base := tc.content
			if base != "" && !strings.HasSuffix(base, "\n") {
				base += "\n"
			}
			if !strings.HasPrefix(string(got), base) {
				t.Fatalf("the user's bytes changed:\n%q", got)
			}
			if !strings.Contains(string(got), "[idcsctl-default]") || !strings.Contains(string(got), "security_token_file=/t") {
				t.Fatalf("no section written:\n%s", got)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want the file's own 0640", fi.Mode().Perm())
			}
			// A second set with other values replaces the section in place.
			c, _ = ReadConfig(path)
			keys := append([]KV(nil), sessionKeys...)
			keys[0].Value = "33:44"
			if err := c.SetSection("idcsctl-default", keys); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(c.Bytes()), "[idcsctl-default]"); n != 1 {
				t.Fatalf("%d sections after a replace", n)
			}
			if _, err := c.RemoveSection("idcsctl-default"); err != nil {
				t.Fatal(err)
			}
			if string(c.Bytes()) != base {
				t.Fatalf("after remove:\n%q\nwant\n%q", c.Bytes(), base)
			}
		})
	}
}

func TestConfigReplacesASectionBetweenOthers(t *testing.T) {
	content := "[a]\nx=1\n\n# about b\n[b]\nold=1\n# trailing comment of b stays\n\n[c]\ny=2\n"
	c, err := ReadConfig(writeFile(t, content))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetSection("b", []KV{{"k", "v"}}); err != nil {
		t.Fatal(err)
	}
	want := "[a]\nx=1\n\n# about b\n[b]\nk=v\n# trailing comment of b stays\n\n[c]\ny=2\n"
	if string(c.Bytes()) != want {
		t.Fatalf("got\n%s\nwant\n%s", c.Bytes(), want)
	}
	keys, _ := c.Section("b")
	if keys["k"] != "v" || len(keys) != 1 {
		t.Fatalf("section b = %v", keys)
	}
}

func TestConfigRefusesWhatItCannotEdit(t *testing.T) {
	cases := []struct {
		name, content string
		line          int
	}{
		{"key before a section", "x=1\n[a]\n", 1},
		{"not a key", "[a]\njust words\n", 2},
		{"duplicate section", "[a]\nx=1\n[a]\n", 3},
		{"broken header", "[a\nx=1\n", 1},
		{"orphan continuation", "[a]\n  more\n", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadConfig(writeFile(t, tc.content))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Line != tc.line {
				t.Fatalf("err = %v, want a ConfigError at line %d", err, tc.line)
			}
		})
	}
	t.Run("symlink", func(t *testing.T) {
		real := writeFile(t, userConfig)
		link := filepath.Join(t.TempDir(), "config")
		if err := os.Symlink(real, link); err != nil {
			t.Skip("no symlinks here:", err)
		}
		_, err := ReadConfig(link)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("control character in a value", func(t *testing.T) {
		c, _ := ReadConfig(writeFile(t, ""))
		if err := c.SetSection("s", []KV{{"region", "x\n[DEFAULT]"}}); err == nil {
			t.Fatal("a value with a newline was written")
		}
	})
}
