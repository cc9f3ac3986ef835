package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzLoad reads fuzzed bytes as the config file. Load must never panic and
// must refuse bad input only with a *Error naming the file; a file it
// accepts must hold only valid profile names, must resolve without panic,
// and must come back the same after Save and Load.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		sample,
		"",
		"# only a comment\n",
		`default_profile = "work"`,
		"[profiles.work]\ndomain = \"https://idcs-x.identity.oraclecloud.com\"\nclinet_id = \"x\"\n",
		"[profiles.work]\ndomain = \"http://idcs-x.identity.oraclecloud.com\"\nclient_id = \"x\"\n",
		"[profiles.work]\ndomain = \"https://%zz\"\n",
		"[profiles.work]\nredirect_ports = [0, 70000]\n",
		"[profiles.work]\nredirect_ports = \"8000\"\n",
		"[profiles.work]\nscopes = [\"openid profile\"]\n",
		"[profiles.work]\nscopes = [\"\"]\n",
		"[profiles.\"../etc\"]\ndomain = \"https://x\"\n",
		"[profiles.\"\"]\n",
		"[profiles]\nwork = 1\n",
		"profiles = []\n",
		"[[profiles.work]]\n",
		"default_profile = \"../x\"\n",
		"default_profile = 7\n",
		"[profiles.work]\ndomain = \"https://x\"\n[profiles.work]\n",
		"[profiles.work]\ndomain = \"\u202ehttps://x\"\ntoken_store = \"\x1b[31m\"\n",
		"[profiles.work\n",
		"[profiles.work]\ndomain = \"unterminated\n",
		"[profiles.work]\nallowed_hosts = [\"api.example.com\", \"*.example.com\"]\nca_file = \"/etc/ssl/corp.pem\"\nredirect_url = \"http://localhost:8000/callback\"\n",
		"\xef\xbb\xbf[profiles.bom]\n",
		"[profiles.a.b]\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := Load(path)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %#v, want a *config.Error", err)
			}
			if ce.Path != path || !strings.Contains(err.Error(), path) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		for _, name := range file.Names() {
			if err := CheckProfileName(name); err != nil {
				t.Fatalf("accepted profile %q: %v", name, err)
			}
			_, _ = file.Resolve(func(string) string { return "" }, Overrides{Profile: name})
		}
		_, _ = file.Resolve(func(string) string { return "" }, Overrides{})

		if err := file.Save(); err != nil {
			t.Fatalf("a config Load accepted cannot be saved: %v", err)
		}
		again, err := Load(path)
		if err != nil {
			saved, _ := os.ReadFile(path)
			t.Fatalf("a config Save wrote cannot be loaded: %v\n%s", err, saved)
		}
		if again.DefaultProfile != file.DefaultProfile {
			t.Fatalf("default_profile %q became %q", file.DefaultProfile, again.DefaultProfile)
		}
		if !slices.Equal(again.Names(), file.Names()) {
			t.Fatalf("profiles %q became %q", file.Names(), again.Names())
		}
		for _, name := range file.Names() {
			if a, b := file.Profiles[name], again.Profiles[name]; !sameProfile(a, b) {
				t.Fatalf("profile %q changed in a Save and Load:\n got %+v\nwant %+v", name, b, a)
			}
		}
	})
}

// sameProfile compares profiles, an empty list being the same as none.
func sameProfile(a, b *Profile) bool {
	return a.Name == b.Name && a.Domain == b.Domain && a.ClientID == b.ClientID &&
		slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.RedirectPorts, b.RedirectPorts) &&
		a.RedirectURL == b.RedirectURL && a.TokenStore == b.TokenStore &&
		slices.Equal(a.AllowedHosts, b.AllowedHosts) && a.CAFile == b.CAFile
}
