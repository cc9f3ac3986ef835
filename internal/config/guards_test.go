package config

import (
	"os"
	"path/filepath"
	"testing"
)

// Save edits a config in place, keeping every other byte (docs/
// configuration.md), also where the file is written unusually: no final
// newline, indented keys, a '#' inside a value, a key to remove.
func TestSaveKeepsEveryOtherByteOfUnusualFiles(t *testing.T) {
	tests := []struct {
		name, src string
		change    func(f *File)
		want      string
	}{
		{
			name:   "a key added to the last profile of a file without a final newline",
			src:    "# mine\ndefault_profile = \"lab\"\n[profiles.lab]\ndomain = \"https://idcs-lab.identity.oraclecloud.com\"  # the lab\nclient_id = \"f6e5d4\"",
			change: func(f *File) { p := *f.Profiles["lab"]; p.TokenStore = "file"; f.Put(p) },
			want:   "# mine\ndefault_profile = \"lab\"\n[profiles.lab]\ndomain = \"https://idcs-lab.identity.oraclecloud.com\"  # the lab\nclient_id = \"f6e5d4\"\ntoken_store = \"file\"\n",
		},
		{
			name:   "a profile added after a file without a final newline",
			src:    "# mine\ndefault_profile = \"lab\"\n[profiles.lab]\nclient_id = \"f6e5d4\"  # the lab",
			change: func(f *File) { f.Put(Profile{Name: "new", ClientID: "n1"}) },
			want:   "# mine\ndefault_profile = \"lab\"\n[profiles.lab]\nclient_id = \"f6e5d4\"  # the lab\n\n[profiles.new]\nclient_id = \"n1\"\n",
		},
		{
			name:   "an indented key keeps its indent and its comment",
			src:    "default_profile = \"work\"\n[profiles.work]\n  domain = \"https://idcs-w.identity.oraclecloud.com\"\n  client_id = \"a1b2c3\"  # from the console\n",
			change: func(f *File) { p := *f.Profiles["work"]; p.ClientID = "zzz"; f.Put(p) },
			want:   "default_profile = \"work\"\n[profiles.work]\n  domain = \"https://idcs-w.identity.oraclecloud.com\"\n  client_id = \"zzz\"  # from the console\n",
		},
		{
			name:   "a '#' inside the old value is no comment to carry over",
			src:    "default_profile = \"work\"\n[profiles.work]\nclient_id = \"a#1\"\nca_file = \"/etc/ca#2.pem\"  # the proxy's CA\n",
			change: func(f *File) { p := *f.Profiles["work"]; p.ClientID = "b2"; p.CAFile = "/etc/ca.pem"; f.Put(p) },
			want:   "default_profile = \"work\"\n[profiles.work]\nclient_id = \"b2\"\nca_file = \"/etc/ca.pem\"  # the proxy's CA\n",
		},
		{
			name:   "a cleared key takes its line only",
			src:    "default_profile = \"work\"\n[profiles.work]\n# how I store it\ntoken_store = \"file\"  # on the server\nclient_id = \"a1\"\n",
			change: func(f *File) { p := *f.Profiles["work"]; p.TokenStore = ""; f.Put(p) },
			want:   "default_profile = \"work\"\n[profiles.work]\n# how I store it\nclient_id = \"a1\"\n",
		},
		{
			name:   "a removed profile leaves the comment that leads to the next one",
			src:    "# top\n\n# work's own\n[profiles.work]\nclient_id = \"a1\"\n\n# the lab, kept\n[profiles.lab]\nclient_id = \"b2\"\n",
			change: func(f *File) { f.Remove("work") },
			want:   "# top\n\n# the lab, kept\n[profiles.lab]\nclient_id = \"b2\"\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(tt.src), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(f)
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("the file is\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// What Save cannot edit in place (a profile as an inline table, a value
// written as a multi-line string) it writes whole, checked against what was
// meant: no setting is lost, and the result loads.
func TestSaveWritesWholeWhatItCannotEditInPlace(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"an inline table", "default_profile = \"work\"\n[profiles]\nwork = { client_id = \"a1\", token_store = \"file\" }\nlab = { client_id = \"b2\" }\n"},
		{"a multi-line string", "default_profile = \"work\"\n[profiles.work]\nclient_id = \"\"\"\na1\"\"\"\ntoken_store = \"file\"\n[profiles.lab]\nclient_id = \"b2\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Profiles["work"].ClientID; got != "a1" {
				t.Fatalf("read client_id %q", got)
			}
			p := *f.Profiles["work"]
			p.ClientID = "z9"
			f.Put(p)
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
			again, err := Load(path)
			if err != nil {
				data, _ := os.ReadFile(path)
				t.Fatalf("the saved file does not load: %v\n%s", err, data)
			}
			w, l := again.Profiles["work"], again.Profiles["lab"]
			if w == nil || l == nil || w.ClientID != "z9" || w.TokenStore != "file" || l.ClientID != "b2" || again.DefaultProfile != "work" {
				data, _ := os.ReadFile(path)
				t.Errorf("the saved file lost a setting:\n%s", data)
			}
		})
	}
}
