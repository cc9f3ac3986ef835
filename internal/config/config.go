// Package config reads and writes idcsctl's profiles and resolves the
// settings of one command from flags, environment and the config file.
//
// Precedence is flag > environment > profile in the file > default, the
// order every tool of the field uses, so that a script can override a
// person's file without editing it.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
)

// DefaultScopes are requested from an IDCS identity domain when a profile
// names none. The last one is the scope Oracle's IDCS samples request so
// that the token may read /admin/v1/Me; a provider that is not IDCS gets
// the standard OpenID scopes it lists instead (auth.Client.DefaultScopes).
var DefaultScopes = []string{"openid", "profile", "email", "urn:opc:idm:t.user.me"}

// DefaultRedirectPorts are the loopback ports tried in order. IDCS matches
// redirect URIs exactly, port included, so these are the ports to register
// (as http://127.0.0.1:PORT/callback) in the IDCS application.
var DefaultRedirectPorts = []int{8000, 18000, 28000}

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "default"

// Profile is one identity domain and application to sign in to.
type Profile struct {
	// Name is the profile's key in the file; it names the token entry too.
	Name          string   `toml:"-"`
	Domain        string   `toml:"domain,omitempty"`
	ClientID      string   `toml:"client_id,omitempty"`
	Scopes        []string `toml:"scopes,omitempty"`
	RedirectPorts []int    `toml:"redirect_ports,omitempty"`
	RedirectURL   string   `toml:"redirect_url,omitempty"`
	TokenStore    string   `toml:"token_store,omitempty"`
	AllowedHosts  []string `toml:"allowed_hosts,omitempty"`
	CAFile        string   `toml:"ca_file,omitempty"`
	// OCIRegion is the region `idcsctl oci session` writes into OCI
	// sessions, remembered from its --region.
	OCIRegion string `toml:"oci_region,omitempty"`
	// Confidential says the profile's application is confidential: it
	// signs in with a client secret, so a command that finds no secret
	// (IDCSCTL_CLIENT_SECRET, or one kept with login --save-secret) says
	// the secret is missing rather than treating it as a public one.
	Confidential bool `toml:"confidential,omitempty"`
	// Timeout bounds each request to the provider, answer included, and a
	// refresh as a whole (the profile lock included): a Go duration such
	// as "30s". "" means DefaultNetworkTimeout.
	Timeout string `toml:"timeout,omitempty"`
}

// File is the config file: named profiles and which one is the default.
type File struct {
	DefaultProfile string              `toml:"default_profile,omitempty"`
	Profiles       map[string]*Profile `toml:"profiles,omitempty"`
	// OCIR is the [ocir] section, read by docker-credential-idcsctl;
	// idcsctl never edits it.
	OCIR *OCIR `toml:"ocir,omitempty"`

	path string
	raw  []byte // the text read, which Save edits in place
	snap *File  // the settings read, so Save knows what this process changed
}

// OCIR is the settings of the docker credential helper for OCI Container
// Registry (docker-credential-idcsctl, docs/oci.md).
type OCIR struct {
	// Profile is the profile whose sign-in registry tokens are minted
	// from; IDCSCTL_PROFILE wins over it, default_profile stands in.
	Profile string `toml:"profile,omitempty"`
	// Hosts are registries beyond OCIR's own hosts (a private endpoint,
	// a test registry), each with the OCI region it serves.
	Hosts map[string]string `toml:"hosts,omitempty"`
}

// Error is a problem with the config file. It names the file and, where
// known, the line, so the person can open the file and fix it.
type Error struct {
	Path    string
	Line    int
	Problem string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("config file %s, line %d: %s", e.Path, e.Line, e.Problem)
	}
	return fmt.Sprintf("config file %s: %s", e.Path, e.Problem)
}

// DefaultPath is where the config file lives when neither --config nor
// IDCSCTL_CONFIG names another: the user config folder's idcsctl/config.toml.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the user config folder: %w (set IDCSCTL_CONFIG to a file path)", err)
	}
	return filepath.Join(dir, "idcsctl", "config.toml"), nil
}

// typeErrorPattern matches the TOML decoder's type errors, which are not
// ParseErrors and carry the key only in their text. It is compiled only
// when a config file fails to decode: compiling regular expressions at
// start-up costs every command, the cached `idcsctl token` included.
const typeErrorPattern = `^toml: (?:line \d+ )?\(last key "([^"]+)"\): (.*)$`

func decodeError(path string, data []byte, err error) error {
	if m := regexp.MustCompile(typeErrorPattern).FindStringSubmatch(err.Error()); m != nil {
		key := m[1][strings.LastIndex(m[1], ".")+1:]
		return &Error{Path: path, Line: lineOf(data, key), Problem: fmt.Sprintf("%s: %s", m[1], m[2])}
	}
	return &Error{Path: path, Problem: strings.TrimPrefix(err.Error(), "toml: ")}
}

