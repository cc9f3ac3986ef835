package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idcsctl/idcsctl/internal/testnet"
)

// The fuzz targets sign with fixed keys, so that the committed corpus keeps
// valid signatures from one run to the next; Ed25519 signatures are
// deterministic too, so a corpus entry is the same token every time.
const (
	fuzzClientID = "cli-fuzz"
	fuzzKeyID    = "fuzz-ed25519"
	fuzzNonce    = "n-0123456789abcdef"
)

// fuzzNow is the clock of every fuzz target.
var fuzzNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fuzzKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("idcsctl fuzz signing key; a test key, never a real one"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// fuzzClaims are a good ID token's claims for the fuzz client.
func fuzzClaims() map[string]any {
	return map[string]any{
		"iss":   idcsIssuer,
		"sub":   "user@example.com",
		"aud":   []string{fuzzClientID},
		"exp":   fuzzNow.Add(time.Hour).Unix(),
		"iat":   fuzzNow.Unix(),
		"nonce": fuzzNonce,
	}
}

// fuzzSign signs claims with the fuzz key under its key id.
func fuzzSign(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	return signWith(tb, jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: fuzzKey(), KeyID: fuzzKeyID}}, claims)
}

func signWith(tb testing.TB, key jose.SigningKey, claims map[string]any) string {
	tb.Helper()
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// keyServer serves a JWKS that a test can replace, and counts fetches.
type keyServer struct {
	url string       // where it serves
	hc  *http.Client // a client that reaches it

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetches int
	gate    chan struct{} // when set, a fetch is answered once it closes
}

// newKeyServer serves the keys on a loopback port.
func newKeyServer(tb testing.TB, keys ...jose.JSONWebKey) *keyServer {
	tb.Helper()
	ks := &keyServer{keys: keys}
	srv := httptest.NewServer(ks)
	tb.Cleanup(srv.Close)
	ks.url, ks.hc = srv.URL, srv.Client()
	return ks
}

// newPipeKeyServer serves the keys over testnet's in-memory network, for a
// test in a synctest bubble.
func newPipeKeyServer(tb testing.TB, keys ...jose.JSONWebKey) *keyServer {
	ks := &keyServer{keys: keys, url: "http://keys.example.test"}
	ks.hc = testnet.PipeClient(tb, ks)
	return ks
}

func (ks *keyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ks.mu.Lock()
	ks.fetches++
	gate := ks.gate
	ks.mu.Unlock()
	if gate != nil {
		<-gate
	}
	ks.mu.Lock()
	set := jose.JSONWebKeySet{Keys: slices.Clone(ks.keys)}
	ks.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

func (ks *keyServer) set(keys ...jose.JSONWebKey) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.keys = keys
}

func (ks *keyServer) count() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.fetches
}

// client is a client of a provider whose JWKS this server serves.
func (ks *keyServer) client() *Client {
	hc := *ks.hc
	hc.Timeout = 10 * time.Second
	return &Client{
		Metadata: &Metadata{
			Issuer:                idcsIssuer,
			AuthorizationEndpoint: ks.url + "/authorize",
			TokenEndpoint:         ks.url + "/token",
			JWKSURI:               ks.url + "/jwks",
		},
		ClientID: fuzzClientID,
		HTTP:     &hc,
		Now:      func() time.Time { return fuzzNow },
	}
}

func fuzzPublicJWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: fuzzKey().Public(), KeyID: fuzzKeyID, Algorithm: string(jose.EdDSA), Use: "sig"}
}

