package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// shutdownGrace is how long the callback server waits for the last page to
// reach the browser before it closes every connection.
const shutdownGrace = 2 * time.Second

// callbackResult is how the handler ends a sign-in: with a code or an error.
type callbackResult struct {
	code string
	err  error
}

// loopback is where the callback server listens, parsed from the options.
type loopback struct {
	host     string // "127.0.0.1", "::1", "localhost" or another loopback IP
	path     string // the escaped path the provider redirects to
	ports    []int  // tried in order; 0 = any free port
	verbatim string // the configured redirect URI, sent as is when its port is fixed
}

// parseLoopback reads the redirect the options ask for. RFC 8252 native apps
// use plain http on a loopback address, so anything else is refused.
func parseLoopback(opts LoginOptions) (loopback, error) {
	if opts.RedirectURL == "" {
		ports := opts.Ports
		if len(ports) == 0 {
			ports = []int{0}
		}
		for _, p := range ports {
			if p < 0 || p > 65535 {
				return loopback{}, fmt.Errorf("callback port %d is not a TCP port (0 to 65535)", p)
			}
		}
		return loopback{host: "127.0.0.1", path: "/callback", ports: ports}, nil
	}
	u, err := url.Parse(opts.RedirectURL)
	if err != nil {
		return loopback{}, &URLError{URL: opts.RedirectURL, Reason: "the redirect URI cannot be parsed"}
	}
	bad := func(reason string) error { return &URLError{URL: u.Redacted(), Reason: reason} }
	switch {
	case u.Scheme != "http":
		return loopback{}, bad("the redirect URI must be http://127.0.0.1:PORT/..., http://[::1]:PORT/... or http://localhost:PORT/...")
	case !isLoopbackHost(u.Hostname()):
		return loopback{}, bad("the redirect URI must name a loopback host (127.0.0.1, ::1 or localhost): the callback server never listens elsewhere")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return loopback{}, bad("the redirect URI must have no user, query or fragment")
	}
	port := 80
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 0 || port > 65535 {
			return loopback{}, bad("the redirect URI's port is not a TCP port")
		}
	}
	lb := loopback{host: strings.ToLower(u.Hostname()), path: u.EscapedPath(), ports: []int{port}}
	if lb.path == "" {
		lb.path = "/"
	}
	if port != 0 {
		lb.verbatim = opts.RedirectURL
	}
	return lb, nil
}

// callbackServer is the loopback server of one sign-in.
type callbackServer struct {
	redirectURL string
	host        string // as in the redirect URI: "127.0.0.1", "::1" or "localhost"
	port        int
	results     chan callbackResult
	handler     *callbackHandler
	srv         *http.Server
	serving     sync.WaitGroup
	stopOnce    sync.Once
}

// startCallback binds the first free port of the list and starts serving, so
// that the server is ready before any browser is sent to the provider.
func startCallback(lb loopback, state, issuer string) (*callbackServer, error) {
	lns, port, hosts, err := bindLoopback(lb)
	if err != nil {
		return nil, err
	}
	redirect := lb.verbatim
	if redirect == "" {
		redirect = "http://" + hosts[0] + lb.path
	}
	results := make(chan callbackResult, 1)
	h, err := newCallbackHandler(hosts, lb.path, state, issuer, results)
	if err != nil {
		closeAll(lns)
		return nil, err
	}
	s := &callbackServer{
		redirectURL: redirect,
		host:        lb.host,
		port:        port,
		results:     results,
		handler:     h,
	}
	s.serve(lns, h)
	return s, nil
}

// bindLoopback binds the first free port of lb's list and returns the
// listeners, the port, and the Host headers a browser may send for it: the
// first is host:port, and on port 80 the bare host is one too.
func bindLoopback(lb loopback) ([]net.Listener, int, []string, error) {
	lns, port, err := listenLoopback(lb.host, lb.ports)
	if err != nil {
		return nil, 0, nil, err
	}
	hosts := []string{net.JoinHostPort(lb.host, strconv.Itoa(port))}
	if port == 80 {
		hosts = append(hosts, hostOnly(lb.host))
	}
	return lns, port, hosts, nil
}

// serve starts answering on every listener with h, with the bounds every
// loopback page of idcsctl has.
func (s *callbackServer) serve(lns []net.Listener, h http.Handler) {
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	// One request per connection: nothing idles on the port after a page
	// is served, so shutting down is quick.
	s.srv.SetKeepAlivesEnabled(false)
	for _, ln := range lns {
		s.serving.Go(func() { _ = s.srv.Serve(ln) })
	}
}

