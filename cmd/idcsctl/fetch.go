package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"

	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/fetch"
	"github.com/idcsctl/idcsctl/internal/session"
)

type fetchOptions struct {
	overrides  config.Overrides
	target     string
	method     string
	headers    []string
	data       string
	dataSet    bool
	json       string
	jsonSet    bool
	include    bool
	outputFile string
	paginate   bool
	jq         string
	allowHosts []string
	timeout    time.Duration
	retries    int
	oci        bool
	ociSession string
}

// maxRetries bounds --retries: a script that asks for a thousand retries
// of a failing gateway would otherwise hammer it for hours.
const maxRetries = 10

// maxPretty is the largest JSON body indented for a terminal; a larger
// one is shown as it came, since nobody reads it on a screen anyway.
const maxPretty = 16 << 20

func newFetchCmd(a *app) *cobra.Command {
	o := &fetchOptions{}
	cmd := &cobra.Command{
		Use:   "fetch [flags] URL",
		Short: "Call a protected resource with the profile's access token",
		Long: `Send a request with "Authorization: Bearer <access token>" and write the
response body to stdout byte for byte, refreshing the token first when it
expires within a minute. URL is an https:// URL or a path on the profile's
domain, such as /admin/v1/Me.

The token goes only to the profile's domain and to the hosts of the profile's
allowed_hosts setting (or --allow-host); any other URL is refused (exit 2).
A redirect to another scheme, host or port loses the token.

An answer of HTTP 400 or more still writes its body, then exits 5. A 401 that
says the token is invalid is retried once with a refreshed token; a second
one exits 4 (sign in again). Connection errors and 502/503/504 answers are
retried (--retries) for GET, HEAD, OPTIONS, PUT and DELETE only.

JSON is indented when stdout is a terminal and left as it came otherwise.
-o/--output is the output format, as on every command; the body goes to a
file with -O/--output-file FILE.`,
		Example: `  idcsctl fetch /admin/v1/Me
  idcsctl fetch /admin/v1/Me --jq .userName
  idcsctl fetch --paginate '/admin/v1/Users?count=100' --jq '.Resources[].userName'
  idcsctl fetch -X PATCH --json @patch.json /admin/v1/Users/ID
  idcsctl fetch https://api.example.com/orders --allow-host api.example.com -O orders.json
  idcsctl fetch -i /admin/v1/Me`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("fetch needs exactly one URL or path, like /admin/v1/Me (see `idcsctl fetch --help`)")
			}
			return nil
		},
		// curl users type -o FILE: say where the file name goes instead
		// of only refusing the format, then run the root's checks.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if f := a.global.output; f != "text" && f != "json" {
				return usagef("-o/--output is the output format, text or json, not %q; to write the body to a file use -O/--output-file %s", f, f)
			}
			if root := cmd.Root(); root.PersistentPreRunE != nil {
				return root.PersistentPreRunE(cmd, args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.target = args[0]
			o.dataSet = cmd.Flags().Changed("data")
			o.jsonSet = cmd.Flags().Changed("json")
			return runFetch(cmd.Context(), a, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.method, "method", "X", "", "HTTP method (default GET, or POST with --data or --json)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, `request header "Name: value" (repeatable)`)
	f.StringVarP(&o.data, "data", "d", "", "request body: the text itself, @FILE, or @- for stdin; Content-Type application/x-www-form-urlencoded unless -H sets one")
	f.StringVar(&o.json, "json", "", "JSON request body (text, @FILE or @-), checked before sending; sets Content-Type and Accept to application/json")
	f.BoolVarP(&o.include, "include", "i", false, "write the status line and headers before the body")
	f.StringVarP(&o.outputFile, "output-file", "O", "", "write the body to FILE (created 0600) instead of stdout")
	f.BoolVar(&o.paginate, "paginate", false, "follow IDCS SCIM paging (startIndex, count, totalResults) and merge every page's Resources")
	f.StringVarP(&o.jq, "jq", "q", "", "filter the JSON answer with a jq expression; strings are written without quotes")
	f.StringArrayVar(&o.allowHosts, "allow-host", nil, "also send the token to this host (host, host:port or *.example.com) for this call")
	f.DurationVar(&o.timeout, "timeout", 0, "give up when the whole call, body and retries included, takes longer (default: no limit)")
	f.IntVar(&o.retries, "retries", 2, "retries after a connection error or 502/503/504, idempotent methods only (0-10)")
	f.BoolVar(&o.oci, "oci", false, "sign the request with the profile's OCI session (idcsctl oci session) instead of the bearer token, for OCI's APIs; --paginate follows opc-next-page")
	f.StringVar(&o.ociSession, "oci-session", "", "with --oci: the OCI session to sign with (default idcsctl-<profile>)")
	addTokenStoreFlag(cmd, &o.overrides.TokenStore)
	f.StringVar(&o.overrides.CAFile, "ca-file", "", "PEM file of an extra CA to trust (a corporate TLS proxy)")
	_ = cmd.RegisterFlagCompletionFunc("oci-session", a.completeOCISessions)
	_ = cmd.RegisterFlagCompletionFunc("method", cobra.FixedCompletions([]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// fetchPlan is a checked fetch: everything that can be refused without
// the network or the token has been.
type fetchPlan struct {
	req     *fetch.Request
	jq      *gojq.Code
	profile *config.Resolved
}

func runFetch(ctx context.Context, a *app, o *fetchOptions) error {
	if o.oci {
		return runFetchOCI(ctx, a, o)
	}
	plan, err := planFetch(a, o)
	if err != nil {
		return err
	}
	t, m, err := a.freshToken(ctx, plan.profile)
	if err != nil {
		return err
	}
	hc, err := a.httpClient(plan.profile)
	if err != nil {
		return err
	}
	first := t.AccessToken
	client := &fetch.Client{
		HTTP: hc,
		Token: func(ctx context.Context) (string, error) {
			if first != "" {
				tok := first
				first = ""
				return tok, nil
			}
			t, err := m.Token(ctx)
			if err != nil {
				return "", err
			}
			return t.AccessToken, nil
		},
		Refresh: func(ctx context.Context, rejected string) (string, error) {
			t, err := m.ForceRefresh(ctx, rejected)
			if err != nil {
				return "", err
			}
			return t.AccessToken, nil
		},
		Retries: o.retries,
	}
	return a.sendFetch(ctx, client, plan, o)
}

// sendFetch bounds the call by --timeout, when given, and sends it.
func (a *app) sendFetch(ctx context.Context, client *fetch.Client, plan *fetchPlan, o *fetchOptions) error {
	if o.timeout > 0 {
		client.HTTP.Transport = withHeaderTimeout(client.HTTP.Transport, o.timeout)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.timeout, errFetchTimeout)
		defer cancel()
	}
	err := a.doFetch(ctx, client, plan, o)
	if err != nil && errors.Is(context.Cause(ctx), errFetchTimeout) {
		return fmt.Errorf("%s %s: no complete answer within --timeout %s; raise it, or check that the server is up: %w",
			plan.req.Method, shownURL(plan.req.URL), o.timeout, errFetchTimeout)
	}
	return err
}

// errFetchTimeout is the cause of a context ended by --timeout.
var errFetchTimeout = errors.New("timed out")

// planFetch checks the flags, resolves the URL against the profile's
// domain, applies the host policy and reads the body.
func planFetch(a *app, o *fetchOptions) (*fetchPlan, error) {
	code, err := o.check(a.global.output)
	if err != nil {
		return nil, err
	}
	_, p, err := a.resolve(o.overrides)
	if err != nil {
		return nil, err
	}
	return planFetchFor(a, o, code, p)
}

// planFetchFor is planFetch once the flags are checked (code is --jq,
// compiled) and the profile resolved, for fetch --oci, which has done both.
func planFetchFor(a *app, o *fetchOptions, code *gojq.Code, p *config.Resolved) (*fetchPlan, error) {
	domain, err := requireDomain(p)
	if err != nil {
		return nil, err
	}
	du, err := url.Parse(domain)
	if err != nil {
		return nil, usagef("domain of profile %q: %v", p.Name, err)
	}
	u, err := fetch.ResolveURL(du, o.target)
	if err != nil {
		return nil, &usageError{err}
	}
	if err := a.checkHost(p, du, u, o.allowHosts); err != nil {
		return nil, err
	}
	header, host, err := o.header()
	if err != nil {
		return nil, err
	}
	req := &fetch.Request{Method: o.method, URL: u, Header: header, Host: host}
	if o.dataSet || o.jsonSet {
		arg := o.data
		if o.jsonSet {
			arg = o.json
		}
		if req.Body, err = fetch.ParseData(arg, a.deps.Stdin); err != nil {
			return nil, &usageError{err}
		}
		if o.jsonSet {
			if err := req.Body.CheckJSON(); err != nil {
				return nil, &usageError{err}
			}
		}
	}
	return &fetchPlan{req: req, jq: code, profile: p}, nil
}

// check refuses flag values and combinations that cannot work, fills in
// the default method, and compiles --jq, before anything is read or sent.
func (o *fetchOptions) check(format string) (*gojq.Code, error) {
	switch {
	case o.dataSet && o.jsonSet:
		return nil, usagef("--data and --json both give the body: use one")
	case o.retries < 0 || o.retries > maxRetries:
		return nil, usagef("--retries must be from 0 to %d, not %d", maxRetries, o.retries)
	case o.timeout < 0:
		return nil, usagef("--timeout must not be negative")
	case o.include && format == "json":
		return nil, usagef("-i/--include writes headers, which are not JSON: leave out -o json")
	case o.ociSession != "" && !o.oci:
		return nil, usagef("--oci-session names the OCI session of --oci: add --oci")
	case o.paginate && o.include:
		return nil, usagef("--paginate merges several answers into one document, so -i/--include has no single status and headers to show")
	}
	if o.method == "" {
		o.method = http.MethodGet
		if o.dataSet || o.jsonSet {
			o.method = http.MethodPost
		}
	}
	if err := fetch.CheckMethod(o.method); err != nil {
		return nil, usagef("-X/--method: %v", err)
	}
	if o.paginate && (o.method != http.MethodGet || o.dataSet || o.jsonSet) {
		return nil, usagef("--paginate follows SCIM paging of GET requests: leave out -X, --data and --json")
	}
	if o.jq == "" {
		return nil, nil
	}
	return compileJQ(o.jq)
}

// header builds the request headers: idcsctl's defaults, replaced by the
// person's -H of the same name. A Host header names the virtual host.
func (o *fetchOptions) header() (http.Header, string, error) {
	h := http.Header{}
	h.Set("User-Agent", "idcsctl/"+version)
	h.Set("Accept", "*/*")
	switch {
	case o.jsonSet:
		h.Set("Content-Type", "application/json")
		h.Set("Accept", "application/json")
	case o.dataSet:
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	given := map[string]bool{}
	host := ""
	for _, raw := range o.headers {
		name, value, err := fetch.ParseHeader(raw)
		if err != nil {
			return nil, "", usagef("-H: %v", err)
		}
		switch name {
		case "Authorization":
			return nil, "", usagef("-H: fetch sends the profile's token in the Authorization header; to send other credentials, use curl")
		case "Host":
			host = value
			continue
		}
		if !given[name] {
			h.Del(name)
			given[name] = true
		}
		h.Add(name, value)
	}
	return h, host, nil
}

// checkHost applies the host policy and, when it refuses, says which
// setting would allow the host.
func (a *app) checkHost(p *config.Resolved, domain, u *url.URL, flagHosts []string) error {
	policy := fetch.NewPolicy(domain)
	for _, h := range p.AllowedHosts {
		if err := policy.Allow(h); err != nil {
			return usagef("allowed_hosts of profile %q: %v", p.Name, err)
		}
	}
	for _, h := range flagHosts {
		if err := policy.Allow(h); err != nil {
			return usagef("--allow-host: %v", err)
		}
	}
	err := policy.Check(u)
	var he *fetch.HostError
	if !errors.As(err, &he) {
		return err
	}
	if he.Insecure {
		return &usageError{err}
	}
	where := "the profile's allowed_hosts setting"
	if path, perr := a.configPath(); perr == nil {
		where = fmt.Sprintf("allowed_hosts of [profiles.%s] in %s", p.Name, path)
	}
	return usagef("refusing to send the token of profile %q to %s: it goes only to the profile's domain (%s) and the hosts of its allowed_hosts setting. "+
		"To allow this host, add %q to %s, or pass --allow-host %s for this call", p.Name, he.Host, domain, he.Host, where, he.Host)
}

// doFetch sends the request (every page of it with --paginate) and writes
// the answer.
func (a *app) doFetch(ctx context.Context, c *fetch.Client, plan *fetchPlan, o *fetchOptions) error {
	if o.paginate {
		paginate := c.Paginate
		if o.oci {
			paginate = c.PaginateOCI
		}
		doc, failed, err := paginate(ctx, plan.req)
		if err != nil {
			return err
		}
		if failed != nil {
			return a.writeResponse(ctx, failed, plan, o)
		}
		return a.writeOutput(o, func(w io.Writer, pretty bool) error {
			return writeDocument(ctx, w, doc, plan.jq, pretty)
		})
	}
	resp, err := c.Do(ctx, plan.req)
	if err != nil {
		return err
	}
	return a.writeResponse(ctx, resp, plan, o)
}

// writeResponse writes one answer and turns its status into the exit code.
func (a *app) writeResponse(ctx context.Context, resp *http.Response, plan *fetchPlan, o *fetchOptions) error {
	defer resp.Body.Close()
	ok := resp.StatusCode < 400
	if ok && a.global.output == "json" && plan.jq == nil && plan.req.Method != http.MethodHead && !isJSON(resp) {
		return fmt.Errorf("%s %s answered %s, not JSON; leave out -o json to get the body as it is",
			plan.req.Method, shownURL(plan.req.URL), describeType(resp))
	}
	// An error answer is passed through as it is, and kept in part: its
	// last byte, and its beginning, which may say why.
	body := &errorBody{}
	err := a.writeOutput(o, func(w io.Writer, pretty bool) error {
		if !ok {
			body.w = w
			w = body
		}
		if o.include {
			if err := writeHead(w, resp); err != nil {
				return err
			}
		}
		switch {
		case plan.req.Method == http.MethodHead:
			return nil
		case ok && plan.jq != nil:
			return runJQ(ctx, w, plan.jq, resp.Body, pretty)
		case pretty && isJSON(resp):
			return writePretty(w, resp.Body)
		}
		_, err := io.Copy(w, resp.Body)
		return err
	})
	if err != nil {
		return err
	}
	switch {
	case fetch.TokenRejected(resp) && resp.Request != nil && resp.Request.Header.Get("Authorization") != "":
		return &session.LoginRequiredError{Profile: plan.profile.Name,
			Reason: fmt.Sprintf("%s rejected the access token of profile %q even after a refresh", resp.Request.URL.Host, plan.profile.Name)}
	case !ok:
		if body.n > 0 && body.last != '\n' && (o.outputFile == "" || o.outputFile == "-") && a.deps.StdoutIsTerminal {
			// On a terminal, idcsctl's line would run on from the body's.
			fmt.Fprintln(a.deps.Stderr)
		}
		err := fmt.Errorf("%s %s: %w", plan.req.Method, shownURL(resp.Request.URL), &statusError{status: resp.StatusCode})
		if scope, lacks := fetch.InsufficientScope(resp, body.head); lacks {
			return failWith(err, "", scopeFix(plan.profile, scope, resp.Request.URL.Path))
		}
		return err
	}
	return nil
}

// errorBody passes an error answer through to w and keeps its last byte
// and its first 64 KiB.
type errorBody struct {
	w    io.Writer
	head []byte
	last byte
	n    int64
}

func (b *errorBody) Write(p []byte) (int, error) {
	n, err := b.w.Write(p)
	if n > 0 {
		b.last = p[n-1]
		b.n += int64(n)
		if room := 64<<10 - len(b.head); room > 0 {
			b.head = append(b.head, p[:min(n, room)]...)
		}
	}
	return n, err
}

// writeOutput runs write on stdout or on the -O file, which is created
// only now that there is an answer to put in it.
func (a *app) writeOutput(o *fetchOptions, write func(w io.Writer, pretty bool) error) error {
	if o.outputFile == "" || o.outputFile == "-" {
		if err := write(a.deps.Stdout, a.deps.StdoutIsTerminal); err != nil {
			return fmt.Errorf("write the answer: %w", err)
		}
		return nil
	}
	f, err := os.OpenFile(o.outputFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("create the output file: %w", err)
	}
	if err := write(f, false); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", o.outputFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", o.outputFile, err)
	}
	return nil
}

// writeHead writes the status line and headers as curl -i does.
func writeHead(w io.Writer, resp *http.Response) error {
	if _, err := fmt.Fprintf(w, "%s %s\r\n", resp.Proto, resp.Status); err != nil {
		return err
	}
	if err := resp.Header.Write(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\r\n")
	return err
}

// writeDocument writes a JSON document made by idcsctl (merged pages):
// filtered, indented for a terminal, else compact on one line.
func writeDocument(ctx context.Context, w io.Writer, doc []byte, code *gojq.Code, pretty bool) error {
	if code != nil {
		return runJQ(ctx, w, code, bytes.NewReader(doc), pretty)
	}
	if pretty {
		return writePretty(w, bytes.NewReader(doc))
	}
	if _, err := w.Write(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// writePretty indents a JSON body for a person at a terminal. A body that
// is not JSON after all, or too large to hold, is written as it came.
func writePretty(w io.Writer, r io.Reader) error {
	buf, err := io.ReadAll(io.LimitReader(r, maxPretty+1))
	if err != nil {
		return err
	}
	if len(buf) <= maxPretty {
		var out bytes.Buffer
		if json.Indent(&out, bytes.TrimSpace(buf), "", "  ") == nil {
			out.WriteByte('\n')
			_, err := w.Write(out.Bytes())
			return err
		}
	}
	if _, err := w.Write(buf); err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}

// isJSON reports whether the answer says it is JSON: application/json or
// a +json type such as IDCS's application/scim+json.
func isJSON(resp *http.Response) bool {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func describeType(resp *http.Response) string {
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no Content-Type"
}

// shownURL is a URL for a message: without its query, which may hold
// secrets.
func shownURL(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// withHeaderTimeout lets the server take up to d before its first byte,
// when --timeout allows more than the client's usual wait.
func withHeaderTimeout(rt http.RoundTripper, d time.Duration) http.RoundTripper {
	switch t := rt.(type) {
	case *http.Transport:
		if d > t.ResponseHeaderTimeout && t.ResponseHeaderTimeout > 0 {
			c := t.Clone()
			c.ResponseHeaderTimeout = d
			return c
		}
	case *debugTransport:
		return &debugTransport{base: withHeaderTimeout(t.base, d), w: t.w, now: t.now}
	}
	return rt
}