// CheckProfileName reports whether name can name a profile. Names become
// file names and keyring keys, so they are kept to a safe alphabet.
func CheckProfileName(name string) error {
	if !validProfileName(name) {
		return fmt.Errorf("profile name %q is not valid: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

// validProfileName is ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$, written out
// because every command checks a name and a regular expression would be
// compiled at start-up for it.
func validProfileName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Load reads the config file at path. A missing file is an empty config,
// not an error: a person who has never signed in has none.
func Load(path string) (*File, error) {
	f := &File{path: path, Profiles: map[string]*Profile{}}
	if err := checkPermissions(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		f.takeSnapshot()
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	md, err := toml.Decode(string(data), f)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, &Error{Path: path, Line: perr.Position.Line, Problem: perr.Message}
		}
		return nil, decodeError(path, data, err)
	}
	if keys := md.Undecoded(); len(keys) > 0 {
		// A misspelt key would otherwise be ignored silently and the person
		// would wonder why their setting has no effect.
		k := keys[0]
		return nil, &Error{
			Path:    path,
			Line:    lineOf(data, k[len(k)-1]),
			Problem: unknownKey(k),
		}
	}
	if f.Profiles == nil {
		f.Profiles = map[string]*Profile{}
	}
	for name, p := range f.Profiles {
		if err := CheckProfileName(name); err != nil {
			return nil, &Error{Path: path, Line: lineOf(data, name), Problem: err.Error()}
		}
		if p == nil {
			p = &Profile{}
			f.Profiles[name] = p
		}
		p.Name = name
		if err := p.check(); err != nil {
			return nil, &Error{Path: path, Line: lineOf(data, name), Problem: fmt.Sprintf("profile %q: %v", name, err)}
		}
	}
	if f.OCIR != nil && f.OCIR.Profile != "" {
		if err := CheckProfileName(f.OCIR.Profile); err != nil {
			return nil, &Error{Path: path, Line: lineOf(data, "profile"), Problem: "[ocir] " + err.Error()}
		}
	}
	if f.DefaultProfile != "" {
		if err := CheckProfileName(f.DefaultProfile); err != nil {
			return nil, &Error{Path: path, Line: lineOf(data, "default_profile"), Problem: err.Error()}
		}
	}
	f.raw = data
	f.takeSnapshot()
	return f, nil
}

// Path is the file this config was read from and is saved to.
func (f *File) Path() string { return f.path }

// Names lists the profiles in the file, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Profiles))
	for n := range f.Profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// writeAtomic replaces the config file at path, making its folder when it
// is missing.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create config folder: %w", err)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("write config file: %w", err)
	}
	return nil
}

func (p *Profile) check() error {
	for _, port := range p.RedirectPorts {
		if port < 1 || port > 65535 {
			return fmt.Errorf("redirect_ports: %d is not a TCP port (1-65535)", port)
		}
	}
	if p.Timeout != "" {
		if _, err := parseTimeout(p.Timeout); err != nil {
			return err
		}
	}
	for _, s := range p.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return fmt.Errorf("scopes: %q is not a scope (one scope per list item, no spaces)", s)
		}
	}
	return nil
}

// DefaultNetworkTimeout is the timeout of a profile that sets none.
const DefaultNetworkTimeout = 30 * time.Second

// maxNetworkTimeout is the longest timeout a profile may set: a longer one
// would let a hung provider hold the profile lock for longer than anyone
// waits.
const maxNetworkTimeout = time.Hour

func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > maxNetworkTimeout {
		return 0, fmt.Errorf("timeout: %q is not a duration between 1ms and 1h (write it like \"30s\" or \"2m\")", s)
	}
	return d, nil
}

// profileKeys lists the keys a profile table may hold, for error messages.
// They are read from Profile's toml tags, so a new key cannot be missed.
func profileKeys() []string {
	var keys []string
	for _, k := range profileFields() {
		keys = append(keys, k.key)
	}
	return keys
}

// unknownKey says that a key is not a setting, which one it probably is
// (as flags and profile names do), and the keys a profile takes.
func unknownKey(k toml.Key) string {
	known, which := profileKeys(), "profile keys"
	switch {
	case len(k) == 1:
		known, which = []string{"default_profile", "profiles", "ocir"}, "top-level keys"
	case k[0] == "ocir":
		known, which = []string{"profile", "hosts"}, "keys of [ocir]"
	}
	hint := ""
	if s := Suggest(k[len(k)-1], known); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return fmt.Sprintf("unknown key %q%s; known %s are %s", k.String(), hint, which, strings.Join(known, ", "))
}

// lineOf finds the first line that sets key, so an error can point at it.
// The TOML decoder does not report positions of keys it did not decode.
func lineOf(data []byte, key string) int {
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, key+" ") || strings.HasPrefix(t, key+"=") || strings.HasPrefix(t, `"`+key+`"`) ||
			strings.HasSuffix(t, "."+key+"]") || t == "["+key+"]" {
			return i + 1
		}
	}
	return 0
}
