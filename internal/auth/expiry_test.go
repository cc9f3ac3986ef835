package auth

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestParseExpiresIn(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int64
		ok   bool
	}{
		{`3600`, 3600, true},
		{`3600.0`, 3600, true},
		{`3600.9`, 3600, true},
		{`"3600"`, 3600, true},
		{`" 3600 "`, 3600, true},
		{`"3600.0"`, 3600, true},
		{`1e30`, maxExpiresIn, true},
		{`1e400`, maxExpiresIn, true},
		{`100000000000000000000`, maxExpiresIn, true},
		{`9223372037`, maxExpiresIn, true},
		{`0`, 0, true},
		{`-5`, 0, true},
		{`-1e400`, 0, true},
		{`"soon"`, 0, false},
		{`"NaN"`, 0, false},
		{`"Infinity"`, 0, false},
		{`true`, 0, false},
		{`null`, 0, false},
		{`{}`, 0, false},
	} {
		got, ok := parseExpiresIn(json.RawMessage(tc.raw))
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseExpiresIn(%s) = %d, %v; want %d, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNormalizeTokenJSONLetsXOAuth2ReadTheAnswer(t *testing.T) {
	for raw, want := range map[string]string{
		`{"access_token":"a","expires_in":3600.0}`: `{"access_token":"a","expires_in":3600}`,
		`{"access_token":"a","expires_in":"soon"}`: `{"access_token":"a"}`,
		`{"access_token":"a","expires_in":1e30}`:   `{"access_token":"a","expires_in":2147483647}`,
		`{"access_token":"a"}`:                     `{"access_token":"a"}`,
		`{"access_token":"a","expires_in":3600`:    `{"access_token":"a","expires_in":3600`,
		`[{"expires_in":1.5}]`:                     `[{"expires_in":1.5}]`,
		`{"access_token":"a","expires_in":-7}`:     `{"access_token":"a","expires_in":0}`,
		`{"access_token":"a","expires_in":"3600"}`: `{"access_token":"a","expires_in":3600}`,
	} {
		if got := string(normalizeTokenJSON([]byte(raw))); got != want {
			t.Errorf("normalizeTokenJSON(%s) = %s, want %s", raw, got, want)
		}
	}
}

func TestExpiryGivesEachKindOfExpiresInOneMeaning(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &Client{Now: func() time.Time { return now }}
	jwtExp := now.Add(20 * time.Minute).Truncate(time.Second)
	payload, _ := json.Marshal(map[string]any{"exp": jwtExp.Unix()})
	jwt := "e30." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
	tok := func(access string, extra map[string]any) *oauth2.Token {
		return (&oauth2.Token{AccessToken: access}).WithExtra(extra)
	}
	for name, tc := range map[string]struct {
		tok  *oauth2.Token
		want time.Time
	}{
		"seconds":                {tok("opaque", map[string]any{"expires_in": float64(90)}), now.Add(90 * time.Second)},
		"form value":             {tok("opaque", map[string]any{"expires_in": "90"}), now.Add(90 * time.Second)},
		"zero: expired now":      {tok(jwt, map[string]any{"expires_in": float64(0)}), now},
		"negative: expired now":  {tok(jwt, map[string]any{"expires_in": float64(-3)}), now},
		"missing, JWT: its exp":  {tok(jwt, map[string]any{}), jwtExp},
		"missing, opaque: 1h":    {tok("opaque", map[string]any{}), now.Add(time.Hour)},
		"unreadable: as missing": {tok("opaque", map[string]any{"expires_in": "soon"}), now.Add(time.Hour)},
		"huge: capped":           {tok("opaque", map[string]any{"expires_in": 1e30}), now.Add(maxExpiresIn * time.Second)},
	} {
		if got := c.expiry(tc.tok); !got.Equal(tc.want) {
			t.Errorf("%s: expiry %s, want %s", name, got, tc.want)
		}
	}
}
