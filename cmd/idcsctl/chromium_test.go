package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/idcsctl/idcsctl/internal/testenv"
)

// chromiumBinary is Debian's Chromium, which .ci/run installs.
const chromiumBinary = "/usr/bin/chromium"

const (
	// envChromiumHandoff is where chromium-open hands the sign-in URL over
	// to the test that drives Chromium.
	envChromiumHandoff = "CHROMIUM_HANDOFF"
	// envScreenshotDir keeps the screenshots of the Chromium scripts in a
	// folder of one's choosing; by default they go to a temporary folder.
	envScreenshotDir = "IDCSCTL_SCREENSHOT_DIR"
)

// TestScriptsChromium runs testdata/script-chromium: the built idcsctl
// opens the emulator's sign-in page in a real headless Chromium through
// BROWSER, the test types the user name and password like a person, and
// Chromium carries the code to idcsctl's loopback callback.
func TestScriptsChromium(t *testing.T) {
	if why := chromiumMissing(); why != "" {
		testenv.SkipOrFail(t, errors.New(why))
	}
	browser := launchChromium(t)
	p := scriptParams(t, "testdata/script-chromium", nil)
	emulatorSetup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		if err := emulatorSetup(e); err != nil {
			return err
		}
		return setupChromiumHandoff(e)
	}
	p.Cmds["chromium"] = cmdChromium(browser)
	testscript.Run(t, p)
}

// chromiumMissing says why Chromium cannot run here, or "" when it can.
func chromiumMissing() string {
	if _, err := os.Stat(chromiumBinary); err != nil {
		return "Chromium is not installed at " + chromiumBinary + ": apt-get install chromium"
	}
	return ""
}

// startChromiumIfInstalled launches Chromium for a test where only some
// scripts need it; it returns nil when Chromium is missing, and those
// scripts skip on [!chromium]. In CI a missing Chromium fails the test.
func startChromiumIfInstalled(t *testing.T) *chromium {
	t.Helper()
	if why := chromiumMissing(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true, so this is a failure, not a skip)", why)
		}
		t.Logf("%s; the scripts that need it skip", why)
		return nil
	}
	return launchChromium(t)
}

// chromiumCondition gives scripts the condition [chromium].
func chromiumCondition(b *chromium) func(string) (bool, error) {
	return func(cond string) (bool, error) {
		if cond == "chromium" {
			return b != nil, nil
		}
		return false, fmt.Errorf("unknown condition %q", cond)
	}
}

// chromium is one headless Chromium shared by the scripts of a test. Each
// script gets a tab in a browser context of its own, a private window kept
// open for the whole script: its sign-ins share cookies (the domain's
// session), and scripts running in parallel share none.
type chromium struct {
	ctx   context.Context // the browser's; tabs are its children
	shots string          // where screenshots go
}

// launchChromium starts Chromium with a fresh profile and stops it when the
// test ends.
func launchChromium(t *testing.T) *chromium {
	t.Helper()
	profile := t.TempDir()
	shots := os.Getenv(envScreenshotDir)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumBinary),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1024, 768),
		chromedp.CombinedOutput(out),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Registered after the profile's TempDir, so Chromium has exited before
	// its profile is removed.
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// The first Do starts the browser and ties its life to the context it
	// is given, so it gets the browser's own context and the wait for it is
	// bounded here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start Chromium: %v\nChromium said:\n%s", err, out.tail(2000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Chromium did not start within 30s\nChromium said:\n%s", out.tail(2000))
	}
	t.Logf("Chromium screenshots go to %s (set %s to keep them)", shots, envScreenshotDir)
	return &chromium{ctx: ctx, shots: shots}
}

// lockedBuffer collects Chromium's output, which it writes from another
// goroutine, for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// handoff receives the URLs chromium-open is given, for one script, and
// holds the script's Chromium tab.
type handoff struct {
	urls chan string

	mu       sync.Mutex
	tabCtx   context.Context // the script's tab; nil until first used
	closeTab func()
	commands int // chromium commands run so far
}

// setupChromiumHandoff gives a script its own handoff, so parallel scripts
// never drive each other's sign-in.
func setupChromiumHandoff(e *testscript.Env) error {
	h := &handoff{urls: make(chan string, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if r.Method != http.MethodPost || err != nil {
			http.Error(w, "POST the URL to open", http.StatusBadRequest)
			return
		}
		select {
		case h.urls <- string(body):
			w.WriteHeader(http.StatusNoContent)
		default:
			http.Error(w, "too many URLs that nobody opened", http.StatusServiceUnavailable)
		}
	}))
	e.Defer(srv.Close)
	e.Defer(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.closeTab != nil {
			h.closeTab()
		}
	})
	e.Values["handoff"] = h
	e.Vars = append(e.Vars, envChromiumHandoff+"="+srv.URL)
	return nil
}