// serveStart makes the server's root redirect to the sign-in page and
// returns that short address, or "" when the redirect URI itself is the
// root. The short form fits on a line, survives being retyped, and is what
// a person forwarding the port over SSH opens on their own computer.
func (s *callbackServer) serveStart(authURL string) string {
	if s.handler.path == "/" {
		return ""
	}
	s.handler.mu.Lock()
	s.handler.start = authURL
	s.handler.mu.Unlock()
	return "http://" + net.JoinHostPort(s.host, strconv.Itoa(s.port)) + "/"
}

// stop shuts the server down, letting a page in flight reach the browser,
// and returns once every listener is closed and the port is free again.
func (s *callbackServer) stop() {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		s.serving.Wait()
	})
}

// hostOnly is host as it appears in a URL without a port.
func hostOnly(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// listenLoopback binds host on the first port of the list that is free.
// "localhost" binds both 127.0.0.1 and ::1, since a browser may resolve it to
// either; a stack this machine lacks is skipped, but a port in use on either
// one moves on to the next port, so that no other program can receive the
// redirect. Nothing ever binds 0.0.0.0.
func listenLoopback(host string, ports []int) ([]net.Listener, int, error) {
	addrs := []string{host}
	if host == "localhost" {
		addrs = []string{"127.0.0.1", "::1"}
	}
	var lastErr error
	for _, want := range ports {
		// A random port (0) that is free on one stack but taken on the
		// other gets a few more draws.
		tries := 1
		if want == 0 {
			tries = 3
		}
		for range tries {
			lns, port, err := listenAll(addrs, want)
			if err == nil {
				return lns, port, nil
			}
			if !isAddrInUse(err) {
				lastErr = err
			}
		}
	}
	return nil, 0, &PortsInUseError{Host: host, Ports: ports, Err: lastErr}
}

// listenAll binds every address on one port; see listenLoopback.
func listenAll(addrs []string, port int) ([]net.Listener, int, error) {
	var (
		lns     []net.Listener
		skipped error
	)
	for _, a := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
		if err != nil {
			if isAddrInUse(err) {
				closeAll(lns)
				return nil, 0, err
			}
			skipped = err
			continue
		}
		lns = append(lns, ln)
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
	}
	if len(lns) == 0 {
		return nil, 0, skipped
	}
	return lns, port, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// callbackHandler serves the redirect path of one sign-in.
type callbackHandler struct {
	hosts   []string // Host headers the browser may send for the redirect URI
	path    string
	state   string
	issuer  string
	results chan<- callbackResult
	page    *template.Template
	csp     string

	mu       sync.Mutex
	finished bool
	start    string // the authorization URL "/" redirects to; "" = none
}

// The page's only script and style; the Content-Security-Policy allows them
// by hash and nothing else.
const (
	pageScript = `setTimeout(function () { window.close(); }, 1500);`
	pageStyle  = `body{font:16px/1.5 system-ui,sans-serif;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center;background:#f6f7f9;color:#1d1f23}` +
		`main{max-width:34em;padding:2em;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15)}` +
		`h1{font-size:1.3em;margin-top:0}.ok{color:#1a7f37}.err{color:#b42318}.detail{font-family:monospace;overflow-wrap:anywhere}`
)

const pageTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} - idcsctl</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1 class="{{.Class}}">{{.Title}}</h1>
<p>{{.Message}}</p>
{{- if .Detail}}
<p class="detail">{{.Detail}}</p>
{{- end}}
<p>{{.Next}}</p>
</main>
{{- if .Close}}
<script>` + pageScript + `</script>
{{- end}}
</body>
</html>
`

// page is what the browser is shown.
type page struct {
	Title, Class, Message, Detail, Next string
	Close                               bool
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func newCallbackHandler(hosts []string, path, state, issuer string, results chan<- callbackResult) (*callbackHandler, error) {
	tmpl, err := template.New("page").Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("parse the callback page: %w", err)
	}
	return &callbackHandler{
		hosts:   hosts,
		path:    path,
		state:   state,
		issuer:  issuer,
		results: results,
		page:    tmpl,
		csp: "default-src 'none'; style-src " + cspHash(pageStyle) + "; script-src " + cspHash(pageScript) +
			"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}, nil
}

// guard sets the headers of every page this server answers and refuses a
// request for another Host; it reports whether to go on.
func (h *callbackHandler) guard(w http.ResponseWriter, r *http.Request) bool {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Pragma", "no-cache")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")

	// A page on another site can point a DNS name at 127.0.0.1 and reach
	// this server; only the redirect URI's own Host is served.
	if !h.hostAllowed(r.Host) {
		http.Error(w, "unexpected Host", http.StatusBadRequest)
		return false
	}
	return true
}

func (h *callbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.guard(w, r) {
		return
	}
	hdr := w.Header()
	if r.URL.EscapedPath() == "/" && h.path != "/" {
		h.serveStartPage(w, r)
		return
	}
	if r.URL.EscapedPath() != h.path {
		http.NotFound(w, r)
		return
	}
	// Only a browser's GET ends the flow: a HEAD from a link checker must
	// not consume the one answer this server waits for.
	if r.Method != http.MethodGet {
		hdr.Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	q := r.URL.Query()
	h.mu.Lock()
	if h.finished {
		h.mu.Unlock()
		h.render(w, http.StatusBadRequest, page{
			Title: "Sign-in already finished", Class: "err",
			Message: "idcsctl has already received the answer of this sign-in.",
			Next:    "Return to the terminal.",
		})
		return
	}
	if states := q["state"]; len(states) != 1 || subtle.ConstantTimeCompare([]byte(states[0]), []byte(h.state)) != 1 {
		// Not this sign-in's answer: an old tab, or a forged link. The
		// real answer may still come, so the server keeps waiting.
		h.mu.Unlock()
		h.render(w, http.StatusBadRequest, page{
			Title: "Not this sign-in", Class: "err",
			Message: "This page does not belong to the sign-in idcsctl is waiting for (its state does not match).",
			Next:    "Return to the terminal and use the sign-in link it shows.",
		})
		return
	}
	h.finished = true
	h.mu.Unlock()

	status, pg, res := h.outcome(q)
	h.render(w, status, pg)
	h.results <- res
}

// serveStartPage answers the short sign-in address with a redirect to the
// provider's sign-in page, while the flow waits for its answer. The page's
// own address is the one the person was shown, so this gives nobody more
// than the terminal did; a finished flow sends nobody to sign in again.
func (h *callbackHandler) serveStartPage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.mu.Lock()
	start, finished := h.start, h.finished
	h.mu.Unlock()
	switch {
	case finished:
		h.render(w, http.StatusBadRequest, page{
			Title: "Sign-in already finished", Class: "err",
			Message: "idcsctl has already received the answer of this sign-in.",
			Next:    "Return to the terminal.",
		})
	case start == "":
		http.NotFound(w, r)
	default:
		http.Redirect(w, r, start, http.StatusFound)
	}
}

// outcome decides how a callback with the right state ends the sign-in.
func (h *callbackHandler) outcome(q url.Values) (int, page, callbackResult) {
	if code := q.Get("error"); code != "" {
		pe := &ProviderError{Code: code, Description: q.Get("error_description"), URI: q.Get("error_uri"), Endpoint: "authorization"}
		detail := Printable(code, 64)
		if pe.Description != "" {
			detail += ": " + Printable(pe.Description, 300)
		}
		return http.StatusOK, page{
			Title: "Sign-in failed", Class: "err",
			Message: "The identity provider did not sign you in.",
			Detail:  detail,
			Next:    "Return to the terminal for details. You can close this window.",
		}, callbackResult{err: pe}
	}
	// RFC 9207: a provider that names itself must be the one this sign-in
	// went to, or the code may come from another provider (mix-up attack).
	if iss, ok := q["iss"]; ok && (len(iss) != 1 || iss[0] != h.issuer) {
		return http.StatusBadRequest, page{
			Title: "Sign-in failed", Class: "err",
			Message: "The answer came from another identity provider than the one idcsctl sent you to.",
			Next:    "Return to the terminal and sign in again.",
		}, callbackResult{err: errors.New("the sign-in answer names another issuer than the provider's (RFC 9207 iss); sign in again")}
	}
	codes := q["code"]
	if len(codes) != 1 || codes[0] == "" {
		return http.StatusBadRequest, page{
			Title: "Sign-in failed", Class: "err",
			Message: "The identity provider sent you back without an authorization code.",
			Next:    "Return to the terminal and sign in again.",
		}, callbackResult{err: errors.New("the provider redirected back without an authorization code; sign in again")}
	}
	return http.StatusOK, page{
		Title: "Signed in", Class: "ok",
		Message: "idcsctl has received your sign-in.",
		Next:    "You can close this window and return to the terminal.",
		Close:   true,
	}, callbackResult{code: codes[0]}
}

func (h *callbackHandler) hostAllowed(host string) bool {
	for _, want := range h.hosts {
		if strings.EqualFold(host, want) {
			return true
		}
	}
	return false
}

func (h *callbackHandler) render(w http.ResponseWriter, status int, pg page) {
	var buf bytes.Buffer
	if err := h.page.Execute(&buf, pg); err != nil {
		http.Error(w, pg.Title, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
