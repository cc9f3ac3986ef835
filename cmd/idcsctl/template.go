package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"unicode"
)

// jsonTemplate is a --template over the names -o json prints, as gh's
// --template works on JSON keys: {{.user_name}}, {{range .groups}}.
type jsonTemplate struct {
	tmpl   *template.Template
	fields []string
	empty  map[string]any // the value of each field when the document has none
}

// parseJSONTemplate parses text for documents shaped like shape (a struct
// with json tags). Every field shape can hold is defined when the template
// runs, empty when the document has no value for it, so a template works
// the same whether or not a field was filled in this time.
func parseJSONTemplate(name, text string, shape any) (*jsonTemplate, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, usagef("--template: %v", err)
	}
	empty := jsonFields(reflect.TypeOf(shape))
	return &jsonTemplate{tmpl: t, fields: slices.Sorted(maps.Keys(empty)), empty: empty}, nil
}

// execute writes the document v through the template and a newline.
func (j *jsonTemplate) execute(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc := map[string]any{}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	for f, v := range j.empty {
		if _, ok := doc[f]; !ok {
			doc[f] = v
		}
	}
	var buf bytes.Buffer
	if err := j.tmpl.Execute(&buf, doc); err != nil {
		return j.explain(err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

var missingKeyRE = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

// explain turns a template error into one that names the fields there are,
// and the field a Go-style name (UserName) was meant to be.
func (j *jsonTemplate) explain(err error) error {
	list := strings.Join(j.fields, ", ")
	m := missingKeyRE.FindStringSubmatch(err.Error())
	if m == nil {
		return usagef("--template: %v (the fields are %s)", err, list)
	}
	hint := ""
	if snake := snakeCase(m[1]); snake != m[1] && slices.Contains(j.fields, snake) {
		hint = fmt.Sprintf(" (did you mean .%s?)", snake)
	}
	return usagef("--template: there is no field %q%s; the fields are the names -o json prints: %s", m[1], hint, list)
}

// jsonFields maps the json names of a struct's fields, embedded ones
// included, to an empty value a template can use as the field's: an empty
// list for a list (range works on it), "" for the rest.
func jsonFields(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]any{}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if f.Type.Kind() == reflect.Slice {
			out[name] = []any{}
		} else {
			out[name] = ""
		}
	}
	return out
}

// snakeCase turns a Go field name into the JSON name it would have here:
// UserName → user_name, UserID → user_id.
func snakeCase(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}
