package config

import "testing"

func TestProfileChoiceSaysWhereTheNameCameFrom(t *testing.T) {
	tests := []struct {
		name               string
		fileDefault, env   string
		flag               string
		wantName, wantFrom string
		wantDefault        string
	}{
		{name: "nothing set", wantName: "default", wantFrom: FromBuiltIn, wantDefault: "default"},
		{name: "default_profile", fileDefault: "work", wantName: "work", wantFrom: FromFile, wantDefault: "work"},
		{name: "the environment wins over the file", fileDefault: "work", env: "emu", wantName: "emu", wantFrom: FromEnv, wantDefault: "work"},
		{name: "the flag wins over both", fileDefault: "work", env: "emu", flag: "lab", wantName: "lab", wantFrom: FromFlag, wantDefault: "work"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &File{DefaultProfile: tt.fileDefault}
			getenv := func(k string) string {
				if k == EnvProfile {
					return tt.env
				}
				return ""
			}
			name, from, err := f.ProfileChoice(getenv, tt.flag)
			if err != nil || name != tt.wantName || from != tt.wantFrom {
				t.Errorf("ProfileChoice = %q, %q, %v; want %q, %q", name, from, err, tt.wantName, tt.wantFrom)
			}
			if got := f.Default(); got != tt.wantDefault {
				t.Errorf("Default = %q, want %q", got, tt.wantDefault)
			}
		})
	}
	if _, _, err := (&File{}).ProfileChoice(func(string) string { return "../x" }, ""); err == nil {
		t.Error("ProfileChoice accepted a bad name from the environment")
	}
}
