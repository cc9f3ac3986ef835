package ocir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/idcsctl/idcsctl/internal/atomicfile"
)

// DockerConfigPath is docker's config.json: $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json.
func DockerConfigPath(getenv func(string) string) (string, error) {
	if dir := getenv("DOCKER_CONFIG"); dir != "" {
		return filepath.Join(dir, "config.json"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the home folder for ~/.docker/config.json: %w (pass --docker-config)", err)
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// member is one "key": value of a JSON object, with where its value is.
type member struct {
	key        string
	raw        json.RawMessage
	start, end int // data[start:end] is raw
}

// objectMembers reads the members of the JSON object in data, in order,
// with each value's place, and checks that nothing follows the object.
func objectMembers(data []byte) (members []member, open, close int, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, 0, 0, errors.New("it is not a JSON object")
	}
	open = int(dec.InputOffset())
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, 0, 0, fmt.Errorf("it is not valid JSON: %w", err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, 0, 0, fmt.Errorf("it is not valid JSON: %w", err)
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if start < 0 || !bytes.Equal(data[start:end], raw) {
			return nil, 0, 0, errors.New("its values could not be located")
		}
		members = append(members, member{key: key, raw: raw, start: start, end: end})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, 0, 0, errors.New("it is not a complete JSON object")
	}
	close = int(dec.InputOffset()) - 1
	if _, err := dec.Token(); err != io.EOF {
		return nil, 0, 0, errors.New("something follows its JSON object")
	}
	return members, open, close, nil
}

// SetCredHelpers returns docker config data whose credHelpers object
// names helper for each of hosts. Every byte outside that object stays as
// it was; inside it the other entries keep their order and values, and
// the object is written again in the file's indentation. It reports
// whether anything changed.
func SetCredHelpers(data []byte, hosts []string, helper string) ([]byte, bool, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}\n")
	}
	members, open, closeAt, err := objectMembers(data)
	if err != nil {
		return nil, false, err
	}
	var found *member
	for i := range members {
		if members[i].key == "credHelpers" {
			if found != nil {
				return nil, false, errors.New(`it has two "credHelpers" keys`)
			}
			found = &members[i]
		}
	}
	var entries []member
	if found != nil {
		if entries, _, _, err = objectMembers(found.raw); err != nil {
			return nil, false, fmt.Errorf(`its "credHelpers" is not an object: %w`, err)
		}
	}
	want, _ := json.Marshal(helper)
	changed := found == nil
	for _, h := range hosts {
		i := len(entries)
		for j, e := range entries {
			if e.key == h {
				i = j
			}
		}
		if i < len(entries) {
			if !bytes.Equal(entries[i].raw, want) {
				entries[i].raw, changed = want, true
			}
			continue
		}
		entries = append(entries, member{key: h, raw: want})
		changed = true
	}
	if !changed {
		return data, false, nil
	}
	multiline := bytes.Contains(data, []byte("\n"))
	var out bytes.Buffer
	switch {
	case found != nil:
		indent := lineIndent(data, found.start)
		out.Write(data[:found.start])
		writeObject(&out, entries, indent, unitOf(indent), multiline && (bytes.Contains(found.raw, []byte("\n")) || len(found.raw) <= 2))
		out.Write(data[found.end:])
	case len(members) == 0:
		out.Write(data[:open])
		if multiline {
			out.WriteString("\n\t\"credHelpers\": ")
			writeObject(&out, entries, "\t", "\t", true)
			out.WriteString("\n")
		} else {
			out.WriteString(`"credHelpers":`)
			writeObject(&out, entries, "", "", false)
		}
		out.Write(data[closeAt:])
	default:
		last := members[len(members)-1]
		indent := lineIndent(data, last.start)
		out.Write(data[:last.end])
		if multiline {
			out.WriteString(",\n" + indent + `"credHelpers": `)
			writeObject(&out, entries, indent, unitOf(indent), true)
		} else {
			out.WriteString(`,"credHelpers":`)
			writeObject(&out, entries, "", "", false)
		}
		out.Write(data[last.end:])
	}
	if !json.Valid(out.Bytes()) {
		return nil, false, errors.New("the edit would not be JSON")
	}
	return out.Bytes(), true, nil
}

func writeObject(w *bytes.Buffer, entries []member, indent, unit string, multiline bool) {
	if len(entries) == 0 {
		w.WriteString("{}")
		return
	}
	w.WriteString("{")
	for i, e := range entries {
		if i > 0 {
			w.WriteString(",")
		}
		if multiline {
			w.WriteString("\n" + indent + unit)
		}
		k, _ := json.Marshal(e.key)
		w.Write(k)
		if multiline {
			w.WriteString(": ")
		} else {
			w.WriteString(":")
		}
		w.Write(e.raw)
	}
	if multiline {
		w.WriteString("\n" + indent)
	}
	w.WriteString("}")
}

// lineIndent is the leading white space of the line holding data[at].
func lineIndent(data []byte, at int) string {
	start := bytes.LastIndexByte(data[:at], '\n') + 1
	line := data[start:at]
	return string(line[:len(line)-len(bytes.TrimLeft(line, " \t"))])
}

// unitOf guesses one level of indentation from a top-level member's.
func unitOf(indent string) string {
	if indent == "" || strings.HasPrefix(indent, "\t") {
		return "\t"
	}
	return indent
}

// ErrUnsafeDockerConfig means docker's config file is a symbolic link or
// can be changed by other users: idcsctl does not write it.
var ErrUnsafeDockerConfig = errors.New("docker's config file is not safe to edit")

// WriteCredHelpers names helper for hosts in the credHelpers of the
// docker config file at path, creating it (0600, in a 0700 folder) when
// missing, keeping its mode and owner otherwise. A symbolic link or a file
// or folder others can write is refused. It reports whether the file
// changed.
func WriteCredHelpers(path string, hosts []string, helper string) (bool, error) {
	mode := fs.FileMode(0o600)
	owner := -1
	group := -1
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return false, fmt.Errorf("create docker's config folder: %w", err)
		}
	case err != nil:
		return false, fmt.Errorf("read docker's config file: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return false, fmt.Errorf("%w: %s is a symbolic link, which an atomic replace would turn into a file: pass its target with --docker-config", ErrUnsafeDockerConfig, path)
	case !fi.Mode().IsRegular():
		return false, fmt.Errorf("%w: %s is not a regular file", ErrUnsafeDockerConfig, path)
	default:
		mode = fi.Mode().Perm()
		owner, group = fileOwner(fi)
	}
	if runtime.GOOS != "windows" {
		for _, p := range []string{filepath.Dir(path), path} {
			if pi, err := os.Stat(p); err == nil && pi.Mode().Perm()&0o022 != 0 {
				return false, fmt.Errorf("%w: other users can change %s (mode %04o), and with it which program docker runs for your registries: run `chmod go-w %s`", ErrUnsafeDockerConfig, p, pi.Mode().Perm(), p)
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("read docker's config file: %w", err)
	}
	next, changed, err := SetCredHelpers(data, hosts, helper)
	if err != nil {
		return false, fmt.Errorf("docker's config file %s: %w; fix it, or pass another file with --docker-config", path, err)
	}
	if !changed {
		return false, nil
	}
	if err := atomicfile.Write(path, next, mode); err != nil {
		return false, err
	}
	if owner >= 0 && (owner != os.Getuid() || group != os.Getgid()) {
		if err := os.Chown(path, owner, group); err != nil {
			return true, fmt.Errorf("give %s back to its owner (uid %d): %w", path, owner, err)
		}
	}
	return true, nil
}