// chromiumOpenMain is the program BROWSER names in the Chromium scripts:
// like `chromium URL` on a desktop, it hands the URL to the running
// browser, here through the test that drives it, and returns at once.
func chromiumOpenMain() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: chromium-open URL")
		os.Exit(2)
	}
	if err := handOff(os.Getenv(envChromiumHandoff), os.Args[len(os.Args)-1]); err != nil {
		fmt.Fprintln(os.Stderr, "chromium-open:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func handOff(to, raw string) error {
	if to == "" {
		return errors.New(envChromiumHandoff + " is not set: run me from a Chromium script")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, strings.NewReader(raw))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("the test answered %s", resp.Status)
	}
	return nil
}

// cmdChromium drives Chromium through what a script started:
//
//	chromium signin USER PASSWORD   the sign-in page must ask for the password
//	chromium resume                 the domain's session signs in, no form shown
//	chromium signout                idcsctl's sign-out address leads to its "Signed out" page
//
// Each waits for the URL idcsctl handed to chromium-open and loads it in the
// script's own tab. signin takes a screenshot of the sign-in page, types the
// user name and password into #username and #password, clicks #signin, and
// waits until Chromium shows idcsctl's "Signed in" page at the redirect URI;
// resume waits for that page and fails if the sign-in form shows instead;
// signout waits for idcsctl's "Signed out" page at the post-logout redirect
// URI, /signed-out. Each takes a screenshot of the page it ends on.
func cmdChromium(b *chromium) func(ts *testscript.TestScript, neg bool, args []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		usage := "usage: chromium signin USER PASSWORD | chromium resume | chromium signout"
		if neg || len(args) == 0 {
			ts.Fatalf("%s", usage)
		}
		switch {
		case args[0] == "signin" && len(args) == 3, args[0] == "resume" && len(args) == 1, args[0] == "signout" && len(args) == 1:
		default:
			ts.Fatalf("%s", usage)
		}
		if b == nil {
			ts.Fatalf("Chromium is not running; guard the script with [!chromium] skip")
		}
		h := ts.Value("handoff").(*handoff)
		var raw string
		select {
		case raw = <-h.urls:
		case <-time.After(20 * time.Second):
			ts.Fatalf("no URL was handed to Chromium within 20s; does the script set BROWSER=chromium-open?")
		}
		tab, err := h.tab(b)
		ts.Check(err)
		// Screenshots are named after the script, and after the command's
		// place in it from the second command on.
		h.mu.Lock()
		h.commands++
		prefix := filepath.Join(b.shots, ts.Name())
		if h.commands > 1 {
			prefix += fmt.Sprintf("-%d", h.commands)
		}
		h.mu.Unlock()
		var shots []string
		switch args[0] {
		case "signin":
			shots, err = b.signIn(tab, raw, args[1], args[2], prefix)
		case "resume":
			shots, err = b.resume(tab, raw, prefix)
		case "signout":
			shots, err = b.signOut(tab, raw, prefix)
		}
		for _, s := range shots {
			ts.Logf("screenshot: %s", s)
		}
		ts.Check(err)
	}
}

// tab is the script's tab, opened on first use in a browser context of the
// script's own, like a private window kept open for the whole script: its
// cookies (the domain's session) last from one command to the next, and no
// other script sees them. It closes when the script ends.
func (h *handoff) tab(b *chromium) (context.Context, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tabCtx != nil {
		return h.tabCtx, nil
	}
	tab, closeTab := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	// The first Do on a context opens its tab and ties the tab's session to
	// the context it is given, so it gets the tab's own context, and the
	// wait for it is bounded here instead.
	opened := make(chan error, 1)
	go func() { opened <- chromedp.Do(tab) }()
	select {
	case err := <-opened:
		if err != nil {
			closeTab()
			return nil, fmt.Errorf("open a private Chromium tab: %w", err)
		}
	case <-time.After(15 * time.Second):
		closeTab()
		return nil, errors.New("Chromium did not open a tab within 15s")
	}
	h.tabCtx, h.closeTab = tab, closeTab
	return tab, nil
}

// chromiumPage drives one page load in a tab: bounded steps, screenshots, and on
// failure a screenshot and the page Chromium shows.
type chromiumPage struct {
	b      *chromium
	tab    context.Context
	prefix string
	shots  []string
}

func (p *chromiumPage) shoot(name string) error {
	ctx, cancel := context.WithTimeout(p.tab, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", name, err)
	}
	path := p.prefix + "-" + name + ".png"
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return err
	}
	p.shots = append(p.shots, path)
	return nil
}

