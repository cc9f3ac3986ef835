package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"
)

// docFlags are --jq and --template, which every command with a -o json
// document takes, as gh's commands do: both work on the document -o json
// prints, with its field names.
type docFlags struct {
	jq       string
	template string
}

// addDocFlags adds --jq and --template to a command whose -o json document
// is shaped like the examples of docs/output.md.
func addDocFlags(cmd *cobra.Command, d *docFlags) {
	f := cmd.Flags()
	f.StringVarP(&d.jq, "jq", "q", "", "filter the -o json document with a jq expression; strings are written without quotes")
	f.StringVarP(&d.template, "template", "t", "", "format the -o json document with a Go template over its field names, e.g. '{{.name}}'")
}

// docWriter writes a command's document: as JSON, through a jq filter or
// through a template. A nil *docWriter means text output.
type docWriter struct {
	jq   *gojq.Code
	tmpl *jsonTemplate
}

// document checks the --jq and --template of d against -o and compiles
// them, before the command does any work, so that a typo costs nothing.
// shape is a value of the document's type (for the template's field
// names). It returns nil when the command is to print text.
func (a *app) document(d *docFlags, name string, shape any) (*docWriter, error) {
	switch {
	case d.jq != "" && d.template != "":
		return nil, usagef("--jq and --template both format the output: use one")
	case d.template != "" && a.global.output == "json":
		return nil, usagef("--template formats the document itself, not JSON: leave out -o json")
	case d.jq != "":
		code, err := compileJQ(d.jq)
		if err != nil {
			return nil, err
		}
		return &docWriter{jq: code}, nil
	case d.template != "":
		t, err := parseJSONTemplate(name, d.template, shape)
		if err != nil {
			return nil, err
		}
		return &docWriter{tmpl: t}, nil
	case a.global.output == "json":
		return &docWriter{}, nil
	}
	return nil, nil
}

// write writes the document v as -o json, --jq or --template asked.
func (w *docWriter) write(ctx context.Context, out io.Writer, v any) error {
	switch {
	case w.tmpl != nil:
		return w.tmpl.execute(out, v)
	case w.jq != nil:
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return runJQ(ctx, out, w.jq, bytes.NewReader(raw), false)
	}
	return writeJSON(out, v)
}

// compileJQ parses and compiles a --jq expression; a mistake in it is a
// usage error that quotes the parser.
func compileJQ(expr string) (*gojq.Code, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, usagef("--jq: %v", err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, usagef("--jq: %v", err)
	}
	return code, nil
}

// runJQ filters each JSON value of r. Strings are written bare, as `gh api
// --jq` and `jq -r` do, since a script wants the user name, not a JSON
// string literal; other values as JSON, one per line.
func runJQ(ctx context.Context, w io.Writer, code *gojq.Code, r io.Reader, pretty bool) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("--jq: the answer is not JSON: %w", err)
		}
		iter := code.RunWithContext(ctx, v)
		for {
			out, ok := iter.Next()
			if !ok {
				break
			}
			if err, isErr := out.(error); isErr {
				var halt *gojq.HaltError
				if errors.As(err, &halt) && halt.Value() == nil {
					return nil
				}
				return fmt.Errorf("--jq: %w", err)
			}
			if err := writeJQValue(w, out, pretty); err != nil {
				return err
			}
		}
	}
}

func writeJQValue(w io.Writer, v any, pretty bool) error {
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = gojq.Marshal(v); err != nil {
			return fmt.Errorf("--jq: %w", err)
		}
		if pretty {
			var out bytes.Buffer
			if json.Indent(&out, b, "", "  ") == nil {
				b = out.Bytes()
			}
		}
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
