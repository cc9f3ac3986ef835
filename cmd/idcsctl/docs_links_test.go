package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// repoRoot is where the docs and the sources are, seen from this package.
const repoRoot = "../.."

// foreignFlags are flags the docs name for other programs (curl, Chromium),
// in code spans of their own, when comparing idcsctl with them.
var foreignFlags = []string{"--data-binary", "--json", "--user-data-dir", "-d", "-i", "-q"}

// text is a piece of prose or help a person reads, and where it comes from.
type text struct {
	where string
	body  string
	// code is true when the whole body is a command line or an example
	// (a help text's Example, a code span, a line of a code block), so
	// every "idcsctl ..." in it is a command to check.
	code bool
}

var (
	docsPathRE   = regexp.MustCompile(`\bdocs/[A-Za-z0-9_./-]*[A-Za-z0-9_/-]`)
	mdLinkRE     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	codeSpanRE   = regexp.MustCompile("`([^`\n]+)`")
	singleFlagRE = regexp.MustCompile(`^(--?[a-z][a-z0-9-]*)(?:[ =]\S+)?$`)
)

// TestDocsNameWhatExists proves that what idcsctl tells a person to read or
// run exists: every docs/... path and every relative link of the docs is a
// file of the repository, and every idcsctl command line and flag named by
// the help texts, the error messages (string literals of the sources) and
// the docs is one the command tree has.
func TestDocsNameWhatExists(t *testing.T) {
	root := newRootCmd(&deps{Getenv: func(string) string { return "" }})
	root.InitDefaultCompletionCmd()
	var texts []text
	texts = append(texts, helpTexts(root)...)
	texts = append(texts, docTexts(t)...)
	texts = append(texts, sourceTexts(t)...)
	if len(texts) < 100 {
		t.Fatalf("found only %d texts to check; the walk is broken", len(texts))
	}
	allFlags := flagNames(root)
	checked := 0
	for _, tx := range texts {
		for _, p := range docsPathRE.FindAllString(tx.body, -1) {
			checked++
			if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(p))); err != nil {
				t.Errorf("%s names %s, which does not exist: create it or point at an existing page", tx.where, p)
			}
		}
		var lines []string
		if tx.code {
			lines = strings.Split(tx.body, "\n")
		}
		for _, m := range codeSpanRE.FindAllStringSubmatch(tx.body, -1) {
			lines = append(lines, m[1])
			// A single dash before a word (-short, -run) is Go's or another
			// tool's flag: idcsctl's single-dash flags are one letter.
			if f := singleFlagRE.FindStringSubmatch(m[1]); f != nil && !slices.Contains(foreignFlags, f[1]) && (strings.HasPrefix(f[1], "--") || len(f[1]) == 2) {
				checked++
				if !allFlags[f[1]] {
					t.Errorf("%s names the flag %s, which no idcsctl command has", tx.where, f[1])
				}
			}
		}
		for _, line := range lines {
			for _, cl := range commandLines(line) {
				checked++
				if problem := checkCommandLine(root, cl); problem != "" {
					t.Errorf("%s: `idcsctl %s`: %s", tx.where, strings.Join(cl, " "), problem)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d names; the patterns are broken", checked)
	}
}

// commandLines finds the idcsctl command lines in one line of code: the
// words after each "idcsctl", up to the end of the shell command.
func commandLines(line string) [][]string {
	var out [][]string
	words := strings.Fields(line)
	for i, w := range words {
		bare := strings.TrimLeft(w, `("'$`)
		if bare != "idcsctl" || !startsCommand(words[:i], w != bare) {
			continue
		}
		var cl []string
		for _, arg := range words[i+1:] {
			if strings.HasPrefix(arg, "#") || arg == "|" || arg == "&&" || arg == "||" || arg == ">" || arg == "2>&1" {
				break
			}
			end := strings.IndexAny(arg, ");|&`\"'")
			if end >= 0 {
				arg = arg[:end]
			}
			if arg != "" {
				cl = append(cl, arg)
			}
			if end >= 0 {
				break
			}
		}
		out = append(out, cl)
	}
	return out
}

// startsCommand says whether a word "idcsctl" after before is the program
// run, not an argument of another (secret-tool ... service idcsctl): it
// starts the line, follows a shell operator or an exit code, or opens a
// command substitution.
func startsCommand(before []string, substitution bool) bool {
	if len(before) == 0 || substitution {
		return true
	}
	prev := before[len(before)-1]
	if _, err := strconv.Atoi(prev); err == nil {
		return true // exits N idcsctl ...
	}
	return slices.Contains([]string{"|", "&&", "||", ";", "$", "then", "do", "exec", "run"}, prev)
}

// checkCommandLine says what is wrong with an idcsctl command line: a
// command or flag the tree does not have. Placeholders (NAME, ..., <id>)
// and values are not judged, nor anything after "--", which ends
// idcsctl's flags (exec's COMMAND and its arguments).
func checkCommandLine(root *cobra.Command, args []string) string {
	cmd := root
	positional := false
	for i := 0; i < len(args); i++ {
		arg := strings.TrimRight(args[i], ".,:")
		switch {
		case arg == "..." || arg == "":
			continue
		case arg == "--":
			return "" // the rest is another program's (idcsctl exec -- COMMAND)
		case strings.HasPrefix(arg, "--") && len(arg) > 2:
			name, _, hasValue := strings.Cut(arg[2:], "=")
			f := lookupFlag(cmd, name)
			if f == nil {
				return "no flag --" + name + " on `" + cmd.CommandPath() + "`"
			}
			if !hasValue && f.NoOptDefVal == "" {
				i++
			}
		case strings.HasPrefix(arg, "-") && len(arg) == 2:
			f := cmd.Flags().ShorthandLookup(arg[1:])
			if f == nil {
				f = cmd.InheritedFlags().ShorthandLookup(arg[1:])
			}
			if f == nil {
				return "no flag " + arg + " on `" + cmd.CommandPath() + "`"
			}
			if f.NoOptDefVal == "" {
				i++
			}
		case !positional && cmd.HasSubCommands():
			sub := findSub(cmd, arg)
			if sub == nil {
				if isPlaceholder(arg) || cmd != root && cmd.Runnable() {
					positional = true
					continue
				}
				return "no command " + strconv.Quote(arg) + " under `" + cmd.CommandPath() + "`"
			}
			cmd = sub
		default:
			positional = true
		}
	}
	return ""
}

func isPlaceholder(s string) bool {
	return strings.ContainsAny(s, "<>[]{}$") || strings.ToUpper(s) == s
}

func findSub(cmd *cobra.Command, name string) *cobra.Command {
	if cmd == cmd.Root() && name == "help" {
		return cmd // cobra adds its help command at run time
	}
	for _, c := range cmd.Commands() {
		if c.Name() == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

func lookupFlag(cmd *cobra.Command, name string) *pflag.Flag {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f
	}
	if f := cmd.InheritedFlags().Lookup(name); f != nil {
		return f
	}
	if name == "help" || cmd == cmd.Root() && name == "version" {
		return &pflag.Flag{Name: name, NoOptDefVal: "true"}
	}
	return nil
}

// flagNames are the flags of every command, long and short, as written.
func flagNames(root *cobra.Command) map[string]bool {
	out := map[string]bool{"--help": true, "-h": true, "--version": true}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				out["--"+f.Name] = true
				if f.Shorthand != "" {
					out["-"+f.Shorthand] = true
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

// helpTexts are the Short, Long and Example of every command and the usage
// of every flag.
func helpTexts(root *cobra.Command) []text {
	var out []text
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		where := "`" + c.CommandPath() + " --help`"
		out = append(out,
			text{where: where, body: c.Short},
			text{where: where, body: c.Long},
			text{where: where + " example", body: c.Example, code: true})
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			out = append(out, text{where: where + " flag --" + f.Name, body: f.Usage})
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return out
}

// docTexts are README.md and docs/*.md (not the generated reference), with
// their relative links turned into docs/ paths to check.
func docTexts(t *testing.T) []text {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	files = append(files, filepath.Join(repoRoot, "README.md"))
	var out []text
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, file)
		rel = filepath.ToSlash(rel)
		body := string(data)
		out = append(out, text{where: rel, body: body})
		for _, m := range mdLinkRE.FindAllStringSubmatch(body, -1) {
			link, _, _ := strings.Cut(m[1], "#")
			if link == "" || strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target := filepath.ToSlash(filepath.Join(filepath.Dir(file), link))
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links to %s, which does not exist", rel, m[1])
			}
		}
		inBlock := false
		for i, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inBlock = !inBlock
				continue
			}
			if inBlock {
				out = append(out, text{where: rel + ":" + strconv.Itoa(i+1), body: line, code: true})
			}
		}
	}
	return out
}

// sourceTexts are the string literals of the program's sources (not its
// tests): the error messages and hints it prints.
func sourceTexts(t *testing.T) []text {
	t.Helper()
	var out []text
	for _, dir := range []string{filepath.Join(repoRoot, "cmd"), filepath.Join(repoRoot, "internal")} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING || !strings.HasPrefix(lit.Value, `"`) {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil {
					out = append(out, text{where: fset.Position(lit.Pos()).String(), body: s})
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
