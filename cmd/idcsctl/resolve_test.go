package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/store"
)

// appWith is an app over buffers whose config file holds cfg (none when
// cfg is ""), with env as its environment.
func appWith(t *testing.T, cfg string, env map[string]string) (*app, *bytes.Buffer, *bytes.Buffer, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	if cfg != "" {
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	d := &deps{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Now: time.Now}
	return &app{deps: d, global: &globalOptions{configPath: path, output: "text"}}, &stdout, &stderr, dir
}

const workConfig = "default_profile = \"work\"\n[profiles.work]\ndomain = \"https://idcs-x.identity.oraclecloud.com\"\nclient_id = \"c\"\n"

func TestResolveIsOneRuleForAnUnknownProfile(t *testing.T) {
	tests := []struct {
		name      string
		cfg       string
		profile   string
		env       map[string]string
		domain    string // --domain
		tokensFor string // a profile with tokens only
		wantCode  int
		wantText  string
	}{
		{name: "profile of the file", cfg: workConfig, profile: "work", wantCode: exitOK},
		{name: "default_profile", cfg: workConfig, wantCode: exitOK},
		{name: "typo", cfg: workConfig, profile: "wrok", wantCode: exitUsage, wantText: `profile "wrok" does not exist (did you mean "work"?); the profiles are work`},
		{name: "typo through the environment", cfg: workConfig, env: map[string]string{config.EnvProfile: "wrok"}, wantCode: exitUsage, wantText: `did you mean "work"`},
		{name: "no profile at all", profile: "nosuch", wantCode: exitUsage, wantText: `nor does any other yet; to create it, sign in with`},
		{name: "--domain creates", cfg: workConfig, profile: "new", domain: "https://idcs-y.identity.oraclecloud.com", wantCode: exitOK},
		{name: "IDCSCTL_DOMAIN defines", cfg: workConfig, profile: "new", env: map[string]string{config.EnvDomain: "https://idcs-y.identity.oraclecloud.com"}, wantCode: exitOK},
		{name: "tokens alone", cfg: workConfig, profile: "old", tokensFor: "old", wantCode: exitOK},
		{name: "default is a newcomer's profile", wantCode: exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, _, dir := appWith(t, tt.cfg, tt.env)
			a.global.profile = tt.profile
			if tt.tokensFor != "" {
				if err := store.NewFile(dir).Save(context.Background(), tt.tokensFor, &store.Token{AccessToken: "at"}); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := a.resolve(config.Overrides{Domain: tt.domain})
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d", got, err, tt.wantCode)
			}
			if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
		})
	}
}

func TestUnknownProfileErrorOffersASignInOnlyWhenAsked(t *testing.T) {
	tests := []struct {
		names  []string
		create bool
		want   string
	}{
		{names: []string{"work"}, create: true, want: "profile \"wrok\" does not exist (did you mean \"work\"?); the profiles are work (`idcsctl profile list`); to create it, sign in with `idcsctl login -p wrok --domain https://idcs-<id>.identity.oraclecloud.com --client-id ID`"},
		{names: []string{"work"}, create: false, want: "profile \"wrok\" does not exist (did you mean \"work\"?); the profiles are work (`idcsctl profile list`)"},
		{names: nil, create: false, want: "profile \"wrok\" does not exist, nor does any other yet"},
		{names: []string{"alpha", "beta"}, create: false, want: "profile \"wrok\" does not exist; the profiles are alpha, beta (`idcsctl profile list`)"},
	}
	for _, tt := range tests {
		err := unknownProfileError("wrok", tt.names, tt.create)
		if err.Error() != tt.want {
			t.Errorf("unknownProfileError(%v, %v) = %q, want %q", tt.names, tt.create, err, tt.want)
		}
		if exitCode(err) != exitUsage {
			t.Errorf("exit code %d, want %d", exitCode(err), exitUsage)
		}
	}
}

func TestStatusHasNoPhantomRow(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		env  map[string]string
		want []string
	}{
		{name: "no profile", cfg: "", want: nil},
		{name: "every profile removed", cfg: "[profiles]\n", want: nil},
		{name: "profiles of the file", cfg: workConfig, want: []string{"work"}},
		{name: "a profile the environment defines", cfg: workConfig, env: map[string]string{config.EnvProfile: "ci", config.EnvDomain: "https://idcs-y.identity.oraclecloud.com"}, want: []string{"work", "ci"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, _, _ := appWith(t, tt.cfg, tt.env)
			a.global.output = "json"
			if err := runStatus(context.Background(), a, &statusOptions{tokenStore: "file"}); err != nil {
				t.Fatal(err)
			}
			var out struct {
				Profiles []profileStatus `json:"profiles"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range out.Profiles {
				got = append(got, p.Name)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
		})
	}
}
