package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
)

// InteractiveIfAvailable is the interactiveMode idcsctl's entry asks for:
// kubectl lets the plugin sign in when its own stdin is a terminal, and
// tells it not to otherwise.
const InteractiveIfAvailable = "IfAvailable"

// Exec is the exec section of a kubeconfig user entry that runs idcsctl.
type Exec struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion"`
	Command    string   `yaml:"command" json:"command"`
	Args       []string `yaml:"args" json:"args"`
	// InteractiveMode is required in v1 and left out in v1beta1; see
	// ExecFor.
	InteractiveMode string `yaml:"interactiveMode,omitempty" json:"interactiveMode,omitempty"`
	// ProvideClusterInfo is written as false, as kubectl writes it: the
	// plugin needs nothing of the cluster.
	ProvideClusterInfo bool `yaml:"provideClusterInfo" json:"provideClusterInfo"`
}

type userBody struct {
	Exec Exec `yaml:"exec"`
}

// ErrKubeconfig marks a kubeconfig that cannot be read as one.
var ErrKubeconfig = errors.New("not a kubeconfig")

// KubectlWouldLose says what `kubectl config set-credentials` would get
// wrong when it sets the user entry name in the kubeconfig src: its
// comments, which kubectl drops as it re-encodes the file, or other
// credentials of the entry, which kubectl keeps beside the plugin. "" means
// kubectl can write it as well as SetUser.
func KubectlWouldLose(src []byte, name string) (string, error) {
	doc, err := parseConfig(src)
	if err != nil || doc == nil {
		return "", err
	}
	if hasComments(doc) {
		return "its comments, which kubectl drops when it rewrites the file", nil
	}
	users := lookup(doc.Content[0], "users")
	if users == nil || users.Kind != yaml.SequenceNode {
		return "", nil
	}
	for _, item := range users.Content {
		if n := lookup(item, "name"); item.Kind != yaml.MappingNode || n == nil || n.Value != name {
			continue
		}
		user := lookup(item, "user")
		if user == nil || user.Kind != yaml.MappingNode {
			continue
		}
		var other []string
		for i := 0; i+1 < len(user.Content); i += 2 {
			if k := user.Content[i].Value; k != "exec" {
				other = append(other, k)
			}
		}
		if len(other) > 0 {
			return fmt.Sprintf("the other credentials of user %q (%s), which kubectl would keep beside the plugin", name, strings.Join(other, ", ")), nil
		}
	}
	return "", nil
}

func hasComments(n *yaml.Node) bool {
	if n.HeadComment != "" || n.LineComment != "" || n.FootComment != "" {
		return true
	}
	for _, c := range n.Content {
		if hasComments(c) {
			return true
		}
	}
	return false
}

// Entry is what SetUser writes: the user entry named User running Exec,
// and when Context is not "", that context using it (and Cluster, when
// that is not "").
type Entry struct {
	User             string
	Exec             Exec
	Context, Cluster string
}

