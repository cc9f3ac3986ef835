package ocir

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetCredHelpers(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"empty file", "", "{\n\t\"credHelpers\": {\n\t\t\"iad.ocir.io\": \"idcsctl\"\n\t}\n}\n", true},
		{"empty object", "{}", `{"credHelpers":{"iad.ocir.io":"idcsctl"}}`, true},
		{
			"docker's own layout: appended after the last key, the rest byte for byte",
			"{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {}\n\t},\n\t\"currentContext\":   \"desktop-linux\"\n}\n",
			"{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {}\n\t},\n\t\"currentContext\":   \"desktop-linux\",\n\t\"credHelpers\": {\n\t\t\"iad.ocir.io\": \"idcsctl\"\n\t}\n}\n",
			true,
		},
		{
			"an existing credHelpers keeps its entries and order; two spaces",
			"{\n  \"credHelpers\": {\n    \"gcr.io\": \"gcloud\",\n    \"iad.ocir.io\": \"old\"\n  },\n  \"x\": [1, 2.50, 3e3]\n}",
			"{\n  \"credHelpers\": {\n    \"gcr.io\": \"gcloud\",\n    \"iad.ocir.io\": \"idcsctl\"\n  },\n  \"x\": [1, 2.50, 3e3]\n}",
			true,
		},
		{"compact stays compact", `{"auths":{},"credHelpers":{"gcr.io":"gcloud"}}`, `{"auths":{},"credHelpers":{"gcr.io":"gcloud","iad.ocir.io":"idcsctl"}}`, true},
		{"already set: untouched", `{"credHelpers": {"iad.ocir.io": "idcsctl"}, "z": 1}`, `{"credHelpers": {"iad.ocir.io": "idcsctl"}, "z": 1}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := SetCredHelpers([]byte(tc.in), []string{"iad.ocir.io"}, "idcsctl")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || changed != tc.changed {
				t.Fatalf("got (changed %v)\n%s\nwant (changed %v)\n%s", changed, got, tc.changed, tc.want)
			}
		})
	}
	for _, bad := range []string{"[]", "{", `{"credHelpers": []}`, `{"credHelpers": {}, "credHelpers": {}}`, `{} {}`, "not json"} {
		if _, _, err := SetCredHelpers([]byte(bad), []string{"iad.ocir.io"}, "idcsctl"); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestWriteCredHelpersKeepsModeAndRefusesUnsafeFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"auths":{}}`), 0o640); err != nil {
		t.Fatal(err)
	}
	if changed, err := WriteCredHelpers(path, []string{"fra.ocir.io"}, "idcsctl"); err != nil || !changed {
		t.Fatalf("%v %v", changed, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
	}
	var c struct{ CredHelpers map[string]string }
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &c); err != nil || c.CredHelpers["fra.ocir.io"] != "idcsctl" {
		t.Fatalf("%s: %v", data, err)
	}

	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCredHelpers(link, []string{"fra.ocir.io"}, "idcsctl"); !errors.Is(err, ErrUnsafeDockerConfig) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("a symlink: %v", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteCredHelpers(path, []string{"iad.ocir.io"}, "idcsctl"); !errors.Is(err, ErrUnsafeDockerConfig) || !strings.Contains(err.Error(), "chmod go-w") {
		t.Fatalf("a file others can write: %v", err)
	}

	fresh := filepath.Join(dir, "new", "config.json")
	if _, err := WriteCredHelpers(fresh, []string{"iad.ocir.io"}, "idcsctl"); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o600 {
		t.Fatalf("a new file has mode %v", fi.Mode().Perm())
	}
}
