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
	"time"
	"unicode"
)

// jsonTemplate is a --template over the names -o json prints, as gh's
// --template works on JSON keys: {{.user_name}}, {{range .groups}}.
type jsonTemplate struct {
	tmpl   *template.Template
	shape  reflect.Type
	fields []string // every field name of the document, for errors
}

// parseJSONTemplate parses text for documents shaped like shape (a struct
// with json tags, or a list of them). Every field shape can hold is defined
// when the template runs, empty when the document has no value for it, so
// a template works the same whether or not a field was filled in this time
// (a signed-out profile has no user_name).
func parseJSONTemplate(name, text string, shape any) (*jsonTemplate, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, usagef("--template: %v", err)
	}
	st := reflect.TypeOf(shape)
	names := map[string]bool{}
	fieldNames(st, names)
	return &jsonTemplate{tmpl: t, shape: st, fields: slices.Sorted(maps.Keys(names))}, nil
}

// execute writes the document v through the template and a newline.
func (j *jsonTemplate) execute(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	fillEmpty(doc, j.shape)
	var buf bytes.Buffer
	if err := j.tmpl.Execute(&buf, doc); err != nil {
		return j.explain(err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// fillEmpty gives every field of t that the decoded document v leaves out
// (omitempty) its empty value, in v and in the objects and lists it holds.
func fillEmpty(v any, t reflect.Type) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := v.(type) {
	case map[string]any:
		if t == nil || t.Kind() != reflect.Struct {
			return
		}
		for name, f := range jsonFields(t) {
			if _, ok := v[name]; !ok {
				v[name] = emptyOf(f.Type)
			}
			fillEmpty(v[name], f.Type)
		}
	case []any:
		if t == nil || t.Kind() != reflect.Slice {
			return
		}
		for _, e := range v {
			fillEmpty(e, t.Elem())
		}
	}
}

// emptyOf is the value a template sees for a field of type t the document
// left out: an empty list for a list (range works on it), an object with
// every field empty for an object, "" for the rest (times included).
func emptyOf(t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Slice:
		return []any{}
	case t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]():
		m := map[string]any{}
		fillEmpty(m, t)
		return m
	}
	return ""
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

// fieldNames adds the json names of t's fields, and of the objects its
// fields hold (status's profiles), to names.
func fieldNames(t reflect.Type, names map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return
	}
	for name, f := range jsonFields(t) {
		if !names[name] {
			names[name] = true
			fieldNames(f.Type, names)
		}
	}
}

// jsonFields maps the json names of a struct's fields, embedded ones
// included, to the fields; none for a type that is no struct.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]reflect.StructField{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f
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
