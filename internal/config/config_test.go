package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const sample = `default_profile = "work"

[profiles.work]
domain = "https://idcs-work.identity.oraclecloud.com"
client_id = "work-client"
redirect_ports = [9000]

[profiles.lab]
domain = "https://idcs-lab.identity.oraclecloud.com"
client_id = "lab-client"
scopes = ["openid"]
token_store = "file"
`

func TestResolvePrecedence(t *testing.T) {
	f, err := Load(writeConfig(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		env        map[string]string
		flags      Overrides
		wantName   string
		wantDomain string
		wantClient string
		wantStore  string
		wantPorts  []int
		wantScopes []string
		wantInFile bool
	}{
		{
			name:       "file default profile with defaults filled in",
			wantName:   "work",
			wantDomain: "https://idcs-work.identity.oraclecloud.com",
			wantClient: "work-client",
			wantStore:  "auto",
			wantPorts:  []int{9000},
			wantScopes: DefaultScopes,
			wantInFile: true,
		},
		{
			name:       "environment picks the profile and overrides the file",
			env:        map[string]string{EnvProfile: "lab", EnvClientID: "env-client"},
			wantName:   "lab",
			wantDomain: "https://idcs-lab.identity.oraclecloud.com",
			wantClient: "env-client",
			wantStore:  "file",
			wantPorts:  DefaultRedirectPorts,
			wantScopes: []string{"openid"},
			wantInFile: true,
		},
		{
			name:       "flag beats environment",
			env:        map[string]string{EnvProfile: "lab", EnvTokenStore: "keyring", EnvDomain: "https://env.example.com"},
			flags:      Overrides{Profile: "work", TokenStore: "none", Domain: "https://flag.example.com", Ports: []int{1234}, Scopes: []string{"a", "b"}},
			wantName:   "work",
			wantDomain: "https://flag.example.com",
			wantClient: "work-client",
			wantStore:  "none",
			wantPorts:  []int{1234},
			wantScopes: []string{"a", "b"},
			wantInFile: true,
		},
		{
			name:       "unknown profile comes from environment alone",
			env:        map[string]string{EnvDomain: "https://d.example.com", EnvClientID: "c"},
			flags:      Overrides{Profile: "fresh"},
			wantName:   "fresh",
			wantDomain: "https://d.example.com",
			wantClient: "c",
			wantStore:  "auto",
			wantPorts:  DefaultRedirectPorts,
			wantScopes: DefaultScopes,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := f.Resolve(envOf(tt.env), tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != tt.wantName || r.Domain != tt.wantDomain || r.ClientID != tt.wantClient || r.TokenStore != tt.wantStore || r.InFile != tt.wantInFile {
				t.Errorf("got name=%q domain=%q client=%q store=%q inFile=%v", r.Name, r.Domain, r.ClientID, r.TokenStore, r.InFile)
			}
			if !slices.Equal(r.RedirectPorts, tt.wantPorts) {
				t.Errorf("ports = %v, want %v", r.RedirectPorts, tt.wantPorts)
			}
			if !slices.Equal(r.Scopes, tt.wantScopes) {
				t.Errorf("scopes = %v, want %v", r.Scopes, tt.wantScopes)
			}
		})
	}
}

func TestResolveDoesNotAliasFile(t *testing.T) {
	f, err := Load(writeConfig(t, sample))
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Resolve(envOf(nil), Overrides{Profile: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	r.Scopes[0] = "changed"
	if f.Profiles["lab"].Scopes[0] != "openid" {
		t.Fatal("changing the resolved profile changed the file's profile")
	}
}

func TestLoadErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		wantLine int
		wantText string
	}{
		{"syntax error", "[profiles.work]\ndomain = \"https://x\n", 2, ""},
		{"unknown key", "[profiles.work]\ndomain = \"https://x\"\nclinet_id = \"c\"\n", 3, `unknown key "profiles.work.clinet_id" (did you mean "client_id"?)`},
		{"unknown key like no other", "[profiles.work]\nzzz = 1\n", 2, `unknown key "profiles.work.zzz"; known profile keys are domain,`},
		{"mistyped top-level key", "default_profil = \"work\"\n", 1, `unknown key "default_profil" (did you mean "default_profile"?)`},
		{"wrong type", "[profiles.work]\nredirect_ports = \"8000\"\n", 2, ""},
		{"bad port", "[profiles.work]\nredirect_ports = [70000]\n", 1, "not a TCP port"},
		{"bad profile name", "[profiles.\"a b\"]\ndomain = \"https://x\"\n", 0, "profile name"},
		{"scope with a space", "[profiles.w]\nscopes = [\"openid profile\"]\n", 1, "no spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.text)
			_, err := Load(path)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load() error = %v, want *config.Error", err)
			}
			if cerr.Path != path {
				t.Errorf("error path = %q, want %q", cerr.Path, path)
			}
			if tt.wantLine != 0 && cerr.Line != tt.wantLine {
				t.Errorf("error line = %d, want %d (%v)", cerr.Line, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
		})
	}
}

func TestLoadMissingFileIsEmpty(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "none", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Profiles) != 0 {
		t.Fatalf("profiles = %v, want none", f.Profiles)
	}
}

func TestSaveRoundTripsWithPrivateModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idcsctl")
	path := filepath.Join(dir, "config.toml")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Put(Profile{Name: "work", Domain: "https://idcs-x.identity.oraclecloud.com", ClientID: "c", RedirectPorts: []int{8000}})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", p, st.Mode().Perm(), want)
		}
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.DefaultProfile != "work" || g.Profiles["work"].ClientID != "c" || g.Profiles["work"].Name != "work" {
		t.Fatalf("reloaded %+v", g.Profiles["work"])
	}
}

func TestProfileNameRejectsPathTricks(t *testing.T) {
	for _, name := range []string{"../x", "a/b", "", ".hidden", strings.Repeat("a", 65), "a b"} {
		if CheckProfileName(name) == nil {
			t.Errorf("CheckProfileName(%q) accepted a bad name", name)
		}
	}
	for _, name := range []string{"default", "work-eu.1", "A_b"} {
		if err := CheckProfileName(name); err != nil {
			t.Errorf("CheckProfileName(%q) = %v", name, err)
		}
	}
}

func TestNormalizeDomain(t *testing.T) {
	tests := []struct {
		in, want string
		cut      bool
	}{
		{"", "", false},
		{"https://idcs-1.identity.oraclecloud.com", "https://idcs-1.identity.oraclecloud.com", false},
		{"idcs-1.identity.oraclecloud.com", "https://idcs-1.identity.oraclecloud.com", false},
		{" idcs-1.identity.oraclecloud.com/ ", "https://idcs-1.identity.oraclecloud.com", false},
		// One normal form however it is typed: lower case, no default
		// port, no trailing slash.
		{"https://LOCALHOST:443/", "https://localhost", false},
		{"HTTPS://IDCS-1.Identity.OracleCloud.com:443//", "https://idcs-1.identity.oraclecloud.com", false},
		{"http://127.0.0.1:80/", "http://127.0.0.1", false},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", false},
		{"https://idcs-1.identity.oraclecloud.com.:8443", "https://idcs-1.identity.oraclecloud.com:8443", false},
		{"https://[::1]:443/", "https://[::1]", false},
		{"https://op.example.com/Tenant/", "https://op.example.com/Tenant", false},
		{"https://user@op.example.com/", "https://user@op.example.com/", false}, // refused later, with its reason
		{"https://op.example.com/?x=1", "https://op.example.com/?x=1", false},
		{"https://idcs-1.identity.oraclecloud.com/ui/v1/adminconsole", "https://idcs-1.identity.oraclecloud.com", true},
		{"https://idcs-1.identity.oraclecloud.com:443/oauth2/v1/token", "https://idcs-1.identity.oraclecloud.com", true},
		{"idcs-1.identity.oraclecloud.com/ui/v1/signin?x=1", "https://idcs-1.identity.oraclecloud.com", true},
		{"http://127.0.0.1:8080/.well-known/openid-configuration", "http://127.0.0.1:8080", true},
		{"https://op.example.com/tenant", "https://op.example.com/tenant", false},
		{"http://idcs.example.com", "http://idcs.example.com", false}, // refused later, with its reason
		{"https://", "https://", false},
	}
	for _, tt := range tests {
		got, note := NormalizeDomain(tt.in)
		if got != tt.want || (note != "") != tt.cut {
			t.Errorf("NormalizeDomain(%q) = %q, %q; want %q, cut %v", tt.in, got, note, tt.want, tt.cut)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"default", "lab", "prod", "production", "work"}
	tests := []struct {
		name string
		want []string
	}{
		{"wrok", []string{"work"}},
		{"prd", []string{"prod"}},
		{"prod", []string{"prod", "production"}},
		{"nosuch", nil},
		{"defualt", []string{"default"}},
	}
	for _, tt := range tests {
		if got := Suggest(tt.name, known); !slices.Equal(got, tt.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTimeoutSettingIsCheckedAndResolved(t *testing.T) {
	for _, tc := range []struct {
		file     string
		override time.Duration
		want     time.Duration
		bad      bool
	}{
		{file: "", want: DefaultNetworkTimeout},
		{file: `timeout = "2s"`, want: 2 * time.Second},
		{file: `timeout = "2s"`, override: 5 * time.Second, want: 5 * time.Second},
		{file: `timeout = "soon"`, bad: true},
		{file: `timeout = "-1s"`, bad: true},
		{file: `timeout = "2h"`, bad: true},
	} {
		path := filepath.Join(t.TempDir(), "config.toml")
		if err := os.WriteFile(path, []byte("[profiles.default]\n"+tc.file+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := Load(path)
		if tc.bad {
			var cerr *Error
			if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "timeout") {
				t.Errorf("%s: got %v, want a config error naming timeout", tc.file, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		r, err := f.Resolve(func(string) string { return "" }, Overrides{Timeout: tc.override})
		if err != nil {
			t.Fatal(err)
		}
		if r.NetworkTimeout != tc.want {
			t.Errorf("%s (override %s): timeout %s, want %s", tc.file, tc.override, r.NetworkTimeout, tc.want)
		}
	}
}

func TestConfidentialIsRememberedForItsOwnApplication(t *testing.T) {
	path := writeConfig(t, "[profiles.oci]\ndomain = \"https://idcs-1.identity.oraclecloud.com\"\nclient_id = \"conf\"\nconfidential = true\n")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		o    Overrides
		want bool
	}{
		{"the profile's own application", nil, Overrides{Profile: "oci"}, true},
		{"the same client id given again", nil, Overrides{Profile: "oci", ClientID: "conf"}, true},
		{"another client id by flag", nil, Overrides{Profile: "oci", ClientID: "public-app"}, false},
		{"another client id by the environment", map[string]string{EnvClientID: "public-app"}, Overrides{Profile: "oci"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := f.Resolve(envOf(tc.env), tc.o)
			if err != nil || r.Confidential != tc.want {
				t.Fatalf("Confidential = %v (%v), want %v", r != nil && r.Confidential, err, tc.want)
			}
		})
	}
	// Saved and unsaved as a TOML boolean, and only when true.
	p := *f.Profiles["oci"]
	p.Confidential = false
	f.Put(p)
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "confidential") {
		t.Fatalf("a public profile still says confidential:\n%s", b)
	}
	p.Name, p.Confidential = "next", true
	f.Put(p)
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path)
	if err != nil || !again.Profiles["next"].Confidential || again.Profiles["oci"].Confidential {
		t.Fatalf("after a round trip: %+v %v", again.Profiles, err)
	}
}
