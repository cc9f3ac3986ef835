package main

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idcsctl/idcsctl/internal/config"
)

// TestHelpTopicsAgreeWithDocs holds each help topic to the docs page it
// summarises: the same variables, the same profile keys (and the config
// package's), the same example, the same exit codes.
func TestHelpTopicsAgreeWithDocs(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("../../docs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	configDoc := read("configuration.md")
	allDocs := configDoc + read("kubernetes.md") + read("exit-codes.md") + read("login.md")

	t.Run("environment", func(t *testing.T) {
		vars := regexp.MustCompile(`IDCSCTL_[A-Z_]+`)
		want := slices.Compact(slices.Sorted(slices.Values(vars.FindAllString(configDoc, -1))))
		got := slices.Compact(slices.Sorted(slices.Values(vars.FindAllString(helpEnvironment, -1))))
		if !slices.Equal(got, want) {
			t.Errorf("idcsctl help environment names %v; docs/configuration.md %v", got, want)
		}
		for _, v := range regexp.MustCompile(`(?m)^  ([A-Z_]+)`).FindAllStringSubmatch(helpEnvironment, -1) {
			if !strings.Contains(allDocs, v[1]) {
				t.Errorf("idcsctl help environment names %s, which docs/ never mention", v[1])
			}
		}
	})

	t.Run("config", func(t *testing.T) {
		var tags []string
		for f := range reflect.TypeFor[config.Profile]().Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name != "-" && name != "" {
				tags = append(tags, name)
			}
		}
		slices.Sort(tags)
		var topic []string
		_, keys, _ := strings.Cut(helpConfig, "Keys of a [profiles.NAME] table:\n")
		for _, m := range regexp.MustCompile(`(?m)^  ([a-z_]+)  `).FindAllStringSubmatch(keys, -1) {
			topic = append(topic, m[1])
		}
		slices.Sort(topic)
		var doc []string
		_, precedence, _ := strings.Cut(configDoc, "## Precedence\n")
		precedence, _, _ = strings.Cut(precedence, "\n## ")
		key := regexp.MustCompile("`([a-z_]+)(?:`| = )")
		for _, row := range strings.Split(precedence, "\n") {
			cells := strings.Split(row, "|")
			if len(cells) < 6 {
				continue
			}
			for _, m := range key.FindAllStringSubmatch(cells[4], -1) {
				if m[1] != "default_profile" {
					doc = append(doc, m[1])
				}
			}
		}
		slices.Sort(doc)
		if !slices.Equal(topic, tags) || !slices.Equal(doc, tags) {
			t.Errorf("profile keys:\nidcsctl help config     %v\ndocs/configuration.md   %v\nconfig.Profile          %v", topic, doc, tags)
		}
		// The topic's example is the start of the docs' example.
		var example []string
		for _, l := range strings.Split(helpConfig, "\n") {
			if strings.HasPrefix(l, "  ") && (strings.Contains(l, " = ") || strings.HasPrefix(l, "  [")) || l == "" && len(example) > 0 && len(example) < 3 {
				example = append(example, strings.TrimPrefix(l, "  "))
			}
		}
		text := strings.Join(example, "\n")
		if len(example) < 4 || !strings.Contains(configDoc, "```toml\n"+text+"\n") {
			t.Errorf("idcsctl help config's example is not how docs/configuration.md's begins:\n%s", text)
		}
	})

	t.Run("exit-codes", func(t *testing.T) {
		text := helpExitCodes()
		for _, c := range exitCodes {
			line := "  " + string(rune('0'+c.code)) + "  " + strings.ReplaceAll(c.meaning, "`", "") + "\n"
			if !strings.Contains(text, line) {
				t.Errorf("idcsctl help exit-codes lacks %q", line)
			}
		}
		if len(exitCodes) != 6 {
			t.Errorf("%d exit codes; docs/exit-codes.md lists 6", len(exitCodes))
		}
	})
}
