package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// A shell snippet of the README or docs/ says, in an HTML comment on the
// line before its fence, whether TestDocSnippetsRun runs it:
//
//	<!-- snippet: run [signed-in|signed-out] [profiles=a,b] [exit=N] [stdout="RE"] [stderr="RE"] -->
//	<!-- snippet: skip REASON -->
//
// Several run lines run the snippet once each, in the state each names:
// signed in to the emulator as the default profile, signed out, or with
// the named profiles signed in. The snippet's identity domain URLs
// (https://idcs-<id>.identity.oraclecloud.com) and <client id> become the
// emulator's, $URL is the emulator's URL, and the snippet runs in bash
// with the built idcsctl on PATH; its exit code and output are checked.

// docSnippet is one fenced shell block of a page.
type docSnippet struct {
	page    string // README.md, docs/fetch.md
	line    int    // of the fence
	body    string
	markers []string // the text after "snippet:" of each marker line
}

var (
	fenceRE  = regexp.MustCompile("^```(sh|bash|shell)\\s*$")
	markerRE = regexp.MustCompile(`^<!-- snippet: (.*) -->$`)
	domainRE = regexp.MustCompile(`https://idcs-[0-9a-z<>]+\.identity\.oraclecloud\.com`)
	optionRE = regexp.MustCompile(`([a-z][a-z-]*)(?:=("(?:[^"\\]|\\.)*"|\S+))?`)
)

// docSnippets reads the shell snippets of the README and docs/*.md.
func docSnippets(t *testing.T) []docSnippet {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{filepath.Join("..", "..", "README.md")}, pages...)
	var out []docSnippet
	for _, path := range pages {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		page := filepath.ToSlash(strings.TrimPrefix(path, filepath.Join("..", "..")+string(filepath.Separator)))
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			if !fenceRE.MatchString(lines[i]) {
				continue
			}
			s := docSnippet{page: page, line: i + 1}
			for j := i - 1; j >= 0; j-- {
				m := markerRE.FindStringSubmatch(lines[j])
				if m == nil {
					break
				}
				s.markers = append([]string{m[1]}, s.markers...)
			}
			var body []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
				body = append(body, lines[i])
			}
			s.body = strings.Join(body, "\n") + "\n"
			out = append(out, s)
		}
	}
	return out
}

// forEmulator points a snippet's placeholders at the emulator of a script.
func forEmulator(body string) string {
	body = domainRE.ReplaceAllString(body, "$${EMULATOR}")
	return strings.ReplaceAll(body, "<client id>", "$CLIENT_ID")
}

// snippetRun is one run of a snippet, from its marker's options.
type snippetRun struct {
	signedIn       bool
	profiles       []string
	exit           int
	stdout, stderr string
}

func parseSnippetRun(opts string) (snippetRun, error) {
	r := snippetRun{}
	for _, m := range optionRE.FindAllStringSubmatch(opts, -1) {
		val := m[2]
		if strings.HasPrefix(val, `"`) {
			u, err := strconv.Unquote(val)
			if err != nil {
				return r, fmt.Errorf("option %s: %w", m[1], err)
			}
			val = u
		}
		switch m[1] {
		case "signed-in":
			r.signedIn = true
		case "signed-out":
		case "profiles":
			r.profiles = strings.Split(val, ",")
		case "exit":
			n, err := strconv.Atoi(val)
			if err != nil {
				return r, fmt.Errorf("exit=%s: %w", val, err)
			}
			r.exit = n
		case "stdout":
			r.stdout = val
		case "stderr":
			r.stderr = val
		default:
			return r, fmt.Errorf("unknown option %q", m[1])
		}
	}
	return r, nil
}

// script is the testscript that runs the snippet in the run's state.
func (r snippetRun) script(body string) string {
	var b strings.Builder
	b.WriteString("env URL=$EMULATOR\nenv IDCSCTL_DOMAIN=$EMULATOR\nenv IDCSCTL_CLIENT_ID=$CLIENT_ID\n")
	if r.signedIn {
		b.WriteString("exec idcsctl login --port $PORT --timeout 20s\n")
	}
	for _, p := range r.profiles {
		fmt.Fprintf(&b, "exec idcsctl login -p %s --port $PORT --timeout 20s\n", p)
	}
	fmt.Fprintf(&b, "exits %d bash snippet.sh\n", r.exit)
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	if r.stdout != "" {
		fmt.Fprintf(&b, "stdout %s\n", quote(r.stdout))
	}
	if r.stderr != "" {
		fmt.Fprintf(&b, "stderr %s\n", quote(r.stderr))
	}
	b.WriteString("-- snippet.sh --\n")
	b.WriteString(forEmulator(body))
	return b.String()
}

// TestDocSnippetsAreMarked: every shell snippet of the README and docs/
// says whether it runs, and why not when it does not, so none is skipped
// by oversight; every one, run or not, is valid shell.
func TestDocSnippetsAreMarked(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	snippets := docSnippets(t)
	if len(snippets) < 10 {
		t.Fatalf("found %d snippets: the fence pattern is wrong", len(snippets))
	}
	runs := 0
	for _, s := range snippets {
		where := fmt.Sprintf("%s:%d", s.page, s.line)
		if len(s.markers) == 0 {
			t.Errorf("%s: a shell snippet without <!-- snippet: run ... --> or <!-- snippet: skip REASON --> on the line before", where)
		}
		for _, m := range s.markers {
			verb, rest, _ := strings.Cut(m, " ")
			switch verb {
			case "run":
				runs++
				if _, err := parseSnippetRun(rest); err != nil {
					t.Errorf("%s: %v", where, err)
				}
			case "skip":
				if len(strings.Fields(rest)) < 2 {
					t.Errorf("%s: skip without a reason", where)
				}
			default:
				t.Errorf("%s: snippet marker %q is neither run nor skip", where, m)
			}
		}
		cmd := exec.Command(bash, "-n")
		cmd.Stdin = strings.NewReader(forEmulator(s.body))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: not valid shell: %v\n%s", where, err, out)
		}
	}
	if runs == 0 {
		t.Error("no snippet runs")
	}
}

// TestDocSnippetsRun runs the README's and docs' runnable shell snippets
// against the emulator through the built binary, each in a script of its
// own.
func TestDocSnippetsRun(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	dir := t.TempDir()
	n := 0
	for _, s := range docSnippets(t) {
		for i, m := range s.markers {
			rest, ok := strings.CutPrefix(m, "run")
			if !ok {
				continue
			}
			r, err := parseSnippetRun(rest)
			if err != nil {
				t.Fatalf("%s:%d: %v", s.page, s.line, err)
			}
			name := fmt.Sprintf("%s_%d_%d.txtar", strings.NewReplacer("/", "_", ".md", "").Replace(s.page), s.line, i+1)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(r.script(s.body)), 0o600); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no snippet to run")
	}
	testscript.Run(t, scriptParams(t, dir, nil))
}
