package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/gofrs/flock"
)

// The config file is the person's: idcsctl rewrites only the lines of what
// it changes, keeps every comment, key order and blank line of the rest,
// writes through a symlinked config to its target, and takes a lock around
// read-modify-write so that two commands saving different profiles at the
// same moment both keep their change. What it cannot edit in place (a
// profile written as an inline table, say) is written whole, which loses
// comments but never a setting: the result is decoded and compared with
// what was meant before it replaces the file.

// saveLockTimeout bounds the wait for another idcsctl's save.
const saveLockTimeout = 10 * time.Second

// takeSnapshot remembers the settings as read, so Save can tell what this
// process changed and apply only that to the file as it is on disk then.
func (f *File) takeSnapshot() { f.snap = f.clone() }

func cloneProfile(p Profile) Profile {
	p.Scopes = slices.Clone(p.Scopes)
	p.RedirectPorts = slices.Clone(p.RedirectPorts)
	p.AllowedHosts = slices.Clone(p.AllowedHosts)
	return p
}

// Remove forgets the profile; when it was the default, the file has no
// default any more.
func (f *File) Remove(name string) {
	delete(f.Profiles, name)
	if f.DefaultProfile == name {
		f.DefaultProfile = ""
	}
}

// Save writes this process's changes (since Load or the last Save) to the
// file: under the config lock it reads the file again, applies the changes
// to it, edits only the lines they touch, and replaces the file (or the
// target of its symlink) atomically, 0600 in a 0700 folder. Afterwards f
// holds the file as written, other processes' changes included.
func (f *File) Save() error {
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config folder: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), saveLockTimeout)
	defer cancel()
	fl := flock.New(f.path+".lock", flock.SetPermissions(0o600))
	ok, err := fl.TryLockContext(ctx, 20*time.Millisecond)
	if err != nil || !ok {
		return fmt.Errorf("lock config file %s (another idcsctl is saving it): %w", f.path, errors.Join(err, ctx.Err()))
	}
	defer fl.Unlock()

	cur, err := Load(f.path)
	if err != nil {
		return err
	}
	next := cur.clone()
	f.applyChangesTo(next)
	text, err := rewrite(cur, next)
	if err != nil {
		return err
	}
	target, err := writeTarget(f.path)
	if err != nil {
		return err
	}
	if err := writeAtomic(target, text); err != nil {
		return err
	}
	f.DefaultProfile, f.Profiles, f.OCIR, f.raw = next.DefaultProfile, next.Profiles, next.OCIR, text
	f.takeSnapshot()
	return nil
}

// clone is a deep copy of the file's settings.
func (f *File) clone() *File {
	c := &File{DefaultProfile: f.DefaultProfile, Profiles: map[string]*Profile{}, path: f.path, raw: f.raw}
	if f.OCIR != nil {
		c.OCIR = &OCIR{Profile: f.OCIR.Profile, Hosts: maps.Clone(f.OCIR.Hosts)}
	}
	for n, p := range f.Profiles {
		cp := cloneProfile(*p)
		c.Profiles[n] = &cp
	}
	return c
}

// applyChangesTo applies to next what f changed since its snapshot, key by
// key, so a key another process changed meanwhile keeps its new value
// unless this process changed the same key.
func (f *File) applyChangesTo(next *File) {
	base := f.snap
	if base == nil {
		base = &File{}
	}
	if f.DefaultProfile != base.DefaultProfile {
		next.DefaultProfile = f.DefaultProfile
	}
	for name := range base.Profiles {
		if _, ok := f.Profiles[name]; !ok {
			delete(next.Profiles, name)
		}
	}
	for name, p := range f.Profiles {
		old, existed := base.Profiles[name]
		dst, ok := next.Profiles[name]
		if !ok {
			// New here, or removed by another process meanwhile while this
			// one changed it: keep it as this process meant it.
			cp := cloneProfile(*p)
			cp.Name = name
			next.Profiles[name] = &cp
			continue
		}
		nv, ov, dv := reflect.ValueOf(p).Elem(), reflect.ValueOf(old).Elem(), reflect.ValueOf(dst).Elem()
		for _, k := range profileFields() {
			if !existed || !reflect.DeepEqual(nv.Field(k.index).Interface(), ov.Field(k.index).Interface()) {
				dv.Field(k.index).Set(reflect.ValueOf(cloneValue(nv.Field(k.index).Interface())))
			}
		}
	}
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []int:
		return slices.Clone(x)
	}
	return v
}

