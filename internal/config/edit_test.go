package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const commented = `# My idcsctl setup. Do not lose this comment.
default_profile = "work"   # the one I use most

# Work: the production domain.
[profiles.work]
client_id = "a1b2c3"  # from the console
domain = "https://idcs-work.identity.oraclecloud.com"
scopes = [
  "openid",      # always
  "urn:opc:idm:t.user.me",
]

# The lab domain.
[profiles.lab]
domain = "https://idcs-lab.identity.oraclecloud.com"
client_id = "f6e5d4"
`

func TestSaveEditsOnlyWhatChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *File)
		want   []string // lines the result must hold
		gone   []string // lines it must not hold
		keeps  []string // lines of the original that must stay, in order
	}{
		{
			name: "a new profile is appended",
			change: func(f *File) {
				f.Put(Profile{Name: "new", Domain: "https://idcs-new.identity.oraclecloud.com", ClientID: "n1", RedirectPorts: []int{8000, 9000}})
			},
			want:  []string{"[profiles.new]", `domain = "https://idcs-new.identity.oraclecloud.com"`, `client_id = "n1"`, "redirect_ports = [8000, 9000]"},
			keeps: strings.Split(strings.TrimSpace(commented), "\n"),
		},
		{
			name: "a changed key is rewritten in place",
			change: func(f *File) {
				p := *f.Profiles["lab"]
				p.ClientID = "zzz"
				f.Put(p)
			},
			want:  []string{`client_id = "zzz"`},
			gone:  []string{`client_id = "f6e5d4"`},
			keeps: []string{"# My idcsctl setup. Do not lose this comment.", "# Work: the production domain.", `client_id = "a1b2c3"  # from the console`, "# The lab domain.", "[profiles.lab]"},
		},
		{
			name: "a multi-line list is replaced whole",
			change: func(f *File) {
				p := *f.Profiles["work"]
				p.Scopes = []string{"openid"}
				p.TokenStore = "file"
				f.Put(p)
			},
			want:  []string{`scopes = ["openid"]`, `token_store = "file"`},
			gone:  []string{"# always", `"urn:opc:idm:t.user.me",`},
			keeps: []string{"# Work: the production domain.", `client_id = "a1b2c3"  # from the console`, "# The lab domain."},
		},
		{
			name:   "a removed profile takes its own comment along",
			change: func(f *File) { f.Remove("work") },
			gone:   []string{"[profiles.work]", "# Work: the production domain.", `default_profile = "work"   # the one I use most`},
			keeps:  []string{"# My idcsctl setup. Do not lose this comment.", "# The lab domain.", "[profiles.lab]", `client_id = "f6e5d4"`},
		},
		{
			name:   "the default is changed on its line",
			change: func(f *File) { f.DefaultProfile = "lab" },
			want:   []string{`default_profile = "lab"  # the one I use most`},
			keeps:  []string{"# My idcsctl setup. Do not lose this comment.", "# Work: the production domain.", "  \"openid\",      # always"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(commented), 0o600); err != nil {
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
			data, _ := os.ReadFile(path)
			got := string(data)
			lines := strings.Split(got, "\n")
			has := func(l string) bool {
				for _, x := range lines {
					if x == l {
						return true
					}
				}
				return false
			}
			for _, w := range tt.want {
				if !has(w) {
					t.Errorf("the file lacks the line %q:\n%s", w, got)
				}
			}
			for _, g := range tt.gone {
				if has(g) {
					t.Errorf("the file still holds %q:\n%s", g, got)
				}
			}
			at := 0
			for _, k := range tt.keeps {
				i := strings.Index(got[at:], k+"\n")
				if i < 0 {
					t.Errorf("the file lost %q, or moved it:\n%s", k, got)
					continue
				}
				at += i + len(k)
			}
			again, err := Load(path)
			if err != nil {
				t.Fatalf("the result does not load: %v\n%s", err, got)
			}
			if !same(again.raw, f) {
				t.Errorf("the result does not hold what was saved:\n%s", got)
			}
		})
	}
}

func TestSaveWritesThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "idcsctl.toml")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte(commented), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.toml")
	if err := os.Symlink(filepath.Join("dotfiles", "idcsctl.toml"), link); err != nil {
		t.Fatal(err)
	}
	f, err := Load(link)
	if err != nil {
		t.Fatal(err)
	}
	f.Put(Profile{Name: "new", Domain: "https://idcs-new.identity.oraclecloud.com", ClientID: "n1"})
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the config is no longer a symlink: %v", err)
	}
	data, _ := os.ReadFile(target)
	if !strings.Contains(string(data), "[profiles.new]") || !strings.Contains(string(data), "# My idcsctl setup.") {
		t.Errorf("the target did not get the change with its comments:\n%s", data)
	}
}

