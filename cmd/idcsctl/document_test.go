package main

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/buildinfo"
)

// outputDocs maps each command that takes --jq and --template to its
// section of docs/output.md and the type of the document it prints.
var outputDocs = map[string]struct {
	heading string
	shape   any
	subset  bool // the section documents a larger document (login's is whoami's without its extras)
}{
	"idcsctl login":        {"## `idcsctl whoami -o json` and `idcsctl login -o json`", identity{}, true},
	"idcsctl status":       {"## `idcsctl status -o json`", statusJSON{}, false},
	"idcsctl token":        {"## `idcsctl token -o json`", tokenJSON{}, false},
	"idcsctl whoami":       {"## `idcsctl whoami -o json` and `idcsctl login -o json`", whoamiJSON{}, false},
	"idcsctl profile list": {"## `idcsctl profile list -o json`", profileListJSON{}, false},
	"idcsctl doctor":       {"## `idcsctl doctor -o json`", doctorReport{}, false},
	"idcsctl oci session":  {"## `idcsctl oci session -o json`", ociSessionJSON{}, false},
	"idcsctl version":      {"## `idcsctl version -o json`", buildinfo.Info{}, false},
}

var docFieldRE = regexp.MustCompile("^\\| `([a-z_]+)` \\|")

// TestOutputDocsListEveryField keeps docs/output.md's field tables and the
// documents the commands print (their json tags) in agreement, and makes
// every command with --template have a table.
func TestOutputDocsListEveryField(t *testing.T) {
	raw, err := os.ReadFile("../../docs/output.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][]string{}
	var cur string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "## ") {
			cur = line
			continue
		}
		if m := docFieldRE.FindStringSubmatch(line); m != nil {
			sections[cur] = append(sections[cur], m[1])
		}
	}
	for path, d := range outputDocs {
		names := map[string]bool{}
		fieldNames(reflect.TypeOf(d.shape), names)
		want := slices.Sorted(maps.Keys(names))
		got := slices.Compact(slices.Sorted(slices.Values(sections[d.heading])))
		if d.subset {
			want = slices.DeleteFunc(want, func(f string) bool { return slices.Contains(got, f) })
			if len(want) > 0 {
				t.Errorf("%s: docs/output.md section %q lacks the fields %v", path, d.heading, want)
			}
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: docs/output.md section %q lists the fields\n%v\nthe document has\n%v", path, d.heading, got, want)
		}
	}
	root := newRootCmd(&deps{Getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("template") != nil {
			if _, ok := outputDocs[c.CommandPath()]; !ok {
				t.Errorf("%s takes --template but docs/output.md has no field table for it in outputDocs", c.CommandPath())
			}
			if c.Flags().Lookup("jq") == nil {
				t.Errorf("%s takes --template but not --jq", c.CommandPath())
			}
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

func TestDocumentFlags(t *testing.T) {
	type doc struct {
		Name    string     `json:"name"`
		Tags    []string   `json:"tags,omitempty"`
		Expires *time.Time `json:"expires_at,omitempty"`
		Items   []struct {
			ID    string `json:"id"`
			Label string `json:"label,omitempty"`
		} `json:"items"`
	}
	v := doc{Name: "a"}
	v.Items = append(v.Items, struct {
		ID    string `json:"id"`
		Label string `json:"label,omitempty"`
	}{ID: "x"})
	tests := []struct {
		name     string
		output   string
		jq, tmpl string
		want     string
		usage    string // the usage error's start, when one is expected
	}{
		{name: "text", output: "text"},
		{name: "json", output: "json", want: "{\n  \"name\": \"a\",\n  \"items\": [\n    {\n      \"id\": \"x\"\n    }\n  ]\n}\n"},
		{name: "jq string bare", output: "text", jq: ".name", want: "a\n"},
		{name: "jq with -o json", output: "json", jq: ".items[].id", want: "x\n"},
		{name: "jq value", output: "text", jq: ".items | length", want: "1\n"},
		{name: "template", output: "text", tmpl: "{{.name}}", want: "a\n"},
		{name: "template empty fields", output: "text", tmpl: "[{{.expires_at}}{{range .tags}}t{{end}}{{range .items}}{{.id}}:{{.label}}{{end}}]", want: "[x:]\n"},
		{name: "template with -o json", output: "json", tmpl: "{{.name}}", usage: "--template formats the document itself"},
		{name: "jq and template", output: "text", jq: ".", tmpl: "{{.name}}", usage: "--jq and --template both"},
		{name: "bad jq", output: "text", jq: ".[", usage: "--jq: unexpected EOF"},
		{name: "bad template", output: "text", tmpl: "{{.name", usage: "--template: template: x:1: unclosed action"},
		{name: "unknown field", output: "text", tmpl: "{{.Name}}", usage: `--template: there is no field "Name"`},
		{name: "unknown nested field", output: "text", tmpl: "{{range .items}}{{.ID}}{{end}}", usage: `--template: there is no field "ID" (did you mean .id?); the fields are the names -o json prints: expires_at, id, items, label, name, tags`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{global: &globalOptions{output: tc.output}}
			w, err := a.document(&docFlags{jq: tc.jq, template: tc.tmpl}, "x", doc{})
			var out bytes.Buffer
			if err == nil && w != nil {
				err = w.write(context.Background(), &out, v)
			}
			var ue *usageError
			switch {
			case tc.usage != "":
				if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), tc.usage) {
					t.Fatalf("error %v, want a usage error starting %q", err, tc.usage)
				}
			case err != nil:
				t.Fatal(err)
			case tc.output == "text" && tc.jq == "" && tc.tmpl == "":
				if w != nil {
					t.Fatal("text output got a document writer")
				}
			case out.String() != tc.want:
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestTableColour(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		env      map[string]string
		bold     bool
	}{
		{name: "terminal", terminal: true, bold: true},
		{name: "pipe", terminal: false},
		{name: "NO_COLOR", terminal: true, env: map[string]string{"NO_COLOR": "1"}},
		{name: "TERM=dumb", terminal: true, env: map[string]string{"TERM": "dumb"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{deps: &deps{StdoutIsTerminal: tc.terminal, Getenv: func(k string) string { return tc.env[k] }}}
			var b bytes.Buffer
			tw := a.newTable(&b, "NAME", "STATE")
			tw.row("* a-long-name", "ok")
			tw.row("b", "signed out")
			if err := tw.flush(); err != nil {
				t.Fatal(err)
			}
			head := "NAME           STATE"
			if tc.bold {
				head = "\x1b[1m" + head + "\x1b[0m"
			}
			want := head + "\n* a-long-name  ok\nb              signed out\n"
			if b.String() != want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), want)
			}
		})
	}
}
