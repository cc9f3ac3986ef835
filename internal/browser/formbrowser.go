package browser

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// maxFormSteps bounds how many pages a visit submits before it gives up, so
// a page that keeps asking cannot make it loop forever.
const maxFormSteps = 5

// maxPage bounds what a visit reads of one page.
const maxPage = 1 << 20

// FormBrowser is the stand-in for a person's browser where there is no
// person: `idcsctl demo` and tests. Given to auth.LoginOptions.OpenBrowser
// (as fb.Open), it visits the sign-in URL like a browser would, in the
// background: it keeps cookies, finds the sign-in form on each page, fills
// the inputs that ask for a user name and a password, keeps hidden inputs,
// presses the first submit button, and follows redirects until it reaches
// the application's redirect URI (the loopback callback).
//
// It knows nothing of a particular provider's pages; any plain HTML form
// with a password input works, which is what the IDCS emulator serves. It
// runs no JavaScript.
type FormBrowser struct {
	// HTTP sends the requests; each visit uses a copy with a fresh cookie
	// jar, like a private window. nil = a client with a 30-second timeout.
	HTTP *http.Client
	// Jar, when set, is the cookie jar of every visit instead, as one
	// browser profile keeps cookies: a provider's browser session then
	// outlives a sign-in, and the next one may skip the form.
	Jar      http.CookieJar
	Username string
	Password string
	// Done, when set, is called once per Open from the visit's goroutine:
	// with nil when the visit reached the redirect URI and the application
	// answered 2xx or 3xx, else with what went wrong. `idcsctl demo` uses it
	// to stop waiting for a callback that will never come.
	Done func(err error)

	visits sync.WaitGroup
	mu     sync.Mutex
	errs   []error
}

// Open starts a visit of rawURL in the background and returns at once, as a
// real browser does; only a URL no browser would open is refused here.
// Failures reach Done and Wait.
func (b *FormBrowser) Open(rawURL string) error {
	if _, err := pageURL(rawURL); err != nil {
		return err
	}
	b.visits.Go(func() {
		err := b.Visit(context.Background(), rawURL)
		if err != nil {
			b.mu.Lock()
			b.errs = append(b.errs, err)
			b.mu.Unlock()
		}
		if b.Done != nil {
			b.Done(err)
		}
	})
	return nil
}

// Wait blocks until every visit Open started has ended and returns their
// failures joined, or nil.
func (b *FormBrowser) Wait() error {
	b.visits.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return errors.Join(b.errs...)
}

// Visit is Open in the foreground: it returns when the visit ends. When
// rawURL carries a redirect_uri (an authorization request), the visit
// succeeds on reaching it; otherwise (a device verification page, say) it
// succeeds on the first page without a password form after signing in, or
// on a first page (after redirects) that has no form at all: a sign-out.
func (b *FormBrowser) Visit(ctx context.Context, rawURL string) error {
	start, err := pageURL(rawURL)
	if err != nil {
		return err
	}
	var target *url.URL
	if ru := start.Query().Get("redirect_uri"); ru != "" {
		if target, err = url.Parse(ru); err != nil {
			return fmt.Errorf("form browser: the sign-in URL's redirect_uri cannot be parsed: %w", err)
		}
	}
	client, err := b.client()
	if err != nil {
		return err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start.String(), nil)
	if err != nil {
		return fmt.Errorf("form browser: %w", err)
	}
	signedIn := false
	for step := 0; ; step++ {
		pg, err := fetch(client, req)
		if err != nil {
			return err
		}
		at := pg.url
		if target != nil && sameEndpoint(at, target) {
			if pg.status >= 400 {
				return fmt.Errorf("form browser: the application's callback %s answered %d: %s", where(at), pg.status, pg.summary())
			}
			return nil
		}
		// Like a browser, a page with a form is used whatever its status:
		// providers answer a refused password with 401 and the form again.
		form := pg.signInForm()
		if form == nil {
			switch {
			case pg.status >= 400:
				return fmt.Errorf("form browser: %s answered %d: %s", where(at), pg.status, pg.summary())
			case target == nil && (signedIn || step == 0):
				return nil
			}
			return fmt.Errorf("form browser: %s has no sign-in form and is not the redirect URI: %s", where(at), pg.summary())
		}
		if signedIn && form.asksPassword() {
			return fmt.Errorf("form browser: the sign-in was refused (wrong user name or password?): %s", pg.summary())
		}
		if step >= maxFormSteps {
			return fmt.Errorf("form browser: gave up after %d forms at %s", maxFormSteps, where(at))
		}
		signedIn = signedIn || form.asksPassword()
		if req, err = form.submission(ctx, at, b.Username, b.Password); err != nil {
			return err
		}
	}
}

