package ocir

import (
	"testing"

	"github.com/oracle/oci-go-sdk/v65/common"
)

// The region key table is the OCI Go SDK's, for the commercial realm.
func TestRegionKeysAreTheSDKs(t *testing.T) {
	for _, k := range regionKeys {
		r := common.StringToRegion(k.key)
		if string(r) != k.region {
			t.Errorf("key %s: table says %s, the SDK %s", k.key, k.region, r)
		}
		if realm, err := r.RealmID(); err != nil || realm != "oc1" {
			t.Errorf("key %s: realm %q (%v), want oc1", k.key, realm, err)
		}
	}
	if len(regionKeys) < 40 {
		t.Fatalf("only %d region keys", len(regionKeys))
	}
}

func TestRegion(t *testing.T) {
	configured := map[string]string{"127.0.0.1:5000": "us-phoenix-1", "Registry.Example.com": "eu-frankfurt-1"}
	tests := []struct {
		host, want string
	}{
		{"iad.ocir.io", "us-ashburn-1"},
		{"IAD.OCIR.IO", "us-ashburn-1"},
		{"https://fra.ocir.io/v2/", "eu-frankfurt-1"},
		{"fra.ocir.io:443", "eu-frankfurt-1"},
		{"us-ashburn-1.ocir.io", "us-ashburn-1"},
		{"ocir.ap-tokyo-1.oci.oraclecloud.com", "ap-tokyo-1"},
		{"127.0.0.1:5000", "us-phoenix-1"},
		{"http://127.0.0.1:5000", "us-phoenix-1"},
		{"registry.example.com", "eu-frankfurt-1"},
		{"127.0.0.1:5001", ""},
		{"xyz.ocir.io", ""},
		{"us-nowhere-9.ocir.io", ""},
		{"ocir.io", ""},
		{"evil.com/iad.ocir.io", ""},
		{"iad.ocir.io.evil.com", ""},
		{"user:pw@iad.ocir.io", ""},
		{"registry-1.docker.io", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got, ok := Region(tc.host, configured)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Region(%q) = %q, %v; want %q", tc.host, got, ok, tc.want)
		}
	}
}

func TestTokenURLIsPlainHTTPOnlyOnLoopback(t *testing.T) {
	for host, want := range map[string]string{
		"iad.ocir.io":      "https://iad.ocir.io/20180419/docker/token",
		"127.0.0.1:5000":   "http://127.0.0.1:5000/20180419/docker/token",
		"localhost:5000":   "http://localhost:5000/20180419/docker/token",
		"[::1]:5000":       "http://[::1]:5000/20180419/docker/token",
		"10.0.0.1:5000":    "https://10.0.0.1:5000/20180419/docker/token",
		"localhost.evil:1": "https://localhost.evil:1/20180419/docker/token",
	} {
		if got := TokenURL(host); got != want {
			t.Errorf("TokenURL(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestHostOfAndCheckHost(t *testing.T) {
	if got := HostOf("eu-frankfurt-1"); got != "fra.ocir.io" {
		t.Errorf("HostOf(eu-frankfurt-1) = %q", got)
	}
	if got := HostOf("mars-base-1"); got != "" {
		t.Errorf("HostOf(mars-base-1) = %q", got)
	}
	for host, ok := range map[string]bool{"iad.ocir.io": true, "127.0.0.1:5000": true, "IAD.ocir.io": true, "https://iad.ocir.io": false, "iad.ocir.io/x": false, "": false} {
		if _, err := CheckHost(host); (err == nil) != ok {
			t.Errorf("CheckHost(%q) = %v", host, err)
		}
	}
}