// TestSaveKeepsConcurrentSavesOfOtherProfiles runs two processes that each
// save 50 profiles of their own into one config at the same time, through
// a symlink to a commented file: every profile and comment must be there
// at the end.
func TestSaveKeepsConcurrentSavesOfOtherProfiles(t *testing.T) {
	if who := os.Getenv("IDCSCTL_TEST_SAVER"); who != "" {
		path := os.Getenv("IDCSCTL_TEST_SAVER_CONFIG")
		for i := range 50 {
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			f.Put(Profile{Name: fmt.Sprintf("%s-%d", who, i), Domain: "https://idcs-x.identity.oraclecloud.com", ClientID: who})
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "real.toml")
	if err := os.WriteFile(target, []byte(commented), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.toml")
	if err := os.Symlink("real.toml", link); err != nil {
		t.Fatal(err)
	}
	var procs []*exec.Cmd
	for _, who := range []string{"a", "b"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSaveKeepsConcurrentSavesOfOtherProfiles$")
		cmd.Env = append(os.Environ(), "IDCSCTL_TEST_SAVER="+who, "IDCSCTL_TEST_SAVER_CONFIG="+link)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("saver %s:\n%s", who, out)
			}
		})
		procs = append(procs, cmd)
	}
	for _, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("a saver failed: %v", err)
		}
	}
	f, err := Load(link)
	if err != nil {
		t.Fatal(err)
	}
	var lost []string
	for _, who := range []string{"a", "b"} {
		for i := range 50 {
			if _, ok := f.Profiles[fmt.Sprintf("%s-%d", who, i)]; !ok {
				lost = append(lost, fmt.Sprintf("%s-%d", who, i))
			}
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d profiles were lost: %v", len(lost), lost)
	}
	data, _ := os.ReadFile(target)
	for _, c := range []string{"# My idcsctl setup. Do not lose this comment.", "# Work: the production domain.", "# always"} {
		if !strings.Contains(string(data), c) {
			t.Errorf("the comment %q was lost", c)
		}
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the config is no longer a symlink")
	}
}

// The [ocir] section belongs to docker-credential-idcsctl: a save that
// edits a profile keeps it, and one that must write the whole file keeps
// its settings.
func TestSaveKeepsTheOCIRSection(t *testing.T) {
	const ocirSection = "\n[ocir]\nprofile = \"work\"  # the helper's profile\n[ocir.hosts]\n\"127.0.0.1:5000\" = \"us-ashburn-1\"\n"
	for _, tc := range []struct {
		name   string
		change func(f *File)
	}{
		{"an edited profile", func(f *File) { f.Profiles["lab"].ClientID = "new" }},
		{"a removed profile", func(f *File) { f.Remove("lab") }},
		{"a new profile", func(f *File) { f.Put(Profile{Name: "new", Domain: "https://idcs-new.identity.oraclecloud.com"}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if err := os.WriteFile(path, []byte(commented+ocirSection), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.change(f)
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
			g, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if g.OCIR == nil || g.OCIR.Profile != "work" || g.OCIR.Hosts["127.0.0.1:5000"] != "us-ashburn-1" {
				t.Fatalf("[ocir] after the save: %+v", g.OCIR)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte("[ocir]\nprofile = \"-bad\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "[ocir]") {
		t.Fatalf("a bad [ocir] profile: %v", err)
	}
}

// TestSaveLayout: the file reads like one a person wrote, whatever the
// order of logins, region changes and removals that made it.
func TestSaveLayout(t *testing.T) {
	work := Profile{Name: "work", Domain: "https://idcs-work.identity.oraclecloud.com", ClientID: "w1"}
	lab := Profile{Name: "lab", Domain: "https://idcs-lab.identity.oraclecloud.com", ClientID: "l1", TokenStore: "file"}
	withRegion := func(name, region string) func(f *File) {
		return func(f *File) {
			p := *f.Profiles[name]
			p.OCIRegion = region
			f.Put(p)
		}
	}
	tests := []struct {
		name  string
		start string // the file before; "" for none
		steps []func(f *File)
		want  string
	}{
		{
			name:  "first logins write one table per profile, unindented, no [profiles] header",
			steps: []func(f *File){func(f *File) { f.Put(work); f.DefaultProfile = "work" }, func(f *File) { f.Put(lab) }},
			want: header + `default_profile = "work"

[profiles.work]
domain = "https://idcs-work.identity.oraclecloud.com"
client_id = "w1"

[profiles.lab]
domain = "https://idcs-lab.identity.oraclecloud.com"
client_id = "l1"
token_store = "file"
`,
		},
		{
			name:  "a key added later lands beside the others, indented as they are",
			start: "# mine\n[profiles.work]\n    domain = \"https://idcs-work.identity.oraclecloud.com\"\n    client_id = \"w1\"\n\n# next\n[profiles.lab]\ndomain = \"https://idcs-lab.identity.oraclecloud.com\"\n",
			steps: []func(f *File){withRegion("work", "us-ashburn-1"), withRegion("lab", "eu-frankfurt-1")},
			want:  "# mine\ndefault_profile = \"work\"\n\n[profiles.work]\n    domain = \"https://idcs-work.identity.oraclecloud.com\"\n    client_id = \"w1\"\n    oci_region = \"us-ashburn-1\"\n\n# next\n[profiles.lab]\ndomain = \"https://idcs-lab.identity.oraclecloud.com\"\noci_region = \"eu-frankfurt-1\"\n",
		},
		{
			name:  "removing every profile of an older file leaves no empty [profiles] table",
			start: "# mine\ndefault_profile = \"work\"\n\n[profiles]\n\n  [profiles.work]\n    domain = \"https://idcs-work.identity.oraclecloud.com\"\n    client_id = \"w1\"\n",
			steps: []func(f *File){func(f *File) { f.Remove("work") }},
			want:  "# mine\n\n",
		},
		{
			name:  "a [profiles] table with the person's comment in it stays",
			start: "[profiles]\n# my profiles below\n\n[profiles.work]\ndomain = \"https://idcs-work.identity.oraclecloud.com\"\n",
			steps: []func(f *File){func(f *File) { f.Remove("work") }},
			want:  "[profiles]\n# my profiles below\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.toml")
			if tt.start != "" {
				if err := os.WriteFile(path, []byte(tt.start), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, step := range tt.steps {
				f, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				step(f)
				if err := f.Save(); err != nil {
					t.Fatal(err)
				}
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("the file is\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