// profileField is one key of a profile table.
type profileField struct {
	key   string
	index int
}

// profileFields are the keys of a profile table, in the struct's order.
func profileFields() []profileField {
	t := reflect.TypeOf(Profile{})
	var out []profileField
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if name != "" && name != "-" {
			out = append(out, profileField{key: name, index: i})
		}
	}
	return out
}

// writeTarget is the file to replace: the target of a symlinked config,
// so the link stays a link, else the path itself.
func writeTarget(path string) (string, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode()&fs.ModeSymlink == 0 {
		return path, nil
	}
	if err != nil {
		return "", fmt.Errorf("write config file: %w", err)
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("write config file: follow the symlink %s: %w", path, err)
	}
	return target, nil
}

// header starts a file idcsctl creates.
const header = "# idcsctl profiles; see `idcsctl help config` and docs/configuration.md.\n"

// rewrite turns cur's text into the text of next, editing only what
// differs; when the edit does not decode to next it encodes next whole.
func rewrite(cur, next *File) ([]byte, error) {
	if len(bytes.TrimSpace(cur.raw)) == 0 {
		return encodeWhole(next)
	}
	d := &doc{lines: strings.SplitAfter(string(cur.raw), "\n")}
	if d.lines[len(d.lines)-1] == "" {
		d.lines = d.lines[:len(d.lines)-1]
	}
	ok := d.edit(cur, next)
	if ok {
		text := []byte(d.String())
		if same(text, next) {
			return text, nil
		}
	}
	return encodeWhole(next)
}

