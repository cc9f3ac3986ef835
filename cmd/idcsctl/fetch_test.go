package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/emulator"
	"github.com/idcsctl/idcsctl/internal/session"
	"github.com/idcsctl/idcsctl/internal/store"
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

func TestFetchCheckRefusesFlagsThatCannotWork(t *testing.T) {
	tests := []struct {
		name       string
		o          fetchOptions
		format     string
		wantMethod string
		wantErr    string
	}{
		{name: "GET by default", o: fetchOptions{}, wantMethod: "GET"},
		{name: "POST with --data", o: fetchOptions{dataSet: true}, wantMethod: "POST"},
		{name: "POST with --json", o: fetchOptions{jsonSet: true}, wantMethod: "POST"},
		{name: "-X wins over the body's default", o: fetchOptions{method: "PUT", dataSet: true}, wantMethod: "PUT"},
		{name: "-X is kept as given", o: fetchOptions{method: "PROPFIND"}, wantMethod: "PROPFIND"},
		{name: "--paginate with GET", o: fetchOptions{paginate: true}, wantMethod: "GET"},
		{name: "--jq compiles", o: fetchOptions{jq: ".Resources[] | .userName"}, wantMethod: "GET"},
		{name: "both bodies", o: fetchOptions{dataSet: true, jsonSet: true}, wantErr: "--data and --json both give the body"},
		{name: "negative retries", o: fetchOptions{retries: -1}, wantErr: "--retries must be from 0 to 10"},
		{name: "too many retries", o: fetchOptions{retries: 11}, wantErr: "--retries must be from 0 to 10"},
		{name: "negative timeout", o: fetchOptions{timeout: -time.Second}, wantErr: "--timeout must not be negative"},
		{name: "headers are no JSON", o: fetchOptions{include: true}, format: "json", wantErr: "-i/--include writes headers"},
		{name: "merged pages have no single head", o: fetchOptions{include: true, paginate: true}, wantErr: "no single status"},
		{name: "paging a POST", o: fetchOptions{paginate: true, method: "POST"}, wantErr: "--paginate follows SCIM paging of GET"},
		{name: "paging with a body", o: fetchOptions{paginate: true, dataSet: true, method: "GET"}, wantErr: "--paginate follows SCIM paging of GET"},
		{name: "method with a space", o: fetchOptions{method: "GE T"}, wantErr: "-X/--method"},
		{name: "jq syntax error", o: fetchOptions{jq: ".["}, wantErr: "--jq: "},
		{name: "jq unknown function", o: fetchOptions{jq: "nosuchfunction"}, wantErr: "--jq: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			_, err := o.check(cmp.Or(tt.format, "text"))
			if tt.wantErr != "" {
				var uerr *usageError
				if !errors.As(err, &uerr) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("check = %v, want a usage error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || o.method != tt.wantMethod {
				t.Errorf("check = %v, method %q; want nil, %q", err, o.method, tt.wantMethod)
			}
		})
	}
}

func TestFetchHeadersStartFromDefaultsThatHReplaces(t *testing.T) {
	tests := []struct {
		name     string
		o        fetchOptions
		want     http.Header
		wantHost string
		wantErr  string
	}{
		{name: "defaults", want: http.Header{"User-Agent": {"idcsctl/" + version}, "Accept": {"*/*"}}},
		{name: "form data", o: fetchOptions{dataSet: true},
			want: http.Header{"User-Agent": {"idcsctl/" + version}, "Accept": {"*/*"}, "Content-Type": {"application/x-www-form-urlencoded"}}},
		{name: "json", o: fetchOptions{jsonSet: true},
			want: http.Header{"User-Agent": {"idcsctl/" + version}, "Accept": {"application/json"}, "Content-Type": {"application/json"}}},
		{name: "-H replaces a default and repeats", o: fetchOptions{jsonSet: true, headers: []string{"content-type: application/scim+json", "X-A: 1", "x-a: 2"}},
			want: http.Header{"User-Agent": {"idcsctl/" + version}, "Accept": {"application/json"}, "Content-Type": {"application/scim+json"}, "X-A": {"1", "2"}}},
		{name: "Host names the virtual host", o: fetchOptions{headers: []string{"Host: api.internal"}},
			want: http.Header{"User-Agent": {"idcsctl/" + version}, "Accept": {"*/*"}}, wantHost: "api.internal"},
		{name: "Authorization is the token's", o: fetchOptions{headers: []string{"authorization: Bearer mine"}}, wantErr: "fetch sends the profile's token"},
		{name: "malformed", o: fetchOptions{headers: []string{"X-A"}}, wantErr: "-H: header \"X-A\" is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, host, err := tt.o.header()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "mine") {
					t.Fatalf("header = %v, want an error saying %q and not showing the value", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(h, tt.want) || host != tt.wantHost {
				t.Errorf("header = %v, %q, %v; want %v, %q", h, host, err, tt.want, tt.wantHost)
			}
		})
	}
}