// SetUser returns the kubeconfig src with the entry e: the user entry's
// whole user section is replaced (a stale token or auth-provider would
// otherwise win over the plugin), a second entry of the same name is
// dropped, and everything else, comments included, is kept. A context that
// does not exist is created, with e.Cluster or no cluster at all; an
// existing one keeps its cluster unless e.Cluster names another. An empty
// src starts a new kubeconfig.
func SetUser(src []byte, e Entry) ([]byte, error) {
	if e.User == "" {
		return nil, errors.New("the kubeconfig user needs a name")
	}
	if e.Cluster != "" && e.Context == "" {
		return nil, errors.New("a cluster is set only for a context")
	}
	doc, err := parseConfig(src)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
		root := doc.Content[0]
		setKey(root, "apiVersion", scalar("v1"))
		setKey(root, "kind", scalar("Config"))
		setKey(root, "clusters", &yaml.Node{Kind: yaml.SequenceNode})
		setKey(root, "contexts", &yaml.Node{Kind: yaml.SequenceNode})
		setKey(root, "current-context", scalar(""))
		setKey(root, "users", &yaml.Node{Kind: yaml.SequenceNode})
	}
	root := doc.Content[0]
	var body yaml.Node
	if err := body.Encode(userBody{Exec: e.Exec}); err != nil {
		return nil, err
	}
	users, err := namedList(root, "users")
	if err != nil {
		return nil, err
	}
	if item := upsertNamed(users, e.User); item != nil {
		setKey(item, "user", &body)
	}
	if e.Context != "" {
		contexts, err := namedList(root, "contexts")
		if err != nil {
			return nil, err
		}
		item := upsertNamed(contexts, e.Context)
		ctx := lookup(item, "context")
		if ctx == nil || ctx.Kind != yaml.MappingNode {
			ctx = &yaml.Node{Kind: yaml.MappingNode}
			setKey(item, "context", ctx)
		}
		if e.Cluster != "" {
			setKey(ctx, "cluster", scalar(e.Cluster))
		}
		setKey(ctx, "user", scalar(e.User))
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// Context is a kubeconfig context as a file holds it.
type Context struct {
	Cluster, User string
}

// Contents is what a kubeconfig holds that kube setup speaks of.
type Contents struct {
	// Clusters are the names of its clusters, in the file's order.
	Clusters []string
	// Contexts are its contexts by name.
	Contexts map[string]Context
}

// HasCluster reports whether the file has a cluster of that name.
func (c Contents) HasCluster(name string) bool { return slices.Contains(c.Clusters, name) }

// Read reads what the kubeconfig src holds of clusters and contexts; an
// empty src holds none. A src that is not a kubeconfig is an error
// wrapping ErrKubeconfig.
func Read(src []byte) (Contents, error) {
	c := Contents{Contexts: map[string]Context{}}
	doc, err := parseConfig(src)
	if err != nil || doc == nil {
		return c, err
	}
	root := doc.Content[0]
	if list := lookup(root, "clusters"); list != nil && list.Kind == yaml.SequenceNode {
		for _, item := range list.Content {
			if n := lookup(item, "name"); item.Kind == yaml.MappingNode && n != nil && n.Value != "" {
				c.Clusters = append(c.Clusters, n.Value)
			}
		}
	}
	if list := lookup(root, "contexts"); list != nil && list.Kind == yaml.SequenceNode {
		for _, item := range list.Content {
			n := lookup(item, "name")
			if item.Kind != yaml.MappingNode || n == nil {
				continue
			}
			if _, seen := c.Contexts[n.Value]; seen {
				continue // SetUser keeps the first; kubectl refuses duplicates
			}
			var ctx Context
			if body := lookup(item, "context"); body != nil && body.Kind == yaml.MappingNode {
				if v := lookup(body, "cluster"); v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
					ctx.Cluster = v.Value
				}
				if v := lookup(body, "user"); v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
					ctx.User = v.Value
				}
			}
			c.Contexts[n.Value] = ctx
		}
	}
	return c, nil
}

// parseConfig reads a kubeconfig into its document node; nil for an empty
// file. It must be one YAML mapping of kind Config (or no kind).
func parseConfig(src []byte) (*yaml.Node, error) {
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, nil
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKubeconfig, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); err == nil {
		return nil, fmt.Errorf("%w: it holds more than one YAML document", ErrKubeconfig)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: it is not a YAML mapping", ErrKubeconfig)
	}
	if k := lookup(doc.Content[0], "kind"); k != nil && k.Value != "Config" {
		return nil, fmt.Errorf("%w: its kind is %q, not Config", ErrKubeconfig, k.Value)
	}
	return &doc, nil
}

// namedList is the sequence under key (users, contexts), made when it is
// missing or null.
func namedList(root *yaml.Node, key string) (*yaml.Node, error) {
	n := lookup(root, key)
	switch {
	case n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null"):
		n = &yaml.Node{Kind: yaml.SequenceNode}
		setKey(root, key, n)
	case n.Kind != yaml.SequenceNode:
		return nil, fmt.Errorf("%w: %s is not a list", ErrKubeconfig, key)
	}
	return n, nil
}

// upsertNamed returns the item of list whose name is name, appending one
// when there is none and dropping any later item of the same name.
func upsertNamed(list *yaml.Node, name string) *yaml.Node {
	var found *yaml.Node
	kept := list.Content[:0]
	for _, item := range list.Content {
		if item.Kind == yaml.MappingNode {
			if n := lookup(item, "name"); n != nil && n.Value == name {
				if found != nil {
					continue
				}
				found = item
			}
		}
		kept = append(kept, item)
	}
	list.Content = kept
	if found == nil {
		found = &yaml.Node{Kind: yaml.MappingNode}
		setKey(found, "name", scalar(name))
		list.Content = append(list.Content, found)
	}
	return found
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			// Keep the comments that were on the old value.
			v.HeadComment, v.LineComment, v.FootComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment, m.Content[i+1].FootComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

func scalar(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

// KubeconfigPath is the file kubectl would write: the flag's, else the
// first of KUBECONFIG's list, else ~/.kube/config.
func KubeconfigPath(flag string, getenv func(string) string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	for _, p := range filepath.SplitList(getenv("KUBECONFIG")) {
		if p != "" {
			return p, nil
		}
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find the kubeconfig: no --kubeconfig, KUBECONFIG or home folder: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".kube", "config"), nil
}

// WriteFile replaces the kubeconfig at path with data atomically (a
// temporary file and a rename, through a symbolic link to the file it
// names), keeping the old file's mode, 0600 for a new one in a 0700
// folder; a failed write leaves the old file as it was.
func WriteFile(path string, data []byte) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		mode = fi.Mode().Perm()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, data, mode)
}
