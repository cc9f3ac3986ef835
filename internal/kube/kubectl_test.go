package kube

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKubectlVersion(t *testing.T) {
	tests := []struct {
		name, out string
		want      KubectlVersion
		wantAPI   string
		// wantWritesV1: idcsctl lets this kubectl write a v1 entry; a
		// v1beta1 one it lets every kubectl from 1.22 write.
		wantWritesV1 bool
	}{
		{name: "Debian's 1.20", out: `{"clientVersion":{"major":"1","minor":"20","gitVersion":"v1.20.2"}}`,
			want: KubectlVersion{1, 20, "v1.20.2"}, wantAPI: APIVersionV1beta1},
		{name: "1.21, the last before v1", out: `{"clientVersion":{"major":"1","minor":"21","gitVersion":"v1.21.14"}}`,
			want: KubectlVersion{1, 21, "v1.21.14"}, wantAPI: APIVersionV1beta1},
		{name: "1.22 reads v1 but cannot set interactiveMode", out: `{"clientVersion":{"major":"1","minor":"22","gitVersion":"v1.22.0"}}`,
			want: KubectlVersion{1, 22, "v1.22.0"}, wantAPI: APIVersionV1},
		{name: "1.29", out: `{"clientVersion":{"major":"1","minor":"29","gitVersion":"v1.29.9"}}`,
			want: KubectlVersion{1, 29, "v1.29.9"}, wantAPI: APIVersionV1},
		{name: "1.30 sets interactiveMode", out: `{"clientVersion":{"major":"1","minor":"30","gitVersion":"v1.30.1"}}`,
			want: KubectlVersion{1, 30, "v1.30.1"}, wantAPI: APIVersionV1, wantWritesV1: true},
		{name: "a vendor's build with a plus", out: `{"clientVersion":{"major":"1","minor":"32+","gitVersion":"v1.32.4-dispatcher"},"kustomizeVersion":"v5.5.0"}`,
			want: KubectlVersion{1, 32, "v1.32.4-dispatcher"}, wantAPI: APIVersionV1, wantWritesV1: true},
		{name: "a major 2", out: `{"clientVersion":{"major":"2","minor":"0"}}`,
			want: KubectlVersion{2, 0, ""}, wantAPI: APIVersionV1, wantWritesV1: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKubectlVersion([]byte(tt.out))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseKubectlVersion = %+v, want %+v", got, tt.want)
			}
			if api := got.ExecAPIVersion(); api != tt.wantAPI {
				t.Errorf("ExecAPIVersion = %s, want %s", api, tt.wantAPI)
			}
			for _, api := range []string{APIVersionV1, APIVersionV1beta1} {
				e := ExecFor(api, "idcsctl", nil)
				why := got.CannotWrite(e)
				want := tt.wantWritesV1 || (api == APIVersionV1beta1 && got.atLeast(1, 22))
				if (why == "") != want || (why != "" && !strings.Contains(why, got.String())) {
					t.Errorf("CannotWrite(%s entry) = %q, want it to write: %v", api, why, want)
				}
			}
		})
	}
}

func TestParseKubectlVersionRefusesWhatSaysNoVersion(t *testing.T) {
	for name, out := range map[string]string{
		"not JSON":           "Client Version: v1.20.2",
		"no clientVersion":   `{"serverVersion":{"major":"1","minor":"20"}}`,
		"an empty minor":     `{"clientVersion":{"major":"1","minor":""}}`,
		"a minor of letters": `{"clientVersion":{"major":"1","minor":"x"}}`,
		"nothing":            ``,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseKubectlVersion([]byte(out)); !errors.Is(err, ErrKubectlVersion) {
				t.Errorf("ParseKubectlVersion = %v, want ErrKubectlVersion", err)
			}
		})
	}
}

func TestParseAPIVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v1", APIVersionV1},
		{"v1beta1", APIVersionV1beta1},
		{"client.authentication.k8s.io/v1", APIVersionV1},
		{"client.authentication.k8s.io/v1beta1", APIVersionV1beta1},
		{"v1alpha1", ""},
		{"client.authentication.k8s.io/v2", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := ParseAPIVersion(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("ParseAPIVersion(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}