// fetchApp is an app whose profile's domain is domain, signed in with a
// token valid for an hour, over buffers.
func fetchApp(t *testing.T, domain, extraConfig string, terminal bool) (*app, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf("[profiles.default]\ndomain = %q\nclient_id = \"c\"\ntoken_store = \"file\"\n%s", domain, extraConfig)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := &store.Token{AccessToken: "at-secret", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour), Domain: domain, ClientID: "c"}
	if err := store.NewFile(dir).Save(context.Background(), "default", tok); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	d := &deps{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" },
		Now: time.Now, StdoutIsTerminal: terminal}
	return &app{deps: d, global: &globalOptions{configPath: cfg, output: "text"}}, &stdout, &stderr
}

func contentServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(contentHandler())
	t.Cleanup(srv.Close)
	return srv
}

// contentHandler serves answers of several types to the token at-secret.
func contentHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/scim+json;charset=UTF-8")
			io.WriteString(w, `{"b":[1,2],"a":"x","n":12345678901234567890}`)
		case "/ndjson":
			io.WriteString(w, "{\"n\":1}\n{\"n\":2}\n")
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<p>{not json}</p>")
		case "/broken-json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"a":`)
		case "/gone":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusGone)
			io.WriteString(w, "gone for good")
		case "/gone-line":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusGone)
			io.WriteString(w, "gone for good\n")
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"detail":"no such thing"}`)
		}
	})
}

func TestFetchRunWritesTheBodyForTerminalsAndPipes(t *testing.T) {
	srv := contentServer(t)
	tests := []struct {
		name       string
		o          fetchOptions
		format     string
		terminal   bool
		wantStdout string
		wantErr    string
		wantCode   int
	}{
		{name: "pipe gets the bytes as they came", o: fetchOptions{target: "/json"},
			wantStdout: `{"b":[1,2],"a":"x","n":12345678901234567890}`},
		{name: "terminal gets JSON indented, keys and numbers as they came", o: fetchOptions{target: "/json"}, terminal: true,
			wantStdout: "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": \"x\",\n  \"n\": 12345678901234567890\n}\n"},
		{name: "terminal gets other types as they came", o: fetchOptions{target: "/html"}, terminal: true, wantStdout: "<p>{not json}</p>"},
		{name: "terminal gets broken JSON as it came", o: fetchOptions{target: "/broken-json"}, terminal: true, wantStdout: `{"a":`},
		{name: "jq strings are bare", o: fetchOptions{target: "/json", jq: ".a"}, wantStdout: "x\n"},
		{name: "jq values are JSON, big numbers kept", o: fetchOptions{target: "/json", jq: "[.n, .b]"}, wantStdout: "[12345678901234567890,[1,2]]\n"},
		{name: "jq values are indented on a terminal", o: fetchOptions{target: "/json", jq: ".b"}, terminal: true, wantStdout: "[\n  1,\n  2\n]\n"},
		{name: "jq runs on every value of a stream", o: fetchOptions{target: "/ndjson", jq: ".n"}, wantStdout: "1\n2\n"},
		{name: "jq empty writes nothing", o: fetchOptions{target: "/json", jq: "empty"}, wantStdout: ""},
		{name: "jq on a body that is not JSON", o: fetchOptions{target: "/html", jq: "."}, wantErr: "--jq: the answer is not JSON", wantCode: exitError},
		{name: "jq runtime error", o: fetchOptions{target: "/json", jq: ".a + 1"}, wantErr: "--jq: ", wantCode: exitError},
		{name: "-o json accepts a +json type", o: fetchOptions{target: "/json"}, format: "json",
			wantStdout: `{"b":[1,2],"a":"x","n":12345678901234567890}`},
		{name: "-o json refuses HTML and writes nothing", o: fetchOptions{target: "/html"}, format: "json",
			wantErr: "answered text/html, not JSON; leave out -o json", wantCode: exitError},
		{name: "HEAD writes no body", o: fetchOptions{target: "/json", method: "HEAD"}, wantStdout: ""},
		{name: "HEAD with -i writes the head", o: fetchOptions{target: "/json", method: "HEAD", include: true},
			wantStdout: "HTTP/1.1 200 OK\r\nContent-Length: 44\r\nContent-Type: application/scim+json;charset=UTF-8\r\nDate: DATE\r\n\r\n"},
		{name: "an error status writes the body and exits 5", o: fetchOptions{target: "/missing"}, terminal: true,
			wantStdout: "{\n  \"detail\": \"no such thing\"\n}\n", wantErr: "GET " + srv.URL + "/missing: the server answered HTTP 404", wantCode: exitHTTPStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, _ := fetchApp(t, srv.URL, "", tt.terminal)
			a.global.output = cmp.Or(tt.format, "text")
			o := tt.o
			err := runFetch(context.Background(), a, &o)
			got := regexp.MustCompile(`Date: [^\r]+`).ReplaceAllString(stdout.String(), "Date: DATE")
			if got != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tt.wantStdout)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("runFetch = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != tt.wantCode {
				t.Fatalf("runFetch = %v (exit %d), want exit %d saying %q", err, exitCode(err), tt.wantCode, tt.wantErr)
			}
			if strings.Contains(err.Error(), "at-secret") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

// TestFetchErrorBodyEndsItsLineOnATerminal: an error body without a final
// newline, on a terminal, gets one on stderr before idcsctl's line, so the
// two do not run together; a pipe or a file gets the bytes as they came and
// stderr nothing more.
func TestFetchErrorBodyEndsItsLineOnATerminal(t *testing.T) {
	srv := contentServer(t)
	tests := []struct {
		name       string
		target     string
		terminal   bool
		wantStderr string
	}{
		{"terminal, no final newline", "/gone", true, "\n"},
		{"terminal, a final newline", "/gone-line", true, ""},
		{"pipe", "/gone", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, stderr := fetchApp(t, srv.URL, "", tt.terminal)
			err := runFetch(context.Background(), a, &fetchOptions{target: tt.target})
			if exitCode(err) != exitHTTPStatus {
				t.Fatalf("runFetch = %v, want exit 5", err)
			}
			if !strings.HasPrefix(stdout.String(), "gone for good") || stderr.String() != tt.wantStderr {
				t.Errorf("stdout %q, stderr %q; want the body and %q", stdout, stderr, tt.wantStderr)
			}
		})
	}
}

func TestFetchOutputFileIsPrivateAndNeverIndented(t *testing.T) {
	srv := contentServer(t)
	a, stdout, _ := fetchApp(t, srv.URL, "", true)
	out := filepath.Join(t.TempDir(), "me.json")
	if err := os.WriteFile(out, []byte("old content that is longer than the new one, to be truncated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runFetch(context.Background(), a, &fetchOptions{target: "/json", outputFile: out}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"b":[1,2],"a":"x","n":12345678901234567890}` || stdout.Len() != 0 {
		t.Errorf("file %q, stdout %q; want the bytes as they came in the file only", b, stdout)
	}
	if fi, err := os.Stat(out); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("output file mode %v, want 0600", fi.Mode().Perm())
	}
	if err := runFetch(context.Background(), a, &fetchOptions{target: "/json", outputFile: filepath.Join(out, "no", "such")}); err == nil ||
		!strings.Contains(err.Error(), "create the output file") {
		t.Errorf("runFetch into a missing folder = %v", err)
	}
}

