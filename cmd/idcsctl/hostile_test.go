package main

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/rogpeppe/go-internal/testscript"
)

// hostileProvider stands in front of a script's emulator as a provider
// that is broken or hostile on purpose. It forwards everything to the
// emulator, rewrites the discovery document so every endpoint points back
// at itself, and, as its knobs say, answers some paths itself or changes
// what the emulator answered. Its URL is $HOSTILE in the scripts.
type hostileProvider struct {
	URL    string
	target *url.URL
	key    *rsa.PrivateKey

	mu         sync.Mutex
	trickle    map[string]bool // path: send the headers, then a byte now and then, never the end
	echo       map[string]bool // path: a 400 error whose description quotes the whole request
	hugeJWKS   int             // > 0: the JWKS answer is padded to this many bytes
	expiresIn  string          // raw JSON put as expires_in into token answers; "delete" drops it
	claims     map[string]any  // merged into every ID token, which is then signed again
	noUserinfo bool            // the discovery document names no userinfo endpoint
	upstClaims map[string]any  // merged into the UPST of token exchange answers (not signed again)
	upstSuffix string          // appended to that UPST
	seen       []string        // secrets sent by idcsctl or issued to it, to check none leaks
}

// startHostile serves a hostile provider in front of the emulator at target.
func startHostile(e *testscript.Env, target string, key *rsa.PrivateKey) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	h := &hostileProvider{target: u, key: key, trickle: map[string]bool{}, echo: map[string]bool{}}
	srv := httptest.NewServer(h)
	// Close ends the trickled answers still open, then the server.
	e.Defer(func() { srv.CloseClientConnections(); srv.Close() })
	h.URL = srv.URL
	e.Values["hostile"] = h
	e.Setenv("HOSTILE", srv.URL)
	return nil
}

func (h *hostileProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.record(r, body)
	h.mu.Lock()
	trickle, echo, huge := h.trickle[r.URL.Path], h.echo[r.URL.Path], h.hugeJWKS
	h.mu.Unlock()
	switch {
	case trickle:
		h.serveTrickle(w, r)
	case echo:
		// What a careless provider does: quote the request back, secrets
		// and all, in its error_description.
		// The decoded Basic credentials (client_id:client_secret) and the
		// secret parameters come first, so they stay within what a client
		// shows of a long description.
		var basic []byte
		if cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Basic "); ok {
			basic, _ = base64.StdEncoding.DecodeString(cred)
		}
		var params []string
		if form, err := url.ParseQuery(string(body)); err == nil {
			for _, k := range []string{"subject_token", "client_secret", "refresh_token"} {
				if v := form.Get(k); v != "" {
					params = append(params, k+"="+v)
				}
			}
		}
		desc := fmt.Sprintf("bad request %s %s authorization=%q basic=%q %s body=%s", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), basic, strings.Join(params, " "), body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		// Both OAuth's error_description and SCIM's detail.
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": desc, "detail": desc})
	case huge > 0 && strings.Contains(r.URL.Path, "SigningCert"):
		h.serveHugeJWKS(w, r, huge)
	default:
		h.proxy().ServeHTTP(w, r)
	}
}

// serveTrickle sends a 200 and the start of a JSON document at once, then
// one byte of white space every 100 ms until the client goes away: each
// read returns in time, so only an overall deadline ends it.
func (h *hostileProvider) serveTrickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "{")
	fl := w.(http.Flusher)
	fl.Flush()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	stop := time.After(2 * time.Minute) // bound the server side too
	for {
		select {
		case <-r.Context().Done():
			return
		case <-stop:
			return
		case <-t.C:
			if _, err := io.WriteString(w, " "); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

// serveHugeJWKS answers the emulator's real key set padded with white space
// to size bytes: valid JSON that a client reading it whole holds in memory.
func (h *hostileProvider) serveHugeJWKS(w http.ResponseWriter, r *http.Request, size int) {
	rec := httptest.NewRecorder()
	h.proxy().ServeHTTP(rec, r)
	keys := rec.Body.Bytes()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	pad := bytes.Repeat([]byte(" "), 64<<10)
	for n := 0; n < size-len(keys); n += len(pad) {
		if _, err := w.Write(pad); err != nil {
			return
		}
	}
	_, _ = w.Write(keys)
}

func (h *hostileProvider) proxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(h.target)
			pr.Out.Host = h.target.Host
			pr.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: h.modify,
	}
}