// step runs actions with a bound of their own, so that on failure the tab
// still answers what it shows.
func (p *chromiumPage) step(what string, actions ...chromedp.Action[chromedp.Void]) error {
	sctx, scancel := context.WithTimeout(p.tab, 15*time.Second)
	defer scancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		return fmt.Errorf("%s: %w; Chromium shows %s", what, err, p.b.where(p.tab))
	}
	return nil
}

func (p *chromiumPage) fail(err error) ([]string, error) {
	_ = p.shoot("failure")
	return p.shots, err
}

// landed checks that the tab shows idcsctl's page titled title at the
// scheme, host and path of want, and takes a screenshot named shot.
func (p *chromiumPage) landed(want *url.URL, title, shot string) ([]string, error) {
	ctx, cancel := context.WithTimeout(p.tab, 15*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return p.fail(err)
	}
	at, err := url.Parse(loc)
	if err != nil || at.Scheme != want.Scheme || at.Host != want.Host || at.Path != want.Path {
		return p.fail(fmt.Errorf("the %q page is at %s, not at %s", title, p.b.where(p.tab), want))
	}
	got, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		return p.fail(err)
	}
	if got != title+" - idcsctl" {
		return p.fail(fmt.Errorf("the page is titled %q, want %q", got, title+" - idcsctl"))
	}
	if err := p.shoot(shot); err != nil {
		return p.shots, err
	}
	return p.shots, nil
}

// redirectOf is the redirect URI of a handed sign-in URL.
func redirectOf(raw string) (*url.URL, error) {
	authURL, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the handed URL cannot be parsed: %w", err)
	}
	redirect, err := url.Parse(authURL.Query().Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		return nil, errors.New("the handed URL has no redirect_uri")
	}
	return redirect, nil
}

// signIn runs one sign-in on the domain's form and returns the screenshots
// it took, named prefix-*.png.
func (b *chromium) signIn(tab context.Context, raw, user, password, prefix string) ([]string, error) {
	redirect, err := redirectOf(raw)
	if err != nil {
		return nil, err
	}
	p := &chromiumPage{b: b, tab: tab, prefix: prefix}
	if err := p.step("load the sign-in page",
		chromedp.Navigate(raw),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	); err != nil {
		return p.fail(err)
	}
	if err := p.shoot("signin"); err != nil {
		return p.shots, err
	}
	if err := p.step("sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("h1.ok")),
	); err != nil {
		return p.fail(err)
	}
	return p.landed(redirect, "Signed in", "signed-in")
}

// resume loads a sign-in URL that the domain's session is to answer without
// showing its form, and waits for idcsctl's "Signed in" page.
func (b *chromium) resume(tab context.Context, raw, prefix string) ([]string, error) {
	redirect, err := redirectOf(raw)
	if err != nil {
		return nil, err
	}
	p := &chromiumPage{b: b, tab: tab, prefix: prefix}
	if err := p.step("load the sign-in URL",
		chromedp.Navigate(raw),
		chromedp.WaitVisible(chromedp.CSS("h1.ok, #password")),
	); err != nil {
		return p.fail(err)
	}
	form, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector("#password") !== null`))
	if err != nil {
		return p.fail(err)
	}
	if form {
		return p.fail(errors.New("the domain showed its sign-in form, although this browser signed in before and its session should have answered"))
	}
	return p.landed(redirect, "Signed in", "resumed")
}

// signOut loads idcsctl's sign-out address, which sends Chromium to the
// domain's sign-out page, and waits until the domain sends it back to
// idcsctl's "Signed out" page.
func (b *chromium) signOut(tab context.Context, raw, prefix string) ([]string, error) {
	start, err := url.Parse(raw)
	if err != nil || start.Host == "" {
		return nil, fmt.Errorf("the handed sign-out URL %q cannot be parsed", raw)
	}
	p := &chromiumPage{b: b, tab: tab, prefix: prefix}
	if err := p.step("sign out", chromedp.Navigate(raw), chromedp.WaitVisible(chromedp.CSS("h1.ok"))); err != nil {
		return p.fail(err)
	}
	want := &url.URL{Scheme: start.Scheme, Host: start.Host, Path: "/signed-out"}
	return p.landed(want, "Signed out", "signed-out")
}

// where says which page a tab shows, without the query, which may hold a
// code or a state.
func (b *chromium) where(tab context.Context) string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown page)"
	}
	title, _ := chromedp.Run(ctx, chromedp.Title())
	if u, err := url.Parse(loc); err == nil {
		loc = u.Scheme + "://" + u.Host + u.Path
	}
	return fmt.Sprintf("%s titled %q", loc, title)
}