func TestFetchAllowedHostsOfTheProfileAllowAHost(t *testing.T) {
	domain := contentServer(t)
	api := contentServer(t)
	apiHost := strings.TrimPrefix(api.URL, "http://")
	tests := []struct {
		name, extra string
		allow       []string
		wantCode    int
		wantErr     string
	}{
		{name: "not allowed", wantCode: exitUsage, wantErr: fmt.Sprintf("add %q to allowed_hosts of [profiles.default]", apiHost)},
		{name: "allowed by the profile", extra: fmt.Sprintf("allowed_hosts = [%q]\n", apiHost)},
		{name: "allowed by the flag", allow: []string{apiHost}},
		{name: "another port is not allowed", extra: "allowed_hosts = [\"127.0.0.1:1\"]\n", wantCode: exitUsage, wantErr: "refusing to send the token"},
		{name: "a bad entry in the profile is named", extra: "allowed_hosts = [\"https://x\"]\n", wantCode: exitUsage,
			wantErr: `allowed_hosts of profile "default": allowed host "https://x": it is a URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, _ := fetchApp(t, domain.URL, tt.extra, false)
			err := runFetch(context.Background(), a, &fetchOptions{target: api.URL + "/json", allowHosts: tt.allow})
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(stdout.String(), `"a":"x"`) {
					t.Fatalf("runFetch = %v, stdout %q", err, stdout)
				}
				return
			}
			if exitCode(err) != tt.wantCode || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("runFetch = %v (exit %d), want exit %d saying %q", err, exitCode(err), tt.wantCode, tt.wantErr)
			}
		})
	}
}

func TestFetchOfAProfileNotSignedInNeedsASignIn(t *testing.T) {
	srv := contentServer(t)
	a, stdout, _ := fetchApp(t, srv.URL, "", false)
	if err := store.NewFile(filepath.Dir(a.global.configPath)).Delete(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	err := runFetch(context.Background(), a, &fetchOptions{target: "/json"})
	if !errors.Is(err, session.ErrLoginRequired) || stdout.Len() != 0 {
		t.Errorf("runFetch = %v, stdout %q; want ErrLoginRequired and nothing written", err, stdout)
	}
}

func TestWithHeaderTimeoutRaisesOnlyALowerWait(t *testing.T) {
	base := &http.Transport{ResponseHeaderTimeout: 30 * time.Second}
	if got := withHeaderTimeout(base, 2*time.Minute).(*http.Transport); got == base || got.ResponseHeaderTimeout != 2*time.Minute {
		t.Errorf("a longer --timeout gave a header wait of %v", got.ResponseHeaderTimeout)
	}
	if got := withHeaderTimeout(base, time.Second); got != base {
		t.Error("a shorter --timeout changed the transport; the context bounds the call already")
	}
	dbg := &debugTransport{base: base, w: io.Discard, now: time.Now}
	got, ok := withHeaderTimeout(dbg, time.Hour).(*debugTransport)
	if !ok || got.base.(*http.Transport).ResponseHeaderTimeout != time.Hour {
		t.Error("the debug log was lost or its transport not raised")
	}
	if base.ResponseHeaderTimeout != 30*time.Second {
		t.Error("the shared transport was changed")
	}
}

func TestFetchTrustsTheCAFileAndNothingElse(t *testing.T) {
	srv := httptest.NewUnstartedServer(contentHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	a, stdout, _ := fetchApp(t, srv.URL, "", false)
	err := runFetch(context.Background(), a, &fetchOptions{target: "/json"})
	if err == nil || exitCode(err) != exitError || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("runFetch without the CA = %v (exit %d), want a certificate error, exit 1", err, exitCode(err))
	}

	o := &fetchOptions{target: "/json"}
	o.overrides.CAFile = ca
	if err := runFetch(context.Background(), a, o); err != nil || !strings.Contains(stdout.String(), `"a":"x"`) {
		t.Fatalf("runFetch with --ca-file = %v, stdout %q", err, stdout)
	}
}

// maxStreamRSS is the bound on the resident memory of idcsctl
// while it streams a body of any size.
const maxStreamRSS = 50 << 20

// TestFetchStreams1GiBInBoundedMemory streams 1 GiB through idcsctl (the
// test binary, run as idcsctl; about a second on loopback) into a pipe,
// and checks the child's peak resident memory. BenchmarkFetchStream1GiB
// does the same through a real build and reports the figure.
func TestFetchStreams1GiBInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 1 GiB; skipped with -short")
	}
	bin, err := exec.LookPath("idcsctl")
	if err != nil {
		t.Fatalf("the test binary is not on PATH as idcsctl (TestMain puts it there): %v", err)
	}
	rss, took := probeStream(t, bin, 1<<30)
	t.Logf("idcsctl streamed 1 GiB in %s with a peak RSS of %.1f MiB", took.Round(time.Millisecond), float64(rss)/(1<<20))
	if rss > maxStreamRSS {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", rss>>20, maxStreamRSS>>20)
	}
}

// BenchmarkFetchStream1GiB builds idcsctl, streams 1 GiB through `idcsctl
// fetch` into a pipe, and reports the child's peak resident memory
// (maxrss-MiB) besides the throughput:
//
//	go test ./cmd/idcsctl -run '^$' -bench FetchStream1GiB -benchtime 1x
func BenchmarkFetchStream1GiB(b *testing.B) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("the go command is needed to build idcsctl: %v", err)
	}
	bin := filepath.Join(b.TempDir(), "idcsctl")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	const size = 1 << 30
	b.SetBytes(size)
	var peak int64
	for b.Loop() {
		rss, _ := probeStream(b, bin, size)
		peak = max(peak, rss)
	}
	b.ReportMetric(float64(peak)/(1<<20), "maxrss-MiB")
	if peak > maxStreamRSS {
		b.Errorf("peak RSS %d MiB, want at most %d MiB", peak>>20, maxStreamRSS>>20)
	}
}

// probeStream measures one stream through bin with rssprobe, a fresh copy
// of the test binary. A fresh process is needed because Linux counts in a
// child's ru_maxrss the resident size of the process it was forked from
// (exec keeps the high-water mark of the old address space), and the test
// process grows as the other tests run.
func probeStream(tb testing.TB, bin string, size int64) (rss int64, took time.Duration) {
	tb.Helper()
	probe, err := exec.LookPath("rssprobe")
	if err != nil {
		tb.Fatalf("rssprobe is not on PATH (TestMain puts it there): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, probe, bin, strconv.FormatInt(size, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), errNoMaxRSS.Error()) {
			tb.Skipf("%s: %s", runtime.GOOS, errNoMaxRSS)
		}
		tb.Fatalf("rssprobe: %v\n%s", err, stderr.String())
	}
	var ns int64
	if _, err := fmt.Sscanf(string(out), "maxrss=%d took=%d", &rss, &ns); err != nil {
		tb.Fatalf("rssprobe printed %q: %v", out, err)
	}
	return rss, time.Duration(ns)
}

// rssProbeMain is the program rssprobe of the test binary:
//
//	rssprobe BIN SIZE
//
// runs `BIN fetch` on a body of SIZE bytes from a loopback server that is
// the profile's domain, reads the output to the end through a pipe, and
// prints "maxrss=BYTES took=NANOSECONDS" for the child.
func rssProbeMain() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: rssprobe BIN SIZE")
		os.Exit(2)
	}
	size, err := strconv.ParseInt(os.Args[2], 10, 64)
	if err == nil {
		var rss int64
		var took time.Duration
		if rss, took, err = streamOnce(os.Args[1], size); err == nil {
			fmt.Printf("maxrss=%d took=%d\n", rss, took.Nanoseconds())
			os.Exit(0)
		}
	}
	fmt.Fprintln(os.Stderr, "rssprobe:", err)
	os.Exit(1)
}

