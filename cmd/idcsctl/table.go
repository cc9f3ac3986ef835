package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table is the one style of every list idcsctl prints (status, profile
// list, oci session --status, doctor): a header row in capitals, columns
// aligned by text/tabwriter with two spaces between them, and the header
// in bold only on a terminal that has not asked for no colour (NO_COLOR,
// TERM=dumb), so that pipes and files never get escape sequences.
type table struct {
	out   io.Writer
	buf   bytes.Buffer
	tw    *tabwriter.Writer
	color bool
}

// newTable starts a table with headers, written to w by flush.
func (a *app) newTable(w io.Writer, headers ...string) *table {
	t := &table{out: w, color: a.colorOn()}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 4, 2, ' ', 0)
	t.row(headers...)
	return t
}

// colorOn says whether stdout may carry colour: a terminal, and neither
// NO_COLOR (https://no-color.org) nor TERM=dumb.
func (a *app) colorOn() bool {
	getenv := a.deps.Getenv
	if getenv == nil {
		return false
	}
	return a.deps.StdoutIsTerminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
}

// row adds one row; cells must not hold tabs or newlines.
func (t *table) row(cells ...string) {
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// flush aligns the rows and writes the table.
func (t *table) flush() error {
	if err := t.tw.Flush(); err != nil {
		return err
	}
	b := t.buf.Bytes()
	if t.color {
		// Bold after alignment, so the escape sequences take no width.
		head, rest, _ := bytes.Cut(b, []byte("\n"))
		b = append([]byte("\x1b[1m"+strings.TrimRight(string(head), " ")+"\x1b[0m\n"), rest...)
	}
	_, err := t.out.Write(b)
	return err
}
