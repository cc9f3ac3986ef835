package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
)

// ConfigError is an OCI config file idcsctl will not edit: it is a symbolic
// link, or not what the oci CLI could read. It names the file and, where
// known, the line, so the person can fix it; the file is left as it is.
type ConfigError struct {
	Path    string
	Line    int
	Problem string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("OCI config file %s, line %d: %s", e.Path, e.Line, e.Problem)
	}
	return fmt.Sprintf("OCI config file %s: %s", e.Path, e.Problem)
}

// Config is an OCI config file (~/.oci/config) as bytes, with the place of
// each section, so that one section can be replaced or removed while every
// other byte (other profiles, comments, blank lines, line endings) stays.
type Config struct {
	Path     string
	mode     fs.FileMode
	exists   bool
	lines    []string // each with its line ending
	sections []span
	// addedFinalNewline says SetSection ended the file's last line, which
	// had no line ending, before appending a section.
	addedFinalNewline bool
}

// span is one [name] section: its header line and its last key line (what
// follows up to the next header, blank lines and comments, is left alone).
type span struct {
	name        string
	header, end int // lines[header:end]
	keys        map[string]string
}

// ReadConfig reads and parses the OCI config file at path. A missing file
// is an empty config; a symbolic link or a file the oci CLI could not read
// is a *ConfigError.
func ReadConfig(path string) (*Config, error) {
	c := &Config{Path: path, mode: 0o600}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("read the OCI config file: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, &ConfigError{Path: path, Problem: "is a symbolic link; idcsctl replaces the config file atomically and would replace the link, so point --oci-config at the real file"}
	case !fi.Mode().IsRegular():
		return nil, &ConfigError{Path: path, Problem: "is not a regular file"}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the OCI config file: %w", err)
	}
	c.exists, c.mode = true, fi.Mode().Perm()
	if err := c.parse(data); err != nil {
		return nil, err
	}
	return c, nil
}

// parse follows the rules of Python's configparser, which the oci CLI
// reads the file with: comments start with # or ;, indented lines continue
// a value, keys are separated from values by = or :, every key is in a
// section, and no section appears twice.
func (c *Config) parse(data []byte) error {
	c.lines = splitLines(string(data))
	c.sections = nil
	var cur *span
	seen := map[string]bool{}
	lastKey := ""
	for i, raw := range c.lines {
		line := strings.TrimRight(raw, "\r\n")
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			lastKey = ""
			continue
		case trimmed[0] == '#' || trimmed[0] == ';':
			continue
		case line[0] == ' ' || line[0] == '\t':
			if cur == nil || lastKey == "" {
				return &ConfigError{Path: c.Path, Line: i + 1, Problem: "an indented line continues no value"}
			}
			cur.end = i + 1
			continue
		case line[0] == '[':
			name, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), "]")
			name = strings.TrimPrefix(name, "[")
			if !ok || name == "" || strings.ContainsAny(name, "[]") {
				return &ConfigError{Path: c.Path, Line: i + 1, Problem: "a section header must be [name]"}
			}
			if seen[name] {
				return &ConfigError{Path: c.Path, Line: i + 1, Problem: fmt.Sprintf("section [%s] appears twice", name)}
			}
			seen[name] = true
			c.sections = append(c.sections, span{name: name, header: i, end: i + 1, keys: map[string]string{}})
			cur = &c.sections[len(c.sections)-1]
			lastKey = ""
			continue
		}
		k, v, ok := cutDelimiter(line)
		if !ok || strings.TrimSpace(k) == "" {
			return &ConfigError{Path: c.Path, Line: i + 1, Problem: "expected key=value, a [section] header, a comment or a blank line"}
		}
		if cur == nil {
			return &ConfigError{Path: c.Path, Line: i + 1, Problem: "a key before the first [section] header"}
		}
		lastKey = strings.ToLower(strings.TrimSpace(k))
		cur.keys[lastKey] = strings.TrimSpace(v)
		cur.end = i + 1
	}
	return nil
}

func cutDelimiter(line string) (k, v string, ok bool) {
	i := strings.IndexAny(line, "=:")
	if i < 0 {
		return "", "", false
	}
	return line[:i], line[i+1:], true
}

