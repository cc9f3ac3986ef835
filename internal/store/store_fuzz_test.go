package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

// tokenValues collects the values of token fields anywhere in a JSON
// document that are long enough to be told apart from the words of an error
// message: those a CorruptError must never quote.
func tokenValues(doc []byte) []string {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return nil
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && strings.HasSuffix(k, "_token") && len(s) >= 16 && !strings.ContainsFunc(s, unicode.IsSpace) {
					out = append(out, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			// A record nested as a string (the keyring manifest's record
			// is raw JSON, but a fuzzed one may be a string of JSON).
			out = append(out, tokenValues([]byte(x))...)
		}
	}
	walk(v)
	return out
}

// checkCorrupt fails unless err is a *CorruptError of the backend that
// quotes none of the secrets.
func checkCorrupt(t *testing.T, err error, backend string, secrets []string) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Backend != backend || ce.Profile != "p" {
		t.Fatalf("err = %#v, want a *CorruptError of the %s store for profile p", err, backend)
	}
	msg := err.Error()
	for _, s := range append(secrets, secretValues...) {
		if strings.Contains(msg, s) {
			t.Fatalf("the error quotes the entry's secret %q: %s", s, msg)
		}
	}
	if !strings.Contains(msg, "idcsctl logout -p p") {
		t.Fatalf("the error does not say how to clear the entry: %s", msg)
	}
}

// checkRoundTrip fails unless a decoded token survives being saved again.
func checkRoundTrip(t *testing.T, tok *Token) {
	t.Helper()
	if tok == nil {
		t.Fatal("Load returned neither a token nor an error")
	}
	b, err := encodeRecord(tok, time.Now())
	if err != nil {
		t.Fatalf("a token Load accepted cannot be saved again: %v", err)
	}
	again, _, err := decodeRecord(b)
	if err != nil {
		t.Fatalf("a token Load accepted does not read back: %v", err)
	}
	checkSame(t, again, tok)
}

// FuzzFileEntry loads fuzzed bytes as a private token file. Load must never
// panic; it must return a token that can be saved and read back, or a
// *CorruptError that says how to clear the entry and quotes none of its
// tokens (a corrupt entry is never deleted by the store itself).
func FuzzFileEntry(f *testing.F) {
	good, err := encodeRecord(smallToken(), time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(good),
		string(good[:len(good)/2]),
		"",
		"garbage",
		"null",
		"[]",
		`{"version":1}`,
		`{"version":2,"token":{"access_token":"` + secretAccess + `"}}`,
		`{"version":1,"token":{"access_token":"` + secretAccess + `","expiry":"` + secretRefresh + `"}}`,
		`{"version":1,"saved_at":"` + secretID + `","token":{"access_token":"x"}}`,
		`{"version":1,"token":{"access_token":7}}`,
		`{"version":1,"token":{"access_token":"` + secretAccess + `","expiry":"9999-12-31T23:59:59Z"}}`,
		`{"version":1,"token":{"access_token":"\ud800` + secretAccess + `"}}`,
		`{"version":1,"token":{"access_token":"` + secretAccess + "\xff\xfe" + `"}}`,
		`{"version":1.5,"token":{}}`,
		`{"version":1,"token":{}} trailing`,
	} {
		f.Add([]byte(s))
	}
	// One folder for every input of a worker: inputs run one at a time, and
	// each replaces the file.
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, tokensFolder), 0o700); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, tokensFolder, "p"+fileSuffix)
	st := NewFile(dir)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := st.Load(bg(), "p")
		if err != nil {
			checkCorrupt(t, err, "file", tokenValues(data))
			if _, serr := os.Stat(path); serr != nil {
				t.Fatalf("the corrupt entry was removed: %v", serr)
			}
			return
		}
		checkRoundTrip(t, tok)
	})
}

// FuzzKeyringEntry loads a fuzzed keyring entry: the manifest item and the
// first chunks of the generation it names. Load must never panic; it must
// return a token that can be saved and read back, or a *CorruptError that
// quotes none of the entry's tokens.
func FuzzKeyringEntry(f *testing.F) {
	// Real entries as Save writes them: one inline, one in three chunks.
	for _, tok := range []*Token{smallToken(), func() *Token {
		t := smallToken()
		t.AccessToken = secretAccess + "." + strings.Repeat("eyJhbGciOiJSUzI1NiJ9", 200)
		return t
	}()} {
		fake := newFakeKeyring(windowsLimit)
		k := newKeyring(Options{Keyring: fake})
		if err := k.Save(bg(), "p", tok); err != nil {
			f.Fatal(err)
		}
		var m manifest
		if err := json.Unmarshal([]byte(fake.item("p")), &m); err != nil {
			f.Fatal(err)
		}
		chunk := func(i int) string { return fake.item(chunkUser("p", m.Gen, i)) }
		f.Add(fake.item("p"), chunk(0), chunk(1), chunk(2))
		if m.Gen != "" {
			f.Add(fake.item("p"), chunk(0), "", chunk(2))
			f.Add(fake.item("p"), chunk(1), chunk(0), chunk(2))
			f.Add(fake.item("p"), chunk(0), chunk(1), chunk(2)+"x")
		}
	}
	for _, s := range []string{
		"", "garbage", "null", `{"format":"idcsctl-keyring/2"}`,
		`{"format":"idcsctl-keyring/1"}`,
		`{"format":"idcsctl-keyring/1","record":{"version":1,"token":{"access_token":"` + secretAccess + `","expiry":"x"}}}`,
		`{"format":"idcsctl-keyring/1","record":"` + secretRefresh + `"}`,
		`{"format":"idcsctl-keyring/1","gen":"abc","chunks":1,"size":5,"sha256":"` + strings.Repeat("0", 64) + `"}`,
		`{"format":"idcsctl-keyring/1","gen":"abc","chunks":100000000,"size":1}`,
		`{"format":"idcsctl-keyring/1","gen":"../x","chunks":1,"size":1}`,
	} {
		f.Add(s, "", "", "")
	}
	f.Fuzz(func(t *testing.T, manifestItem, chunk0, chunk1, chunk2 string) {
		fake := newFakeKeyring(0)
		fake.put("p", manifestItem)
		var m struct {
			Gen string `json:"gen"`
		}
		_ = json.Unmarshal([]byte(manifestItem), &m)
		for i, c := range []string{chunk0, chunk1, chunk2} {
			if c != "" {
				fake.put(chunkUser("p", m.Gen, i), c)
			}
		}
		k := newKeyring(Options{Keyring: fake, KeyringTimeout: 10 * time.Second})
		tok, err := k.Load(bg(), "p")
		if err != nil {
			secrets := tokenValues([]byte(manifestItem))
			secrets = append(secrets, tokenValues([]byte(chunk0+chunk1+chunk2))...)
			checkCorrupt(t, err, "keyring", secrets)
			if fake.item("p") != manifestItem {
				t.Fatal("the corrupt entry was changed")
			}
			return
		}
		checkRoundTrip(t, tok)
	})
}