// encodeWhole writes f in the one layout a person would: default_profile
// at the top, then a [profiles.NAME] table per profile, unindented, with
// its keys in a stable order (the struct's), as appendTable adds one to a
// file being edited. No empty [profiles] header, which a TOML encoder
// writes for the map that holds the tables.
func encodeWhole(f *File) ([]byte, error) {
	d := &doc{lines: []string{header}}
	if f.DefaultProfile != "" {
		d.lines = append(d.lines, "default_profile = "+tomlValue(f.DefaultProfile)+"\n")
	}
	for _, name := range f.Names() {
		d.appendTable("profiles."+name, f.Profiles[name])
	}
	buf := bytes.NewBufferString(d.String())
	if f.OCIR != nil {
		buf.WriteString("\n")
		enc := toml.NewEncoder(buf)
		enc.Indent = ""
		if err := enc.Encode(struct {
			OCIR *OCIR `toml:"ocir"`
		}{f.OCIR}); err != nil {
			return nil, fmt.Errorf("encode config: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// same reports whether text decodes to exactly the settings of want.
func same(text []byte, want *File) bool {
	got := &File{}
	if _, err := toml.Decode(string(text), got); err != nil {
		return false
	}
	if got.DefaultProfile != want.DefaultProfile || len(got.Profiles) != len(want.Profiles) || !reflect.DeepEqual(got.OCIR, want.OCIR) {
		return false
	}
	for n, p := range want.Profiles {
		g, ok := got.Profiles[n]
		if !ok {
			return false
		}
		a, b := *p, *g // copies: only their Name and empty lists change
		a.Name, b.Name = "", ""
		if !reflect.DeepEqual(normalizeEmpty(a), normalizeEmpty(b)) {
			return false
		}
	}
	return true
}

// normalizeEmpty makes an empty list and a missing one equal.
func normalizeEmpty(p Profile) Profile {
	if len(p.Scopes) == 0 {
		p.Scopes = nil
	}
	if len(p.RedirectPorts) == 0 {
		p.RedirectPorts = nil
	}
	if len(p.AllowedHosts) == 0 {
		p.AllowedHosts = nil
	}
	return p
}

// doc is a TOML file as lines (each with its newline), edited in place.
type doc struct{ lines []string }

func (d *doc) String() string { return strings.Join(d.lines, "") }

// edit applies the differences between cur and next to the lines; false
// means a part could not be found where an edit in place needs it.
func (d *doc) edit(cur, next *File) bool {
	for _, name := range cur.Names() {
		if _, ok := next.Profiles[name]; !ok && !d.removeTable("profiles."+name) {
			return false
		}
	}
	if len(next.Profiles) == 0 {
		// With the last profile gone, a [profiles] header of its own
		// (older idcsctl wrote one) would be an empty table left behind.
		d.removeEmptyTable("profiles")
	}
	for _, name := range next.Names() {
		p := next.Profiles[name]
		old, existed := cur.Profiles[name]
		if !existed {
			d.appendTable("profiles."+name, p)
			continue
		}
		nv, ov := reflect.ValueOf(p).Elem(), reflect.ValueOf(old).Elem()
		for _, k := range profileFields() {
			v := nv.Field(k.index).Interface()
			if reflect.DeepEqual(v, ov.Field(k.index).Interface()) {
				continue
			}
			if !d.setKey("profiles."+name, k.key, tomlValue(v)) {
				return false
			}
		}
	}
	if next.DefaultProfile != cur.DefaultProfile {
		return d.setKey("", "default_profile", tomlValue(next.DefaultProfile))
	}
	return true
}

// tomlValue writes a value as TOML; "" for an empty one (the key goes).
func tomlValue(v any) string {
	switch x := v.(type) {
	case bool:
		if !x {
			return ""
		}
		return "true"
	case string:
		if x == "" {
			return ""
		}
		return quote(x)
	case []string:
		if len(x) == 0 {
			return ""
		}
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case []int:
		if len(x) == 0 {
			return ""
		}
		q := make([]string, len(x))
		for i, n := range x {
			q[i] = strconv.Itoa(n)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(map[string]any{"v": v}); err != nil || buf.Len() == 0 {
		return "" // the check against what was meant then writes the file whole
	}
	return strings.TrimSpace(strings.TrimPrefix(buf.String(), "v = "))
}

// quote is a TOML basic string: JSON's escapes are all valid TOML ones.
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

// section is the lines [start, end) of a table (start is its header), or
// of the top level before the first header (start 0, no header).
func (d *doc) section(table string) (start, end int, ok bool) {
	if table == "" {
		for i, l := range d.lines {
			if isHeader(l) {
				return 0, i, true
			}
		}
		return 0, len(d.lines), true
	}
	start = -1
	for i, l := range d.lines {
		if !isHeader(l) {
			continue
		}
		if start >= 0 {
			return start, i, true
		}
		if headerName(l) == table {
			start = i
		}
	}
	if start < 0 {
		return 0, 0, false
	}
	return start, len(d.lines), true
}

func isHeader(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "[") }

// headerName is the dotted name of a table header, with the quotes and
// spaces TOML allows around its parts taken away.
func headerName(l string) string {
	s := strings.TrimSpace(l)
	if i := strings.Index(s, "]"); i >= 0 {
		s = s[:i]
	}
	s = strings.Trim(s, "[]")
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// findKey finds the lines [first, last] of key's assignment in a section,
// a multi-line array included.
func (d *doc) findKey(start, end int, key string) (first, last int, ok bool) {
	i := start
	if i < end && isHeader(d.lines[i]) {
		i++
	}
	for ; i < end; i++ {
		k, rest, found := strings.Cut(d.lines[i], "=")
		t := strings.TrimSpace(k)
		if !found || strings.HasPrefix(t, "#") || strings.Trim(t, `"'`) != key {
			continue
		}
		j := i
		for depth := bracketDepth(rest); depth > 0 && j+1 < end; j++ {
			depth += bracketDepth(d.lines[j+1])
		}
		return i, j, true
	}
	return 0, 0, false
}

// scanLine reads a line of TOML outside its strings: how many more '['
// than ']' it opens before its comment, and where that comment starts (-1
// when there is none).
func scanLine(l string) (depth, comment int) {
	var quote rune
	escaped := false
	for i, c := range l {
		switch {
		case quote != 0:
			if escaped {
				escaped = false
			} else if c == '\\' && quote == '"' {
				escaped = true
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return depth, i
		case c == '[':
			depth++
		case c == ']':
			depth--
		}
	}
	return depth, -1
}

// bracketDepth is how many more '[' than ']' a line opens.
func bracketDepth(l string) int {
	d, _ := scanLine(l)
	return d
}

// trailingComment is the comment that ends a line ("# ..."); "" when
// there is none.
func trailingComment(l string) string {
	if _, at := scanLine(l); at >= 0 {
		return strings.TrimRight(l[at:], "\r\n")
	}
	return ""
}

// setKey sets (or, with value "", removes) key in a table's section.
func (d *doc) setKey(table, key, value string) bool {
	start, end, ok := d.section(table)
	if !ok {
		return false
	}
	line := key + " = " + value + "\n"
	if first, last, found := d.findKey(start, end, key); found {
		indent := d.lines[first][:len(d.lines[first])-len(strings.TrimLeft(d.lines[first], " \t"))]
		repl := []string{}
		if value != "" {
			if c := trailingComment(d.lines[first]); first == last && c != "" {
				// The person's note on the line stays with the new value.
				line = key + " = " + value + "  " + c + "\n"
			}
			repl = append(repl, indent+line)
		}
		d.lines = slices.Replace(d.lines, first, last+1, repl...)
		return true
	}
	if value == "" {
		return true
	}
	// After the section's last assignment, before the blank lines and
	// comments that lead to the next table.
	at := start
	if table != "" {
		at = start + 1
	} else {
		for at < end && strings.HasPrefix(strings.TrimSpace(d.lines[at]), "#") {
			at++ // after the comments that open the file
		}
	}
	for i := at; i < end; i++ {
		t := strings.TrimSpace(d.lines[i])
		if t != "" && !strings.HasPrefix(t, "#") {
			at = i + 1
		}
	}
	if at > 0 && !strings.HasSuffix(d.lines[at-1], "\n") {
		d.lines[at-1] += "\n"
	}
	if table != "" {
		// Beside the table's other keys, indented as its first one is.
		for _, l := range d.lines[start+1 : at] {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
				line = l[:len(l)-len(strings.TrimLeft(l, " \t"))] + line
				break
			}
		}
	}
	if table == "" && at < len(d.lines) && isHeader(d.lines[at]) {
		line += "\n" // a blank line between the top level and the first table
	}
	d.lines = slices.Insert(d.lines, at, line)
	return true
}

// removeEmptyTable removes a table's header when the table holds no key
// and no comment: only blank lines up to the next header.
func (d *doc) removeEmptyTable(table string) {
	start, end, ok := d.section(table)
	if !ok {
		return
	}
	for _, l := range d.lines[start+1 : end] {
		if strings.TrimSpace(l) != "" {
			return
		}
	}
	d.lines = slices.Delete(d.lines, start, end)
}

// removeTable removes a table: its header, its lines, and the comment lines
// right above its header, but not the comments that lead to the next table.
func (d *doc) removeTable(table string) bool {
	start, end, ok := d.section(table)
	if !ok {
		return false
	}
	for end > start+1 && end < len(d.lines) && strings.HasPrefix(strings.TrimSpace(d.lines[end-1]), "#") {
		end--
	}
	for start > 0 && strings.HasPrefix(strings.TrimSpace(d.lines[start-1]), "#") {
		start--
	}
	d.lines = slices.Delete(d.lines, start, end)
	return true
}

// appendTable adds a table with the profile's keys at the end.
func (d *doc) appendTable(table string, p *Profile) {
	if n := len(d.lines); n > 0 {
		if !strings.HasSuffix(d.lines[n-1], "\n") {
			d.lines[n-1] += "\n"
		}
		if strings.TrimSpace(d.lines[n-1]) != "" {
			d.lines = append(d.lines, "\n")
		}
	}
	name := strings.TrimPrefix(table, "profiles.")
	d.lines = append(d.lines, "[profiles."+name+"]\n")
	v := reflect.ValueOf(p).Elem()
	for _, k := range profileFields() {
		if s := tomlValue(v.Field(k.index).Interface()); s != "" {
			d.lines = append(d.lines, k.key+" = "+s+"\n")
		}
	}
}