func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// Exists reports whether the file existed when read.
func (c *Config) Exists() bool { return c.exists }

// Section returns the keys of section name (lower-cased), or false.
func (c *Config) Section(name string) (map[string]string, bool) {
	for _, s := range c.sections {
		if s.name == name {
			return s.keys, true
		}
	}
	return nil, false
}

// Sections lists the section names in file order.
func (c *Config) Sections() []string {
	out := make([]string, len(c.sections))
	for i, s := range c.sections {
		out[i] = s.name
	}
	return out
}

// KV is one key of a section, in the order it is written.
type KV struct{ Key, Value string }

// Bytes returns the file's bytes.
func (c *Config) Bytes() []byte { return []byte(strings.Join(c.lines, "")) }

// newline is the file's line ending, so a CRLF file stays CRLF.
func (c *Config) newline() string {
	if len(c.lines) > 0 && strings.HasSuffix(c.lines[0], "\r\n") {
		return "\r\n"
	}
	return "\n"
}

// SetSection replaces section name with keys, or appends it after a blank
// line when the file has none; nothing else changes.
func (c *Config) SetSection(name string, keys []KV) error {
	if !safeValue(name) || strings.ContainsAny(name, "[]") {
		return fmt.Errorf("%q cannot name an OCI config section", name)
	}
	nl := c.newline()
	var b strings.Builder
	b.WriteString("[" + name + "]" + nl)
	for _, kv := range keys {
		if !safeValue(kv.Value) {
			return fmt.Errorf("the value of %s for the OCI config has a control character", kv.Key)
		}
		b.WriteString(kv.Key + "=" + kv.Value + nl)
	}
	section := splitLines(b.String())
	for _, s := range c.sections {
		if s.name == name {
			c.lines = append(c.lines[:s.header:s.header], append(section, c.lines[s.end:]...)...)
			return c.parse(c.Bytes())
		}
	}
	if n := len(c.lines); n > 0 {
		if !strings.HasSuffix(c.lines[n-1], "\n") {
			c.lines[n-1] += nl
			c.addedFinalNewline = true
		}
		section = append([]string{nl}, section...)
	}
	c.lines = append(c.lines, section...)
	return c.parse(c.Bytes())
}

// RemoveSection removes section name and the blank line SetSection put
// before it (when a blank line or the end of the file follows, so blank
// lines do not pile up), so that adding and then removing sections gives
// the file back as it was. It reports whether the section was there.
func (c *Config) RemoveSection(name string) (bool, error) {
	for _, s := range c.sections {
		if s.name != name {
			continue
		}
		start := s.header
		blank := func(i int) bool { return strings.TrimSpace(c.lines[i]) == "" }
		if start > 0 && blank(start-1) && (s.end == len(c.lines) || blank(s.end)) {
			start--
		}
		c.lines = append(c.lines[:start:start], c.lines[s.end:]...)
		return true, c.parse(c.Bytes())
	}
	return false, nil
}

// Write replaces the file atomically (a temporary file in the same folder,
// then a rename), keeping its permissions and its owner; a new file gets
// 0600 in a 0700 folder.
func (c *Config) Write() error {
	dir := filepath.Dir(c.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return atomicfile.WriteKeepingOwner(c.Path, c.Bytes(), c.mode)
}

// removeOrWrite writes the file, or removes it when it is empty and
// idcsctl created it (created).
func (c *Config) removeOrWrite(created bool) error {
	if created && len(c.lines) == 0 {
		if err := os.Remove(c.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", c.Path, err)
		}
		return nil
	}
	return c.Write()
}

// isLast reports whether section name ends the file: nothing, not even a
// blank line or a comment, follows it.
func (c *Config) isLast(name string) bool {
	for _, s := range c.sections {
		if s.name == name {
			return s.end == len(c.lines)
		}
	}
	return false
}

// trimFinalNewline takes away the last line's ending, which SetSection
// added to a file that had none.
func (c *Config) trimFinalNewline() {
	if n := len(c.lines); n > 0 {
		c.lines[n-1] = strings.TrimSuffix(strings.TrimSuffix(c.lines[n-1], "\n"), "\r")
	}
}

// writeAtomic replaces path with data (see atomicfile), making its folder,
// private, when it is missing.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return atomicfile.Write(path, data, mode)
}
