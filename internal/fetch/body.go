package fetch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode"
)

// Body is a request body that can be sent more than once, as a retry, a
// retry after a token refresh, and a 307 or 308 redirect all need.
type Body struct {
	data []byte
	path string // when set, the file is read again for every send
}

// ParseData reads a -d/--json argument as curl does: "@-" is the whole of
// stdin (read now, so it can be sent again), "@FILE" is a file (streamed
// from disk on every send, so it may be large), anything else is the
// literal text. The bytes are sent as they are, newlines included.
func ParseData(arg string, stdin io.Reader) (*Body, error) {
	switch {
	case arg == "@":
		return nil, errors.New("the data \"@\" names no file: write @FILE, @- for stdin, or the text itself")
	case arg == "@-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read the request body from stdin: %w", err)
		}
		return &Body{data: b}, nil
	case strings.HasPrefix(arg, "@"):
		path := arg[1:]
		if strings.ContainsFunc(path, unicode.IsControl) {
			// No real file name holds them, and echoing one in an error
			// would write control characters to the terminal.
			return nil, fmt.Errorf("the file name after @ holds control characters: %q", path)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("read the request body: %w", err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("read the request body: %s is a folder, not a file", path)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read the request body: %w", err)
		}
		f.Close()
		return &Body{path: path}, nil
	}
	return &Body{data: []byte(arg)}, nil
}

// open returns a fresh reader over the body and its length, -1 when the
// length is not known in advance (a file that is not a regular file).
func (b *Body) open() (io.ReadCloser, int64, error) {
	if b.path == "" {
		return io.NopCloser(bytes.NewReader(b.data)), int64(len(b.data)), nil
	}
	f, err := os.Open(b.path)
	if err != nil {
		return nil, 0, fmt.Errorf("read the request body: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("read the request body: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return f, -1, nil
	}
	return f, fi.Size(), nil
}

// CheckJSON reports whether the body is JSON, so a typo fails before the
// request instead of as a server's 400. It streams, so a large file costs
// no memory. Only a regular file can be read twice, so other files (a
// named pipe) are not checked.
func (b *Body) CheckJSON() error {
	rc, n, err := b.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if n < 0 {
		return nil
	}
	dec := json.NewDecoder(rc)
	values, depth := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			// Token reports a body cut inside an object or array as a
			// plain end of input: only the nesting depth tells.
			if depth > 0 {
				return errors.New("the --json body is not valid JSON: it ends inside an object or array")
			}
			break
		}
		if err != nil {
			return fmt.Errorf("the --json body is not valid JSON: %w", err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		values++
	}
	if values == 0 {
		return errors.New("the --json body is empty")
	}
	return nil
}

// ParseHeader reads a -H argument, "Name: value", and returns the name in
// its canonical form. The value may be empty.
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", fmt.Errorf("header %q is not \"Name: value\"", s)
	}
	if !isToken(name) {
		return "", "", fmt.Errorf("header name %q holds characters a header name may not", name)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return "", "", fmt.Errorf("the value of header %s holds a line break or NUL", name)
	}
	return http.CanonicalHeaderKey(name), value, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 5.6.2), the
// grammar of header names and methods.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// CheckMethod reports whether m can be an HTTP method.
func CheckMethod(m string) error {
	if !isToken(m) {
		return fmt.Errorf("%q is not an HTTP method", m)
	}
	return nil
}