// hasControl reports a character that could move a terminal's cursor or
// change its colours if a message were printed.
func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// FuzzVerifyIDToken feeds raw ID tokens to the verifier. It must never
// panic, must fail only with a *VerifyError whose message neither quotes the
// token nor holds control characters, and must accept only a token whose
// checked claims are right: the declared issuer, this client, not expired,
// and the nonce when one is given.
func FuzzVerifyIDToken(f *testing.F) {
	good := fuzzClaims()
	tamper := func(k string, v any) map[string]any {
		c := fuzzClaims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	f.Add(fuzzSign(f, good), fuzzNonce)
	f.Add(fuzzSign(f, good), "")
	f.Add(fuzzSign(f, good), "another-nonce")
	f.Add(fuzzSign(f, tamper("aud", fuzzClientID)), "")
	f.Add(fuzzSign(f, tamper("aud", []string{"another-app"})), "")
	f.Add(fuzzSign(f, tamper("iss", "https://evil.example/")), "")
	f.Add(fuzzSign(f, tamper("exp", fuzzNow.Add(-time.Second).Unix())), "")
	f.Add(fuzzSign(f, tamper("iat", fuzzNow.Add(time.Hour).Unix())), "")
	f.Add(fuzzSign(f, tamper("nbf", fuzzNow.Add(time.Hour).Unix())), "")
	f.Add(fuzzSign(f, tamper("exp", "soon")), "")
	f.Add(fuzzSign(f, tamper("nonce", nil)), fuzzNonce)
	f.Add(fuzzSign(f, tamper("iss", "\x1b[31mred\x1b[0m")), "")
	payload, err := json.Marshal(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."+base64.RawURLEncoding.EncodeToString(payload)+".", "")
	hs := jose.SigningKey{Algorithm: jose.HS256, Key: []byte("a-client-secret-used-as-hmac-key!")}
	f.Add(signWith(f, hs, good), "")
	other := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	f.Add(signWith(f, jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: other, KeyID: fuzzKeyID}}, good), "")
	f.Add(signWith(f, jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: other, KeyID: "unknown"}}, good), "")
	f.Add("not.a.jwt", "")
	f.Add("", "")
	f.Add("eyJhbGciOiJub25lIn0.e30.", "")

	ks := newKeyServer(f, fuzzPublicJWK())
	c := ks.client() // shared, so the keys are fetched once per worker
	f.Fuzz(func(t *testing.T, raw, nonce string) {
		claims, err := c.VerifyIDToken(t.Context(), raw, nonce)
		if err != nil {
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %#v, want a *VerifyError", err)
			}
			msg := err.Error()
			if len(raw) >= 16 && strings.Contains(msg, raw) {
				t.Fatalf("the error quotes the token: %s", msg)
			}
			if hasControl(msg) {
				t.Fatalf("the error holds control characters: %q", msg)
			}
			return
		}
		switch {
		case claims.Issuer != idcsIssuer:
			t.Fatalf("accepted a token issued by %q", claims.Issuer)
		case !slices.Contains(claims.Audience, fuzzClientID):
			t.Fatalf("accepted a token issued to %q", claims.Audience)
		case !claims.Expiry.After(fuzzNow):
			t.Fatalf("accepted a token that expired at %s", claims.Expiry)
		case claims.IssuedAt.After(fuzzNow.Add(iatLeeway)):
			t.Fatalf("accepted a token issued at %s", claims.IssuedAt)
		case nonce != "" && claims.Nonce != nonce:
			t.Fatalf("accepted nonce %q, want %q", claims.Nonce, nonce)
		}
	})
}

// TestVerifyRefetchesRotatedKeysOnceThenFails proves how idcsctl meets a
// domain that rotates its signing keys, through go-oidc's RemoteKeySet: a
// token under a key id the cached set lacks makes exactly one new fetch of
// the JWKS; it passes when the new set has the key, and fails as a signature
// failure when it does not, without a second fetch.
//
// "Exactly one" holds for a verification that starts after the previous
// fetch has settled. RemoteKeySet fetches in a goroutine that hands its
// result to the waiting verification and only then, under its lock, clears
// the in-flight slot: a verification that starts in between shares the
// finished fetch instead of making its own (seen on a loaded machine as one
// fetch fewer than wanted). So the steps run in a synctest bubble over an
// in-memory network, and synctest.Wait lets each fetch's goroutine finish
// before the next step starts, as the seconds between two idcsctl commands
// do; what holds for verifications that overlap is
// TestVerifySharesAFetchButNeverFetchesTwice's.
func TestVerifyRefetchesRotatedKeysOnceThenFails(t *testing.T) {
	synctest.Test(t, testVerifyRefetchesRotatedKeysOnceThenFails)
}

