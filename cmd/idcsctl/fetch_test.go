package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/emulator"
)

// startResourceServers gives each script two plain resource servers, as
// the hosts a profile may or may not allow: $RESOURCE ($RESOURCE_HOST) and
// $OTHER ($OTHER_HOST). Both serve resourceHandler.
func startResourceServers(e *testscript.Env) error {
	for _, name := range []string{"RESOURCE", "OTHER"} {
		srv := httptest.NewServer(resourceHandler())
		e.Defer(srv.Close)
		e.Setenv(name, srv.URL)
		e.Setenv(name+"_HOST", strings.TrimPrefix(srv.URL, "http://"))
	}
	return nil
}

// resourceHandler is a protected resource that tells the scripts what it
// received, without ever showing the token itself:
//
//	/echo                 JSON: method, authorization ("bearer" or "none"), content_type, accept, body, body_length, body_sha256
//	/blob?size=N          N bytes of blobBytes, application/octet-stream
//	/status/CODE          that status with a small JSON body
//	/redirect?to=URL      302 to URL (code=N for another status)
//	/loop                 a redirect to itself
//	/flaky?key=K&fail=N   503 with Retry-After: 0 for the first N requests of K, then {"attempts": n}
//	/unauthorized         401 with WWW-Authenticate: Bearer error="invalid_token"
//	/hang                 no answer until the client gives up
//	/json                 a compact JSON document
func resourceHandler() http.Handler {
	var mu sync.Mutex
	attempts := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		auth := "none"
		if v := r.Header.Get("Authorization"); strings.HasPrefix(v, "Bearer ey") {
			auth = "bearer"
		} else if v != "" {
			auth = "other"
		}
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		writeJSON(w, map[string]any{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "authorization": auth,
			"content_type": r.Header.Get("Content-Type"), "accept": r.Header.Get("Accept"),
			"user_agent": r.Header.Get("User-Agent"), "x_trace": r.Header.Values("X-Trace"),
			"body": string(body), "body_length": len(body), "body_sha256": hex.EncodeToString(sum[:]),
		})
	})
	mux.HandleFunc("/blob", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("size"))
		if err != nil || n < 0 {
			http.Error(w, "size must be a number", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = io.Copy(w, io.LimitReader(blobReader(), int64(n)))
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 200 || code > 599 {
			http.Error(w, "bad status", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"status":%d,"detail":"answered with status %d"}`, code, code)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusFound
		if c := r.URL.Query().Get("code"); c != "" {
			code, _ = strconv.Atoi(c)
		}
		http.Redirect(w, r, r.URL.Query().Get("to"), code)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		fail, _ := strconv.Atoi(r.URL.Query().Get("fail"))
		mu.Lock()
		attempts[r.URL.Query().Get("key")]++
		n := attempts[r.URL.Query().Get("key")]
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n <= fail {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"detail":"unavailable, attempt %d"}`, n)
			return
		}
		fmt.Fprintf(w, `{"attempts":%d}`, n)
	})
	mux.HandleFunc("/unauthorized", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="resource", error="invalid_token", error_description="this resource accepts no token"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_token"}`)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"name":"widget","tags":["a","b"],"count":12345678901234567890}`)
	})
	return mux
}

// blobReader is an endless stream of bytes that do not repeat in any
// short cycle and cover every byte value, so a body changed, cut or
// re-encoded anywhere shows in a comparison.
func blobReader() io.Reader {
	return rand.NewChaCha8([32]byte{'i', 'd', 'c', 's', 'c', 't', 'l'})
}

// cmdBlob writes the first SIZE bytes of the resource server's /blob to
// FILE, for comparing what fetch wrote:
//
//	blob SIZE FILE
func cmdBlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: blob SIZE FILE")
	}
	n, err := strconv.ParseInt(args[0], 10, 64)
	ts.Check(err)
	f, err := os.Create(ts.MkAbs(args[1]))
	ts.Check(err)
	_, err = io.Copy(f, io.LimitReader(blobReader(), n))
	ts.Check(err)
	ts.Check(f.Close())
}

// cmdRevokeAccess revokes at the emulator the access token that the last
// command printed (`exec idcsctl token`), as an administrator or a
// session timeout would, leaving the refresh token valid:
//
//	revoke-access
func cmdRevokeAccess(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: revoke-access (after exec idcsctl token)")
	}
	srv := ts.Value("emulator").(*emulator.Server)
	tok := strings.TrimSpace(ts.ReadFile("stdout"))
	resp, err := http.PostForm(srv.URL+"/oauth2/v1/revoke", url.Values{
		"token": {tok}, "token_type_hint": {"access_token"}, "client_id": {ts.Getenv("CLIENT_ID")},
	})
	ts.Check(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ts.Fatalf("revoke answered %d", resp.StatusCode)
	}
}
