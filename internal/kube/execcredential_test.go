package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseExecInfo(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    ExecInfo
		wantErr string // a part of the message; "" for success
	}{
		{name: "absent means v1beta1, not interactive", raw: "", want: ExecInfo{APIVersion: APIVersionV1beta1}},
		{name: "v1 interactive", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`,
			want: ExecInfo{APIVersion: APIVersionV1, Interactive: true}},
		{name: "v1 not interactive", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
			want: ExecInfo{APIVersion: APIVersionV1}},
		{name: "v1beta1 without interactive", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}`,
			want: ExecInfo{APIVersion: APIVersionV1beta1}},
		{name: "cluster info is accepted", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,"cluster":{"server":"https://k8s.example.com","certificate-authority-data":"Zm9v","config":null}}}`,
			want: ExecInfo{APIVersion: APIVersionV1}},
		{name: "surrounding whitespace", raw: " \n{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false}}\n",
			want: ExecInfo{APIVersion: APIVersionV1}},

		{name: "not JSON", raw: `kind: ExecCredential`, wantErr: "invalid character"},
		{name: "truncated", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":`, wantErr: "unexpected EOF"},
		{name: "unknown apiVersion", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{"interactive":false}}`, wantErr: `apiVersion "client.authentication.k8s.io/v1alpha1" is not one idcsctl speaks`},
		{name: "no apiVersion", raw: `{"kind":"ExecCredential","spec":{"interactive":false}}`, wantErr: `apiVersion ""`},
		{name: "wrong kind", raw: `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`, wantErr: `kind is "Pod"`},
		{name: "no spec", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"}`, wantErr: "no spec"},
		{name: "v1 without interactive", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{}}`, wantErr: "spec.interactive is required"},
		{name: "interactive not a bool", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"yes"}}`, wantErr: "cannot unmarshal string"},
		{name: "unknown field", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false},"status":{"token":"x"}}`, wantErr: `unknown field "status"`},
		{name: "unknown spec field", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,"prompt":true}}`, wantErr: `unknown field "prompt"`},
		{name: "cluster not an object", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false,"cluster":"x"}}`, wantErr: "spec.cluster is not an object"},
		{name: "two documents", raw: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}{}`, wantErr: "more after the JSON object"},
		{name: "an array", raw: `[]`, wantErr: "cannot unmarshal array"},
		{name: "too large", raw: `{"kind":"` + strings.Repeat("x", maxExecInfo) + `"}`, wantErr: "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseExecInfo(tt.raw)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrExecInfo) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseExecInfo error = %v, want ErrExecInfo with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseExecInfo: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseExecInfo = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWriteAnswersInTheRequestsVersion(t *testing.T) {
	exp := time.Date(2026, 12, 1, 23, 30, 15, 500, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		info ExecInfo
		c    Credential
		want string
	}{
		{name: "v1 with expiry in UTC", info: ExecInfo{APIVersion: APIVersionV1}, c: Credential{Token: "tok", Expiry: exp},
			want: `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{},"status":{"expirationTimestamp":"2026-12-01T22:30:15Z","token":"tok"}}`},
		{name: "v1beta1", info: ExecInfo{APIVersion: APIVersionV1beta1}, c: Credential{Token: "tok", Expiry: exp},
			want: `{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{},"status":{"expirationTimestamp":"2026-12-01T22:30:15Z","token":"tok"}}`},
		{name: "no expiry", info: ExecInfo{}, c: Credential{Token: "tok"},
			want: `{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{},"status":{"token":"tok"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tt.info, tt.c); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(b.String(), "\n"); got != tt.want {
				t.Errorf("Write = %s\nwant    %s", got, tt.want)
			}
			if !json.Valid(b.Bytes()) || strings.Count(b.String(), "\n") != 1 {
				t.Errorf("Write did not write one JSON document on one line: %q", b.String())
			}
		})
	}
	if err := Write(&bytes.Buffer{}, ExecInfo{APIVersion: APIVersionV1}, Credential{}); err == nil {
		t.Error("Write with no token succeeded")
	}
}

// FuzzParseExecInfo: whatever the environment holds, ParseExecInfo returns
// a known version or an ErrExecInfo, never panics.
func FuzzParseExecInfo(f *testing.F) {
	f.Add(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`)
	f.Add(`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{}}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		info, err := ParseExecInfo(raw)
		if err != nil {
			if !errors.Is(err, ErrExecInfo) {
				t.Fatalf("error %v does not wrap ErrExecInfo", err)
			}
			return
		}
		if info.APIVersion != APIVersionV1 && info.APIVersion != APIVersionV1beta1 {
			t.Fatalf("accepted apiVersion %q", info.APIVersion)
		}
	})
}