func testVerifyRefetchesRotatedKeysOnceThenFails(t *testing.T) {
	newKey := func(kid string) (jose.SigningKey, jose.JSONWebKey) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: kid}},
			jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
	}
	oldSign, oldPub := newKey("old")
	newSign, newPub := newKey("new")
	strangerSign, _ := newKey("stranger")
	forgerSign, _ := newKey("new") // a key that claims the new key's id

	ks := newPipeKeyServer(t, oldPub)
	c := ks.client()
	steps := []struct {
		name        string
		rotate      []jose.JSONWebKey // the JWKS from this step on; nil = unchanged
		sign        jose.SigningKey
		wantReason  string // "" = passes
		wantFetches int    // JWKS fetches so far
	}{
		{"first token fetches the keys", nil, oldSign, "", 1},
		{"a known key needs no fetch", nil, oldSign, "", 1},
		{"the domain rotates: an unknown key id fetches once and passes", []jose.JSONWebKey{newPub}, newSign, "", 2},
		{"the new key is now cached", nil, newSign, "", 2},
		{"a token of the retired key fetches once, then fails", nil, oldSign, ReasonSignature, 3},
		{"a key the domain never had fetches once, then fails", nil, strangerSign, ReasonSignature, 4},
		{"a forged signature under a known key id fetches once, then fails", nil, forgerSign, ReasonSignature, 5},
	}
	for _, s := range steps {
		if s.rotate != nil {
			ks.set(s.rotate...)
		}
		_, err := c.VerifyIDToken(testCtx(t), signWith(t, s.sign, fuzzClaims()), "")
		synctest.Wait() // the fetch's goroutine has cleared its slot
		var ve *VerifyError
		switch {
		case s.wantReason == "" && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.wantReason != "" && (!errors.As(err, &ve) || ve.Reason != s.wantReason):
			t.Errorf("%s: err = %v, want reason %q", s.name, err, s.wantReason)
		}
		if got := ks.count(); got != s.wantFetches {
			t.Errorf("%s: %d JWKS fetches, want %d", s.name, got, s.wantFetches)
		}
	}
}

// TestVerifySharesAFetchButNeverFetchesTwice proves what go-oidc's
// RemoteKeySet guarantees for verifications that overlap: while a fetch of
// the JWKS is in flight, every verification that needs new keys waits for
// it and uses its answer, so four at once make one fetch, and they all see
// the keys the domain served (here rotated while the fetch was on its way).
func TestVerifySharesAFetchButNeverFetchesTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		newKey := func(kid string) (jose.SigningKey, jose.JSONWebKey) {
			k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: kid}},
				jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
		}
		_, oldPub := newKey("old")
		newSign, newPub := newKey("new")
		strangerSign, _ := newKey("stranger")
		for _, tc := range []struct {
			name       string
			sign       jose.SigningKey
			wantReason string
		}{
			{"a key the rotation publishes", newSign, ""},
			{"a key the domain never had", strangerSign, ReasonSignature},
		} {
			ks := newPipeKeyServer(t, oldPub)
			ks.gate = make(chan struct{})
			c := ks.client()
			raw := signWith(t, tc.sign, fuzzClaims())
			errs := make(chan error, 4)
			for range cap(errs) {
				go func() {
					_, err := c.VerifyIDToken(testCtx(t), raw, "")
					errs <- err
				}()
			}
			synctest.Wait() // all four wait: one on the key server, three on its fetch
			if got := ks.count(); got != 1 {
				t.Errorf("%s: %d fetches in flight for four verifications, want 1", tc.name, got)
			}
			ks.set(newPub)
			close(ks.gate)
			for range cap(errs) {
				err := <-errs
				var ve *VerifyError
				switch {
				case tc.wantReason == "" && err != nil:
					t.Errorf("%s: %v", tc.name, err)
				case tc.wantReason != "" && (!errors.As(err, &ve) || ve.Reason != tc.wantReason):
					t.Errorf("%s: err = %v, want reason %q", tc.name, err, tc.wantReason)
				}
			}
			synctest.Wait()
			if got := ks.count(); got != 1 {
				t.Errorf("%s: %d JWKS fetches for four overlapping verifications, want 1", tc.name, got)
			}
		}
	})
}
