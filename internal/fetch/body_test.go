package fetch

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readBody(t *testing.T, b *Body) (string, int64) {
	t.Helper()
	rc, n, err := b.open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(got), n
}

func TestParseDataReadsLiteralsFilesAndStdinAsTheyAre(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "body.json")
	if err := os.WriteFile(file, []byte("{\"a\": 1}\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, arg, stdin, want string
	}{
		{"literal", `{"displayName":"x"}`, "", `{"displayName":"x"}`},
		{"literal form data", "a=1&b=2", "", "a=1&b=2"},
		{"empty literal", "", "", ""},
		{"file keeps its newlines", "@" + file, "", "{\"a\": 1}\n\n"},
		{"stdin keeps its newlines", "@-", "line 1\nline 2\n", "line 1\nline 2\n"},
		{"empty stdin", "@-", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseData(tt.arg, strings.NewReader(tt.stdin))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // every send reads the whole body again
				got, n := readBody(t, b)
				if got != tt.want || n != int64(len(tt.want)) {
					t.Fatalf("body = %q (length %d), want %q", got, n, tt.want)
				}
			}
		})
	}
}

func TestParseDataStreamsAFileAndSeesItsChanges(t *testing.T) {
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := ParseData("@"+file, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("two!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, n := readBody(t, b); got != "two!" || n != 4 {
		t.Errorf("body = %q (%d), want the file as it is when sent", got, n)
	}
}

func TestParseDataRefusesWhatCannotBeRead(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, arg, wantMsg string
	}{
		{"bare at sign", "@", "names no file"},
		{"missing file", "@" + filepath.Join(dir, "nope"), "no such file"},
		{"folder", "@" + dir, "is a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseData(tt.arg, strings.NewReader(""))
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParseData(%q) = %v, want an error saying %q", tt.arg, err, tt.wantMsg)
			}
		})
	}
}

func TestCheckJSONAcceptsJSONAndNamesTheMistake(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(file, []byte(`{"a": 1,}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, arg string
		wantErr   string
	}{
		{"object", `{"a": [1, 2, {"b": null}]}`, ""},
		{"string", `"x"`, ""},
		{"several values", `{"a":1} {"a":2}`, ""},
		{"trailing comma", `{"a": 1,}`, "not valid JSON"},
		{"bad file", "@" + file, "not valid JSON"},
		{"unquoted", `{a: 1}`, "not valid JSON"},
		{"empty", ``, "empty"},
		{"spaces only", "  \n", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseData(tt.arg, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			err = b.CheckJSON()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckJSON = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckJSON = %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseHeaderSplitsNameAndValue(t *testing.T) {
	tests := []struct {
		in, name, value, wantErr string
	}{
		{in: "Accept: application/scim+json", name: "Accept", value: "application/scim+json"},
		{in: "x-request-id:abc", name: "X-Request-Id", value: "abc"},
		{in: "  X-Empty:  ", name: "X-Empty", value: ""},
		{in: "X-Colon: a:b:c", name: "X-Colon", value: "a:b:c"},
		{in: "NoColon", wantErr: "not \"Name: value\""},
		{in: ": value", wantErr: "not \"Name: value\""},
		{in: "Bad Name: x", wantErr: "may not"},
		{in: "X-Split: a\r\nInjected: yes", wantErr: "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			name, value, err := ParseHeader(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseHeader = %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || name != tt.name || value != tt.value {
				t.Errorf("ParseHeader = %q, %q, %v; want %q, %q", name, value, err, tt.name, tt.value)
			}
		})
	}
}

func TestCheckMethodAcceptsTokensOnly(t *testing.T) {
	for m, ok := range map[string]bool{"GET": true, "PATCH": true, "PROPFIND": true, "": false, "GE T": false, "GET\n": false} {
		if err := CheckMethod(m); (err == nil) != ok {
			t.Errorf("CheckMethod(%q) = %v, want ok=%v", m, err, ok)
		}
	}
}