// modify changes what the emulator answered, as the knobs say.
func (h *hostileProvider) modify(resp *http.Response) error {
	path := resp.Request.URL.Path
	isDiscovery := strings.HasSuffix(path, "/openid-configuration")
	isToken := strings.HasSuffix(path, "/oauth2/v1/token")
	if !isDiscovery && !isToken {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) == nil && resp.StatusCode == http.StatusOK {
		h.mu.Lock()
		if isDiscovery {
			body = h.rewriteDiscovery(body)
		} else {
			body = h.rewriteToken(doc, body)
		}
		h.mu.Unlock()
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
	return nil
}

func (h *hostileProvider) rewriteDiscovery(body []byte) []byte {
	body = bytes.ReplaceAll(body, []byte(h.target.String()), []byte(h.URL))
	if !h.noUserinfo {
		return body
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	delete(doc, "userinfo_endpoint")
	out, _ := json.Marshal(doc)
	return out
}

func (h *hostileProvider) rewriteToken(doc map[string]json.RawMessage, body []byte) []byte {
	for _, k := range []string{"access_token", "refresh_token", "id_token", "token"} {
		var s string
		if json.Unmarshal(doc[k], &s) == nil && s != "" {
			h.seen = append(h.seen, s)
		}
	}
	changed := false
	switch h.expiresIn {
	case "":
	case "delete":
		delete(doc, "expires_in")
		changed = true
	default:
		doc["expires_in"] = json.RawMessage(h.expiresIn)
		changed = true
	}
	var idt string
	if h.claims != nil && json.Unmarshal(doc["id_token"], &idt) == nil && idt != "" {
		resigned, err := h.resign(idt)
		if err == nil {
			doc["id_token"], _ = json.Marshal(resigned)
			changed = true
		}
	}
	var upst string
	if (h.upstClaims != nil || h.upstSuffix != "") && json.Unmarshal(doc["token"], &upst) == nil && upst != "" {
		doc["token"], _ = json.Marshal(h.rewriteUPST(upst) + h.upstSuffix)
		changed = true
	}
	if !changed {
		return body
	}
	out, _ := json.Marshal(doc)
	return out
}

// rewriteUPST merges the upst knob's claims into a UPST's payload; a claim
// given as a duration string ("-1m", "24h") is that long from now. Only OCI
// checks a UPST's signature, so the old one stays.
func (h *hostileProvider) rewriteUPST(upst string) string {
	parts := strings.Split(upst, ".")
	if len(parts) != 3 || h.upstClaims == nil {
		return upst
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(raw, &claims) != nil {
		return upst
	}
	for k, v := range h.upstClaims {
		if d, ok := v.(string); ok && (k == "exp" || k == "iat") {
			if dur, err := time.ParseDuration(d); err == nil {
				v = time.Now().Add(dur).Unix()
			}
		}
		claims[k] = v
	}
	payload, _ := json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// resign merges the claims knob into an ID token and signs it again with
// the emulator's own key and key id, so the signature check still passes
// and only the claims differ.
func (h *hostileProvider) resign(raw string) (string, error) {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", err
	}
	var claims map[string]any
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return "", err
	}
	for k, v := range h.claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", jws.Signatures[0].Header.KeyID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: h.key}, opts)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// record keeps every secret idcsctl sends, so no-leak can look for them.
func (h *hostileProvider) record(r *http.Request, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, pass, ok := r.BasicAuth(); ok && pass != "" {
		h.seen = append(h.seen, pass, url.QueryEscape(pass))
		// Basic carries the secret form-encoded (RFC 6749 2.3.1): its
		// plain form, and the credentials as sent, are secrets too.
		if plain, err := url.QueryUnescape(pass); err == nil {
			h.seen = append(h.seen, plain)
		}
		cred := strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
		h.seen = append(h.seen, cred, strings.TrimRight(cred, "="))
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		h.seen = append(h.seen, tok)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return
	}
	for _, k := range []string{"code", "code_verifier", "refresh_token", "client_secret", "device_code", "token", "subject_token"} {
		if v := form.Get(k); v != "" {
			h.seen = append(h.seen, v, url.QueryEscape(v))
		}
	}
}

// cmdHostile turns the hostile provider's knobs:
//
//	hostile trickle PATH       the answers of PATH never finish
//	hostile echo PATH          PATH answers 400 quoting the request
//	hostile huge-jwks BYTES    the key set is padded to BYTES
//	hostile expires-in JSON    token answers carry this expires_in ("delete": none)
//	hostile claims JSON        ID tokens get these claims (null removes one)
//	hostile no-userinfo        discovery names no userinfo endpoint
//	hostile upst JSON [SUFFIX] exchanged UPSTs get these claims ("exp": "-1m" is
//	                           a minute ago) and SUFFIX after them
//	hostile reset              every knob off
//	hostile no-leak            the last command's stdout and stderr hold no secret seen so far
func cmdHostile(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value("hostile").(*hostileProvider)
	if len(args) == 0 {
		ts.Fatalf("usage: hostile trickle|echo|huge-jwks|expires-in|claims|no-userinfo|upst|reset|no-leak ...")
	}
	need := func(n int) {
		if len(args) != n+1 {
			ts.Fatalf("hostile %s takes %d argument(s)", args[0], n)
		}
	}
	if args[0] == "no-leak" {
		need(0)
		h.mu.Lock()
		seen := slices.Clone(h.seen)
		h.mu.Unlock()
		if len(seen) == 0 {
			ts.Fatalf("no secret recorded yet: the check would prove nothing")
		}
		for _, name := range []string{"stdout", "stderr"} {
			out := ts.ReadFile(name)
			for _, s := range seen {
				if len(s) >= 8 && strings.Contains(out, s) {
					ts.Fatalf("%s holds a secret the provider saw (%d bytes, starting %.4q)", name, len(s), s)
				}
			}
		}
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch args[0] {
	case "trickle":
		need(1)
		h.trickle[args[1]] = !neg
	case "echo":
		need(1)
		h.echo[args[1]] = !neg
	case "huge-jwks":
		need(1)
		var n int
		_, err := fmt.Sscan(args[1], &n)
		ts.Check(err)
		h.hugeJWKS = n
	case "expires-in":
		need(1)
		h.expiresIn = args[1]
	case "claims":
		need(1)
		var c map[string]any
		if err := json.Unmarshal([]byte(args[1]), &c); err != nil {
			ts.Fatalf("hostile claims: %v", err)
		}
		h.claims = c
	case "no-userinfo":
		need(0)
		h.noUserinfo = !neg
	case "upst":
		if len(args) != 2 && len(args) != 3 {
			ts.Fatalf("usage: hostile upst JSON [SUFFIX]")
		}
		var c map[string]any
		if err := json.Unmarshal([]byte(args[1]), &c); err != nil {
			ts.Fatalf("hostile upst: %v", err)
		}
		h.upstClaims, h.upstSuffix = c, ""
		if len(args) == 3 {
			h.upstSuffix = args[2]
		}
	case "reset":
		need(0)
		h.trickle, h.echo = map[string]bool{}, map[string]bool{}
		h.hugeJWKS, h.expiresIn, h.claims, h.noUserinfo = 0, "", nil, false
		h.upstClaims, h.upstSuffix = nil, ""
	default:
		ts.Fatalf("unknown hostile command %q", args[0])
	}
}

// cmdAwaitFile waits, up to 20 seconds, until a file holds text: a
// background process has reached a state the script must not race.
//
//	await-file PATH TEXT
func cmdAwaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: await-file PATH TEXT")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), args[1]) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s did not come to hold %q within 20s", args[0], args[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
