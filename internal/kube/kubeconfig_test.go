package kube

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var testExec = Exec{APIVersion: APIVersionV1, Command: "idcsctl", Args: []string{"kube", "token", "-p", "work"}, InteractiveMode: InteractiveIfAvailable}

// kubeconfigShape is what the tests read back from a written kubeconfig.
type kubeconfigShape struct {
	Kind     string `yaml:"kind"`
	Clusters []struct {
		Name string `yaml:"name"`
	} `yaml:"clusters"`
	Users []struct {
		Name string         `yaml:"name"`
		User map[string]any `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string            `yaml:"name"`
		Context map[string]string `yaml:"context"`
	} `yaml:"contexts"`
}

func TestSetUser(t *testing.T) {
	tests := []struct {
		name, src, context string
		cluster            string
		wantUsers          []string
		wantContexts       map[string]map[string]string
		wantText           []string // parts the output keeps
	}{
		{name: "new file", src: "", wantUsers: []string{"idcs"}},
		{name: "new file with a context", src: "\n", context: "prod", wantUsers: []string{"idcs"},
			wantContexts: map[string]map[string]string{"prod": {"user": "idcs"}}},
		{name: "other entries and comments are kept",
			src:       "# head comment\napiVersion: v1\nkind: Config\nclusters:\n- name: prod # inline\n  cluster:\n    server: https://k\nusers:\n- name: alice\n  user:\n    token: a\n",
			wantUsers: []string{"alice", "idcs"}, wantText: []string{"# head comment", "# inline", "token: a", "server: https://k"}},
		{name: "the entry is replaced whole and duplicates dropped",
			src:       "kind: Config\nusers:\n- name: idcs\n  user:\n    token: stale\n- name: bob\n  user: {}\n- name: idcs\n  user:\n    token: stale2\n",
			wantUsers: []string{"idcs", "bob"}},
		{name: "an existing context keeps its cluster",
			src: "kind: Config\ncontexts:\n- name: prod\n  context:\n    cluster: c\n    user: alice\n", context: "prod",
			wantUsers: []string{"idcs"}, wantContexts: map[string]map[string]string{"prod": {"cluster": "c", "user": "idcs"}}},
		{name: "a new context gets the cluster named", src: "kind: Config\n", context: "prod", cluster: "c",
			wantUsers: []string{"idcs"}, wantContexts: map[string]map[string]string{"prod": {"cluster": "c", "user": "idcs"}}},
		{name: "an existing context gets the cluster named",
			src: "kind: Config\ncontexts:\n- name: prod\n  context:\n    cluster: old\n    user: alice\n    namespace: ns\n", context: "prod", cluster: "new",
			wantUsers: []string{"idcs"}, wantContexts: map[string]map[string]string{"prod": {"cluster": "new", "user": "idcs", "namespace": "ns"}}},
		{name: "null lists are made", src: "apiVersion: v1\nkind: Config\nusers: null\ncontexts:\n", context: "x",
			wantUsers: []string{"idcs"}, wantContexts: map[string]map[string]string{"x": {"user": "idcs"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Entry{User: "idcs", Exec: testExec, Context: tt.context, Cluster: tt.cluster}
			out, err := SetUser([]byte(tt.src), e)
			if err != nil {
				t.Fatal(err)
			}
			var got kubeconfigShape
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, out)
			}
			var names []string
			for _, u := range got.Users {
				names = append(names, u.Name)
				if u.Name == "idcs" {
					if len(u.User) != 1 || u.User["exec"] == nil {
						t.Errorf("user idcs = %v, want only exec", u.User)
					}
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.wantUsers, ",") {
				t.Errorf("users = %v, want %v\n%s", names, tt.wantUsers, out)
			}
			for name, want := range tt.wantContexts {
				found := false
				for _, c := range got.Contexts {
					if c.Name == name {
						found = true
						for k, v := range want {
							if c.Context[k] != v {
								t.Errorf("context %s %s = %q, want %q", name, k, c.Context[k], v)
							}
						}
					}
				}
				if !found {
					t.Errorf("no context %s in\n%s", name, out)
				}
			}
			for _, part := range tt.wantText {
				if !strings.Contains(string(out), part) {
					t.Errorf("output lost %q:\n%s", part, out)
				}
			}
			// Setting it again changes nothing.
			again, err := SetUser(out, e)
			if err != nil || string(again) != string(out) {
				t.Errorf("a second SetUser changed the file (%v):\n%s\nthen\n%s", err, out, again)
			}
		})
	}
}

func TestSetUserRefusesWhatIsNoKubeconfig(t *testing.T) {
	for name, src := range map[string]string{
		"not YAML":          "users: [unclosed",
		"a list":            "- a\n- b\n",
		"another kind":      "apiVersion: v1\nkind: Pod\n",
		"users not a list":  "kind: Config\nusers: alice\n",
		"two documents":     "kind: Config\n---\nkind: Config\n",
		"a scalar document": "hello\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := SetUser([]byte(src), Entry{User: "idcs", Exec: testExec}); !errors.Is(err, ErrKubeconfig) {
				t.Errorf("SetUser error = %v, want ErrKubeconfig", err)
			}
		})
	}
	if _, err := SetUser(nil, Entry{Exec: testExec}); err == nil {
		t.Error("SetUser with no user name succeeded")
	}
	if _, err := SetUser(nil, Entry{User: "idcs", Exec: testExec, Cluster: "c"}); err == nil {
		t.Error("SetUser with a cluster and no context succeeded")
	}
}

// TestSetUserWritesV1beta1WithoutInteractiveMode: kubectl before 1.22
// reads only v1beta1, which has no interactiveMode.
func TestSetUserWritesV1beta1WithoutInteractiveMode(t *testing.T) {
	tests := []struct {
		apiVersion      string
		wantInteractive bool
	}{
		{APIVersionV1, true},
		{APIVersionV1beta1, false},
	}
	for _, tt := range tests {
		t.Run(tt.apiVersion, func(t *testing.T) {
			out, err := SetUser(nil, Entry{User: "idcs", Exec: ExecFor(tt.apiVersion, "idcsctl", []string{"kube", "token"})})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "apiVersion: "+tt.apiVersion+"\n") {
				t.Errorf("the entry is not of %s:\n%s", tt.apiVersion, out)
			}
			if got := strings.Contains(string(out), "interactiveMode: IfAvailable"); got != tt.wantInteractive {
				t.Errorf("interactiveMode written: %v, want %v:\n%s", got, tt.wantInteractive, out)
			}
		})
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name, src    string
		wantClusters []string
		wantContexts map[string]Context
	}{
		{name: "empty", src: "", wantContexts: map[string]Context{}},
		{name: "clusters and contexts",
			src:          "kind: Config\nclusters:\n- name: a\n  cluster: {server: https://a}\n- name: b\ncontexts:\n- name: prod\n  context:\n    cluster: a\n    user: alice\n- name: bare\n- name: nulls\n  context:\n    cluster: null\n    user: ~\n",
			wantClusters: []string{"a", "b"},
			wantContexts: map[string]Context{"prod": {Cluster: "a", User: "alice"}, "bare": {}, "nulls": {}}},
		{name: "the first of two contexts of one name",
			src:          "kind: Config\ncontexts:\n- name: x\n  context: {cluster: first}\n- name: x\n  context: {cluster: second}\n",
			wantContexts: map[string]Context{"x": {Cluster: "first"}}},
		{name: "lists of the wrong shape are empty", src: "kind: Config\nclusters: {}\ncontexts: 3\n", wantContexts: map[string]Context{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Clusters, tt.wantClusters) {
				t.Errorf("clusters = %q, want %q", got.Clusters, tt.wantClusters)
			}
			if !maps.Equal(got.Contexts, tt.wantContexts) {
				t.Errorf("contexts = %v, want %v", got.Contexts, tt.wantContexts)
			}
			for _, c := range tt.wantClusters {
				if !got.HasCluster(c) {
					t.Errorf("HasCluster(%q) = false", c)
				}
			}
			if got.HasCluster("nope") {
				t.Error(`HasCluster("nope") = true`)
			}
		})
	}
	if _, err := Read([]byte("kind: Pod\n")); !errors.Is(err, ErrKubeconfig) {
		t.Errorf("Read of a Pod = %v, want ErrKubeconfig", err)
	}
}

func TestKubectlWouldLose(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{name: "empty", src: ""},
		{name: "plain", src: "kind: Config\nusers:\n- name: idcs\n  user:\n    exec: {command: idcsctl}\n- name: bob\n  user:\n    token: b\n"},
		{name: "comments", src: "kind: Config # mine\n", want: "comments"},
		{name: "other credentials of the entry", src: "kind: Config\nusers:\n- name: idcs\n  user:\n    token: t\n    exec: {}\n", want: "(token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KubectlWouldLose([]byte(tt.src), "idcs")
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("KubectlWouldLose = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKubeconfigPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	sep := string(filepath.ListSeparator)
	tests := []struct {
		name, flag string
		env        map[string]string
		want       string
	}{
		{name: "flag wins", flag: "/x/kc", env: map[string]string{"KUBECONFIG": "/y"}, want: "/x/kc"},
		{name: "first of KUBECONFIG", env: map[string]string{"KUBECONFIG": sep + "/a/kc" + sep + "/b/kc", "HOME": "/h"}, want: "/a/kc"},
		{name: "home", env: map[string]string{"HOME": "/h"}, want: filepath.Join("/h", ".kube", "config")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KubeconfigPath(tt.flag, env(tt.env))
			if err != nil || got != tt.want {
				t.Errorf("KubeconfigPath = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestWriteFileKeepsModeAndFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.WriteFile(real, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Errorf("the linked file holds %q, want new", b)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	if fi, _ := os.Stat(real); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	fresh := filepath.Join(dir, "sub", "config")
	if err := WriteFile(fresh, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode = %v, want 0600", fi.Mode().Perm())
	}
	if err := WriteFile(dir, []byte("x")); err == nil {
		t.Error("WriteFile over a folder succeeded")
	}
}

func TestOIDCSettings(t *testing.T) {
	s := OIDCSettings{Issuer: "https://identity.oraclecloud.com/", DiscoveryURL: DiscoveryURLFor("https://idcs-1.identity.oraclecloud.com", "https://identity.oraclecloud.com/"),
		ClientID: "cid", UsernameClaim: "email", GroupsClaim: "groups", Prefix: ""}
	y, err := s.YAML()
	if err != nil {
		t.Fatal(err)
	}
	var got AuthenticationConfiguration
	if err := yaml.Unmarshal(y, &got); err != nil {
		t.Fatal(err)
	}
	j := got.JWT[0]
	if got.APIVersion != AuthenticationConfigAPIVersion || j.Issuer.URL != s.Issuer ||
		j.Issuer.DiscoveryURL != "https://idcs-1.identity.oraclecloud.com/.well-known/openid-configuration" ||
		len(j.Issuer.Audiences) != 1 || j.Issuer.Audiences[0] != "cid" ||
		j.ClaimMappings.Username.Claim != "email" || j.ClaimMappings.Groups == nil || j.ClaimMappings.Groups.Claim != "groups" {
		t.Errorf("settings read back as %+v", got)
	}
	// The API server requires the prefix to be given, even empty.
	if !strings.Contains(string(y), `prefix: ""`) {
		t.Errorf("an empty prefix is not written:\n%s", y)
	}
	if DiscoveryURLFor("https://op.example.com", "https://op.example.com/") != "" {
		t.Error("a provider whose issuer is its URL got a discovery URL")
	}
}