// client is a copy of the configured client with a cookie jar of its own.
func (b *FormBrowser) client() (*http.Client, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	if b.HTTP != nil {
		copied := *b.HTTP
		c = &copied
	}
	if b.Jar != nil {
		c.Jar = b.Jar
		return c, nil
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("form browser: %w", err)
	}
	c.Jar = jar
	return c, nil
}

// pageURL accepts what a browser would load from a sign-in flow.
func pageURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("form browser: %q is not an http(s) URL", where(u))
	}
	return u, nil
}

// where names a page without its query, which may hold a code or a state.
func where(u *url.URL) string {
	if u == nil {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

func sameEndpoint(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) && a.EscapedPath() == b.EscapedPath()
}

// page is one loaded page.
type page struct {
	url    *url.URL
	status int
	title  string
	alert  string
	forms  []*form
}

func fetch(client *http.Client, req *http.Request) (*page, error) {
	resp, err := client.Do(req)
	if err != nil {
		// The error names the URL, whose query may hold a code.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("form browser: loading %s: %w", where(req.URL), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return nil, fmt.Errorf("form browser: reading %s: %w", where(resp.Request.URL), err)
	}
	pg := &page{url: resp.Request.URL, status: resp.StatusCode}
	if strings.Contains(resp.Header.Get("Content-Type"), "html") {
		parseHTML(body, pg)
	}
	return pg, nil
}

// summary says what the page shows, for error messages.
func (p *page) summary() string {
	parts := []string{}
	if p.title != "" {
		parts = append(parts, fmt.Sprintf("page %q", p.title))
	}
	if p.alert != "" {
		parts = append(parts, fmt.Sprintf("message %q", p.alert))
	}
	if len(parts) == 0 {
		return "no title or message"
	}
	return strings.Join(parts, ", ")
}

// signInForm is the form with a password input, else the only form.
func (p *page) signInForm() *form {
	for _, f := range p.forms {
		if f.asksPassword() {
			return f
		}
	}
	if len(p.forms) == 1 {
		return p.forms[0]
	}
	return nil
}

// form is an HTML form as far as submitting it goes.
type form struct {
	action, method string
	fields         []field
	submit         *field // the first submit button, pressed as Enter would
	submitSeen     bool
}

type field struct{ name, value, kind string }

func (f *form) asksPassword() bool {
	for _, fl := range f.fields {
		if fl.kind == "password" {
			return true
		}
	}
	return false
}

// isUsernameField reports whether an input asks for the user name.
func isUsernameField(fl field) bool {
	if fl.kind == "email" {
		return true
	}
	if fl.kind != "text" {
		return false
	}
	switch strings.ToLower(fl.name) {
	case "username", "user_name", "user", "login", "email", "userid", "user_id":
		return true
	}
	return false
}

// submission builds the request that submitting the form sends.
func (f *form) submission(ctx context.Context, base *url.URL, username, password string) (*http.Request, error) {
	vals := url.Values{}
	for _, fl := range f.fields {
		switch {
		case fl.kind == "password":
			vals.Add(fl.name, password)
		case isUsernameField(fl):
			vals.Add(fl.name, username)
		default:
			vals.Add(fl.name, fl.value)
		}
	}
	if f.submit != nil {
		vals.Add(f.submit.name, f.submit.value)
	}
	action, err := base.Parse(f.action)
	if err != nil {
		return nil, fmt.Errorf("form browser: the form's action at %s cannot be parsed", where(base))
	}
	if strings.EqualFold(f.method, "post") {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
		if err != nil {
			return nil, fmt.Errorf("form browser: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
	action.RawQuery = vals.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("form browser: %w", err)
	}
	return req, nil
}

// HTML is read with encoding/xml in its documented HTML mode (not strict,
// HTML auto-closing and entities), which is enough for server-rendered
// forms. Its two gaps are patched first: raw-text elements (script, style)
// are dropped, and a '<' that starts no tag is escaped. The patterns are
// compiled per page rather than at start-up, where every idcsctl command
// would pay for them.
const (
	rawTextElement = `(?is)<(?:script|style)\b[^>]*>.*?</(?:script|style)\s*>`
	strayLessThan  = `<([^A-Za-z/!?]|$)`
)

// parseHTML fills the page's title, first alert text and forms. A page the
// decoder cannot finish keeps what was read up to the problem.
func parseHTML(body []byte, pg *page) {
	body = regexp.MustCompile(rawTextElement).ReplaceAll(body, nil)
	body = regexp.MustCompile(strayLessThan).ReplaceAll(body, []byte("&lt;$1"))
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity

	var (
		cur        *form
		inTitle    bool
		alertDepth int // > 0 while inside the first alert element
		alert      strings.Builder
		depth      int
	)
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := strings.ToLower(t.Name.Local)
			at := attrs(t.Attr)
			switch name {
			case "title":
				inTitle = true
			case "form":
				cur = &form{action: at["action"], method: at["method"]}
				pg.forms = append(pg.forms, cur)
			case "input":
				if cur != nil {
					cur.addInput(at)
				}
			case "button":
				if cur != nil {
					kind := strings.ToLower(at["type"])
					if kind == "" || kind == "submit" {
						cur.addSubmit(at)
					}
				}
			}
			if alertDepth == 0 && pg.alert == "" && isAlert(at) {
				alertDepth = depth
			}
		case xml.EndElement:
			switch strings.ToLower(t.Name.Local) {
			case "title":
				inTitle = false
			case "form":
				cur = nil
			}
			if alertDepth == depth {
				alertDepth = 0
				pg.alert = squash(alert.String())
			}
			depth--
		case xml.CharData:
			if inTitle {
				pg.title += string(t)
			}
			if alertDepth > 0 {
				alert.Write(t)
			}
		}
	}
	pg.title = squash(pg.title)
}

func (f *form) addInput(at map[string]string) {
	kind := strings.ToLower(at["type"])
	if kind == "" {
		kind = "text"
	}
	name, value := at["name"], at["value"]
	switch kind {
	case "submit", "image":
		f.addSubmit(at)
		return
	case "button", "reset", "file":
		return
	case "checkbox", "radio":
		if _, checked := at["checked"]; !checked {
			return
		}
		if value == "" {
			value = "on"
		}
	}
	if name == "" {
		return
	}
	if _, disabled := at["disabled"]; disabled {
		return
	}
	f.fields = append(f.fields, field{name: name, value: value, kind: kind})
}

func (f *form) addSubmit(at map[string]string) {
	if f.submitSeen {
		return
	}
	f.submitSeen = true
	if at["name"] != "" {
		f.submit = &field{name: at["name"], value: at["value"], kind: "submit"}
	}
}

// isAlert recognises the element a page shows its error in.
func isAlert(at map[string]string) bool {
	if strings.EqualFold(at["role"], "alert") || strings.EqualFold(at["id"], "error") {
		return true
	}
	for c := range strings.FieldsSeq(at["class"]) {
		if strings.EqualFold(c, "error") || strings.EqualFold(c, "alert") {
			return true
		}
	}
	return false
}

func attrs(list []xml.Attr) map[string]string {
	m := make(map[string]string, len(list))
	for _, a := range list {
		m[strings.ToLower(a.Name.Local)] = a.Value
	}
	return m
}

// squash collapses whitespace and cuts long text for a one-line message.
func squash(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