// errNoMaxRSS says the platform reports no peak resident size of a child.
var errNoMaxRSS = errors.New("the platform reports no ru_maxrss for a child process")

func streamOnce(bin string, size int64) (rss int64, took time.Duration, err error) {
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at-stream" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		for left := size; left > 0; {
			n, err := w.Write(chunk[:min(left, int64(len(chunk)))])
			if err != nil {
				return
			}
			left -= int64(n)
		}
	}))
	defer srv.Close()

	dir, err := os.MkdirTemp("", "rssprobe")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf("[profiles.default]\ndomain = %q\nclient_id = \"c\"\ntoken_store = \"file\"\n", srv.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return 0, 0, err
	}
	tok := &store.Token{AccessToken: "at-stream", Expiry: time.Now().Add(time.Hour), Domain: srv.URL, ClientID: "c"}
	if err := store.NewFile(dir).Save(context.Background(), "default", tok); err != nil {
		return 0, 0, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fetch", "/big")
	cmd.Env = append(os.Environ(), "IDCSCTL_CONFIG="+cfg, "IDCSCTL_TOKEN_STORE=file", "IDCSCTL_PROFILE=default")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	n, copyErr := io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return 0, 0, fmt.Errorf("idcsctl fetch: %w", err)
	}
	took = time.Since(start)
	if copyErr != nil || n != size {
		return 0, 0, fmt.Errorf("read %d bytes (%v), want %d", n, copyErr, size)
	}
	rss, ok := maxRSS(cmd.ProcessState)
	if !ok {
		return 0, 0, errNoMaxRSS
	}
	return rss, took, nil
}

// maxRSS reads a finished child's ru_maxrss in bytes. syscall.Rusage has
// a Maxrss field on Unix only, so reflection keeps this file building
// everywhere; macOS counts bytes, Linux and the BSDs kilobytes.
func maxRSS(ps *os.ProcessState) (int64, bool) {
	v := reflect.ValueOf(ps.SysUsage())
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return 0, false
	}
	f := v.Elem().FieldByName("Maxrss")
	if !f.IsValid() || !f.CanInt() {
		return 0, false
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return f.Int(), true
	}
	return f.Int() * 1024, true
}
