package main

// The one place that classifies failures and words them (DESIGN.md,
// "Failures"). Every command returns its error; run hands it to report,
// which picks the exit code and writes the single stderr line: what
// happened, in the person's terms, and the one command or setting that
// fixes it. Commands never print "idcsctl: ..." nor choose an exit code.
//
// How a command words a failure:
//
//   - a mistake in what the person asked for (a flag, the config, a URL, a
//     profile name): usagef("...; pass --x") — exit 2;
//   - no usable sign-in: &session.LoginRequiredError{Profile, Reason} —
//     exit 4, the line ends with the `idcsctl login -p NAME` to run;
//   - the person stopped a sign-in, or it ran out of time: an error wrapping
//     auth.ErrCancelled or auth.ErrTimeout — exit 3;
//   - anything else it knows the fix of: failWith(cause, what, fix), which
//     keeps the cause's class (exit 1 unless the cause says otherwise);
//   - a network or provider error from internal/auth, internal/session,
//     internal/fetch: return it wrapped with %w, or inside failWith to put
//     the command's own words first. report recognises a request that got
//     no answer (refused, DNS, TLS, proxy, no answer in time) and says
//     which URL, why, and what to try, never Go's dial text alone.
//
// A warning that does not end the command words its cause with explain,
// so that a warning and a failure about the same cause read the same.
// docs/exit-codes.md is tested against exitCodes (TestExitCodesDocMatches).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/idcsctl/idcsctl/internal/auth"
	"github.com/idcsctl/idcsctl/internal/config"
	"github.com/idcsctl/idcsctl/internal/oci"
	"github.com/idcsctl/idcsctl/internal/session"
)

// Exit codes are a contract with scripts; docs/exit-codes.md lists them.
const (
	exitOK            = 0
	exitError         = 1
	exitUsage         = 2
	exitCancelled     = 3
	exitLoginRequired = 4
	exitHTTPStatus    = 5
)

// exitCodes is the taxonomy: each class of failure, what it means and what
// to do, as docs/exit-codes.md's table says (a test holds them together).
var exitCodes = []struct {
	code    int
	meaning string
	remedy  string
}{
	{exitOK, "success", ""},
	{exitError, "any other error", "read the message: it says what happened and what to do next"},
	{exitUsage, "usage", "fix the command line or the config"},
	{exitCancelled, "sign-in cancelled or timed out", "run `idcsctl login` again"},
	{exitLoginRequired, "sign-in required", "run `idcsctl login` (the message names the profile)"},
	{exitHTTPStatus, "`fetch` got HTTP 400 or more", "the response body is still written to stdout (or the output file)"},
}

// usageError marks an error in what the person asked for (a flag, the
// config, a URL), which exits 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef builds a usageError.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// statusError is returned by fetch when the server answered 400 or more;
// the body has been written already.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("the server answered HTTP %d", e.status) }

// exitStatus passes on the status of a command idcsctl ran for the person
// (idcsctl exec): its exit code, or 128 plus the signal that ended it. Its
// line is only for a command that could not run (126, 127, as shells say
// it); a command's own failure was the command's to tell.
type exitStatus struct {
	code int
	err  error // why the command did not run; nil when it ran
}

func (e *exitStatus) Error() string {
	if e.err == nil {
		return fmt.Sprintf("the command ended with status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitStatus) Unwrap() error { return e.err }

// errSilent wraps errors whose message has already been shown, such as
// doctor's failed checks: report writes no line for them.
var errSilent = errors.New("silent")

// failure is a cause worded by the command that met it: what happened and
// the one command or setting that fixes it. Its class is its cause's.
type failure struct {
	what  string // what happened, in the person's terms; "" shows the cause
	fix   string // what to do; "" when what says it, or the cause's own
	cause error
}

// failWith words cause in the command's terms: what happened and what
// fixes it. Either may be "": the cause's own text, or the fix report
// finds for it (a network failure's), then stands in.
func failWith(cause error, what, fix string) error {
	return &failure{what: what, fix: fix, cause: cause}
}

func (e *failure) Error() string { return describe(e) }
func (e *failure) Unwrap() error { return e.cause }

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var (
		uerr *usageError
		cerr *config.Error
		serr *statusError
		xerr *exitStatus
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &xerr):
		return xerr.code
	case errors.As(err, &serr):
		return exitHTTPStatus
	case errors.As(err, &uerr), errors.As(err, &cerr), errors.Is(err, auth.ErrInsecureURL):
		return exitUsage
	case errors.Is(err, session.ErrLoginRequired):
		return exitLoginRequired
	case errors.Is(err, auth.ErrCancelled), errors.Is(err, context.Canceled):
		return exitCancelled
	case errors.Is(err, auth.ErrNoTokenAnswer):
		// The person did sign in; the provider did not answer.
		return exitError
	case isUnreachable(err):
		// A provider that does not answer is not a person who did not
		// sign in, even while a sign-in waits on it.
		return exitError
	case errors.Is(err, auth.ErrTimeout):
		return exitCancelled
	default:
		return exitError
	}
}

// report writes err's line on w, unless it was shown already, and returns
// the exit code. Errors joined by errors.Join get a line each.
func report(w io.Writer, err error) int {
	code := exitCode(err)
	var xerr *exitStatus
	if err == nil || errors.Is(err, errSilent) || errors.As(err, &xerr) && xerr.err == nil {
		return code
	}
	for _, e := range splitJoined(err) {
		fmt.Fprintf(w, "idcsctl: %s\n", describe(e))
	}
	return code
}

// splitJoined returns the errors errors.Join joined, or err alone.
func splitJoined(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	errs := j.Unwrap()
	texts := make([]string, len(errs))
	for i, e := range errs {
		if e == nil {
			return []error{err} // errors.Join keeps no nil
		}
		texts[i] = e.Error()
	}
	// Only a plain join reads as its parts one per line; an error type of
	// ours with several causes (session.LoginRequiredError) has its own text.
	if len(errs) < 2 || strings.Join(texts, "\n") != err.Error() {
		return []error{err}
	}
	return errs
}

// describe is err's line, without the "idcsctl: " it is printed with. A
// domain that cannot be reached also gets the command that checks the rest
// of the setup.
func describe(err error) string {
	what, fix := explain(err)
	if isUnreachable(err) {
		fix += "; `idcsctl doctor` checks the whole setup"
	}
	if fix == "" {
		return what
	}
	return what + "; " + fix
}

// explain says what happened and what fixes it. A request that got no
// answer is named by its URL and cause, with what to try; a failure puts
// its command's words first; any other error says it itself.
func explain(err error) (what, fix string) {
	var f *failure
	if errors.As(err, &f) {
		what, fix = f.what, f.fix
		cwhat, cfix := explain(f.cause)
		switch {
		case what == "":
			what = cwhat
		case isUnreachable(f.cause):
			what += ": " + cwhat
		}
		if fix == "" {
			fix = cfix
		}
		return what, fix
	}
	if u, ok := unreachable(err); ok {
		return u.what(), u.fix
	}
	return err.Error(), ""
}

// noAnswer is a request that got no answer: where it went, why, and what
// to try, in the person's terms.
type noAnswer struct {
	url   string // the endpoint, without query or user information
	cause string
	fix   string
}

func (n noAnswer) what() string {
	if n.url == "" {
		return "no answer from the network: " + n.cause
	}
	return "cannot reach " + n.url + ": " + n.cause
}

// Fixes for requests that got no answer.
const (
	fixNetwork = "check the domain URL, the VPN and the proxy (HTTPS_PROXY, NO_PROXY)"
	fixDNS     = "check the domain URL for a typo; a private name needs the VPN that resolves it"
	fixProxy   = "check HTTPS_PROXY and NO_PROXY: the proxy must be up and reachable from here"
	fixTLS     = "if a proxy or a private CA signs the server's certificate, add your CA with --ca-file FILE (or ca_file in the profile)"
	fixSlow    = "check the VPN and the proxy; if the domain is only slow, raise the profile's timeout setting"
)

// isUnreachable reports whether err is a request that got no answer.
func isUnreachable(err error) bool {
	_, ok := unreachable(err)
	return ok
}

// unreachable finds, in err, a request that got no answer, and words why.
// It knows the causes people meet: a refused connection, a name DNS does
// not know, no route, a proxy that does not answer, a certificate this
// machine does not trust, a server that does not speak TLS, and no answer
// in time. An interrupted request (Ctrl-C) is none of these.
func unreachable(err error) (noAnswer, bool) {
	if err == nil || errors.Is(err, context.Canceled) {
		return noAnswer{}, false
	}
	var de *auth.DeadlineError
	if errors.As(err, &de) {
		return noAnswer{url: de.URL, cause: fmt.Sprintf("no complete answer within %s", de.Timeout), fix: fixSlow}, true
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return noAnswer{}, false
	}
	n := noAnswer{url: shownEndpoint(ue.URL), fix: fixNetwork}
	host := hostOf(ue.URL)
	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	switch {
	case errors.As(ue.Err, &opErr) && opErr.Op == "proxyconnect":
		n.cause, n.fix = "the proxy "+addrOf(opErr)+" does not answer ("+netCause(opErr.Err)+")", fixProxy
	case errors.As(ue.Err, &dnsErr) && dnsErr.IsNotFound:
		n.cause, n.fix = fmt.Sprintf("DNS knows no host %s", dnsErr.Name), fixDNS
	case errors.As(ue.Err, &dnsErr):
		n.cause, n.fix = fmt.Sprintf("the DNS lookup of %s failed (%s)", dnsErr.Name, dnsErr.Err), fixDNS
	case errors.As(ue.Err, &unknown):
		n.cause, n.fix = "its TLS certificate is signed by an authority this machine does not trust", fixTLS
	case errors.As(ue.Err, &hostname):
		n.cause, n.fix = fmt.Sprintf("its TLS certificate is not for %s", host), "check the domain URL; "+fixTLS
	case errors.As(ue.Err, &invalid):
		n.cause, n.fix = "its TLS certificate is not valid ("+certProblem(invalid)+")", "check the machine's clock; "+fixTLS
	case errors.As(ue.Err, &record), strings.Contains(ue.Err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http words the second case with errors.New alone.
		n.cause, n.fix = "it does not answer TLS (is it an http:// server, or a proxy in the way?)", "check the domain URL's scheme and port; "+fixNetwork
	case errors.As(ue.Err, &alert):
		n.cause = "the TLS handshake failed (" + alert.Error() + ")"
	case errors.Is(ue.Err, syscall.ECONNREFUSED):
		n.cause = fmt.Sprintf("the connection to %s was refused (nothing listens there)", host)
	case errors.Is(ue.Err, syscall.ENETUNREACH), errors.Is(ue.Err, syscall.EHOSTUNREACH):
		n.cause = fmt.Sprintf("no network route to %s (VPN off?)", host)
	case errors.Is(ue.Err, syscall.ECONNRESET), errors.Is(ue.Err, io.EOF), errors.Is(ue.Err, io.ErrUnexpectedEOF):
		n.cause = "the connection was closed before an answer came"
	case ue.Timeout() || errors.Is(ue.Err, os.ErrDeadlineExceeded) || errors.Is(ue.Err, context.DeadlineExceeded):
		n.cause, n.fix = "no answer in time", fixSlow
	case errors.As(ue.Err, &opErr):
		n.cause = netCause(opErr.Err)
	default:
		return noAnswer{}, false
	}
	return n, true
}

// netCause is a low-level network error without Go's "dial tcp ..." frame.
func netCause(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return netCause(opErr.Err)
	}
	return err.Error()
}

// addrOf is where a failed connection went: net/http's proxyconnect error
// names no address, the dial error it wraps does.
func addrOf(e *net.OpError) string {
	if e.Addr != nil {
		return e.Addr.String()
	}
	var inner *net.OpError
	if errors.As(e.Err, &inner) && inner != e {
		return addrOf(inner)
	}
	return "(unnamed)"
}

// certProblem says why a certificate is not valid.
func certProblem(e x509.CertificateInvalidError) string {
	switch e.Reason {
	case x509.Expired:
		return "expired, or not valid yet"
	case x509.NotAuthorizedToSign:
		return "signed by a certificate that may not sign others"
	case x509.IncompatibleUsage:
		return "not meant for a server"
	}
	return "refused by this machine"
}

// shownEndpoint is a request URL fit for a message: no query (it may hold
// a sign-in's state or a secret), no fragment, no user information.
func shownEndpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment, u.User, u.ForceQuery = "", "", nil, false
	return u.String()
}

// hostOf is the host:port a request URL names, the port filled in.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the server"
	}
	if u.Port() != "" {
		return u.Host
	}
	port := "443"
	if u.Scheme == "http" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// unknownCommand words cobra's "unknown command" error, whose text runs over
// several lines, as one usage line with the nearest command names.
func unknownCommand(name, parent string, commands []string) error {
	hint := ""
	if s := config.Suggest(name, commands); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usagef("unknown command %q for %q%s; `%s --help` lists the commands", name, parent, hint, parent)
}

// loginCommand is the login to run for profile, with flags: "idcsctl login"
// for the default profile, else with -p NAME, so that the hint works as it
// is copied.
func loginCommand(profile string, flags ...string) string {
	args := []string{"idcsctl", "login"}
	if profile != "" && profile != config.DefaultProfile {
		args = append(args, "-p", profile)
	}
	return strings.Join(append(args, flags...), " ")
}

// loginCommandLine is loginCommand quoted, as messages show commands.
func loginCommandLine(profile string, flags ...string) string {
	return "`" + loginCommand(profile, flags...) + "`"
}

// loginFix is the fix of a profile that needs a sign-in.
func loginFix(profile string) string {
	return "run " + loginCommandLine(profile)
}

// signInAttempt is what a sign-in was about, for the words of its failure.
type signInAttempt struct {
	file   *config.File
	p      *config.Resolved
	o      config.Overrides
	device bool
}

// again is the command that tries the sign-in again, quoted.
func (at signInAttempt) again() string {
	if at.device {
		return "`" + loginCommand(at.p.Name, "--device") + "`"
	}
	return "`" + loginCommand(at.p.Name) + "`"
}

// notStarted words a failure before the sign-in began (discovery, the
// device endpoint): only a domain that cannot be reached needs words.
func (at signInAttempt) notStarted(err error) error {
	if isUnreachable(err) {
		return failWith(err, "not signing in (no browser was opened, nothing was stored)", "")
	}
	return err
}

// failed words the errors a sign-in ends with, keeping their class: the
// person stopped it or let it run out (3), the domain needs the person to
// sign in on its page (4), the domain or the network failed (1).
func (at signInAttempt) failed(err error) error {
	var (
		ports   *auth.PortsInUseError
		refused *auth.AuthorizeRequestError
		pe      *auth.ProviderError
	)
	errors.As(err, &pe)
	again := at.again()
	switch {
	case errors.Is(err, auth.ErrNoTokenAnswer):
		return failWith(err, err.Error()+"; nothing was stored",
			"run "+again+" again, with a longer --timeout if the domain is only slow; `idcsctl doctor` if it keeps happening")
	case isUnreachable(err):
		var u *auth.UnreachableError
		if errors.As(err, &u) {
			return failWith(err, "not signing in (no browser was opened, nothing was stored)", "")
		}
		return failWith(err, "the sign-in did not finish, nothing was stored", "")
	case errors.Is(err, context.Canceled) && at.device:
		return failWith(err, "sign-in cancelled (interrupted); the device code was abandoned and nothing was stored", "")
	case errors.Is(err, context.Canceled):
		return failWith(err, "sign-in cancelled (interrupted); the callback server has stopped and nothing was stored", "")
	case errors.Is(err, auth.ErrTimeout) && at.device:
		return failWith(err, err.Error()+"; nothing was stored", "run "+again+" again (or raise --timeout)")
	case errors.Is(err, auth.ErrTimeout):
		return failWith(err, err.Error()+"; the callback server has stopped and nothing was stored", "run "+again+" again (or raise --timeout)")
	case errors.Is(err, auth.ErrCancelled):
		return failWith(err, err.Error()+"; nothing was stored", "run "+again+" to sign in")
	case pe != nil && pe.Code == "access_denied":
		// Cancel on the sign-in page, Deny on the device page: the person
		// cancelling, so it exits 3 like Ctrl-C.
		return failWith(fmt.Errorf("%w: %w", auth.ErrCancelled, err),
			"sign-in cancelled: the sign-in was declined ("+providerSaid(pe)+"); nothing was stored",
			"run "+again+" to sign in again; if you did not cancel, the domain refused you: ask its administrator to assign you to the application")
	case errors.As(err, &ports):
		return failWith(err, at.portsInUse(ports),
			"stop the program that holds one, or pass --port N with a free port whose redirect URI http://127.0.0.1:N/callback is registered in the IDCS application")
	case pe != nil && interactionRequired(pe.Code):
		// OpenID Connect's prompt=none answers (Core 3.1.2.6): the domain
		// would have to show the person a page.
		return failWith(fmt.Errorf("%w: %w", session.ErrLoginRequired, err),
			"sign-in required: the domain cannot sign you in without showing its sign-in page ("+providerSaid(pe)+")",
			"run "+again+" without --prompt none")
	case errors.As(err, &refused):
		return failWith(err, "sign-in failed: "+err.Error(),
			fmt.Sprintf("the redirect URIs idcsctl uses are %s (%s)", strings.Join(redirectURIs(at.p), ", "), portSetting(at.file, at.p, at.o)))
	}
	return failWith(err, "sign-in failed: "+err.Error(), "")
}

// providerSaid is a provider's error code and description, as it wrote
// them, made printable.
func providerSaid(pe *auth.ProviderError) string {
	s := auth.Printable(pe.Code, 64)
	if pe.Description != "" {
		s += ": " + auth.Printable(pe.Description, 300)
	}
	return s
}

// interactionRequired reports the error codes OpenID Connect's prompt=none
// ends with (Core 3.1.2.6).
func interactionRequired(code string) bool {
	switch code {
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		return true
	}
	return false
}

// portsInUse says which ports were tried and where that list comes from.
func (at signInAttempt) portsInUse(e *auth.PortsInUseError) string {
	ports := make([]string, len(e.Ports))
	for i, port := range e.Ports {
		ports[i] = strconv.Itoa(port)
	}
	msg := fmt.Sprintf("every callback port is in use on %s: %s (%s)", e.Host, strings.Join(ports, ", "), portSetting(at.file, at.p, at.o))
	if e.Err != nil {
		msg += " (" + e.Err.Error() + ")"
	}
	return msg
}

// portSetting names where the profile's redirect comes from, so the person
// knows what to change.
func portSetting(file *config.File, p *config.Resolved, o config.Overrides) string {
	saved := file.Profiles[p.Name]
	where := fmt.Sprintf("of profile %q in %s", p.Name, file.Path())
	switch {
	case o.RedirectURL != "":
		return "from --redirect-url"
	case p.RedirectURL != "":
		return "from redirect_url " + where
	case len(o.Ports) > 0:
		return "from --port"
	case saved != nil && len(saved.RedirectPorts) > 0:
		return "from redirect_ports " + where
	}
	return "the default ports; set others with --port or redirect_ports in the profile"
}

// missingSecretError is a confidential application's secret that is not
// available now: not the sign-in's fault, and not a public application.
// It says where the secret was looked for and how to provide it.
type missingSecretError struct {
	profile, clientID string
	// cause is why a kept secret could not be read (a locked keyring, a
	// secret file with loose permissions), or nil when none is kept.
	cause error
}

func (e *missingSecretError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("profile %q uses the confidential application %s, and its kept client secret cannot be read now: %v; or set %s", e.profile, e.clientID, e.cause, config.EnvClientSecret)
	}
	return fmt.Sprintf("profile %q uses the confidential application %s, and its client secret is not available here (%s is not set, and none is kept for the profile): %s",
		e.profile, e.clientID, config.EnvClientSecret, secretFix(e.profile))
}

func (e *missingSecretError) Unwrap() error { return e.cause }

// secretFix is how to provide a confidential application's secret.
func secretFix(profile string) string {
	return fmt.Sprintf("set %s, or keep it for this profile with `idcsctl login -p %s --save-secret` (the secret in %s or piped to --client-secret-stdin)", config.EnvClientSecret, profile, config.EnvClientSecret)
}

// missingSecret is a confidential application's missing secret: a setting
// to provide, as a missing domain is (exit 2).
func missingSecret(profile, clientID string, cause error) error {
	return &usageError{&missingSecretError{profile: profile, clientID: clientID, cause: cause}}
}

// publicApplication is a UPST exchange asked of a profile whose
// application is public: the fix is a profile for the confidential one,
// not a secret for this one (exit 2, no exchange tried).
func publicApplication(profile, clientID string) error {
	return usagef("profile %q signs in with the public application %s, and the OCI token exchange needs a confidential application: sign in with a profile for the confidential one (`idcsctl login -p oci --client-id <its client id>`, its secret in %s, with --save-secret to keep it), then run `idcsctl -p oci oci session` (see docs/oci.md)", profile, clientID, config.EnvClientSecret)
}

// exchangeRefused words the domain's refusal of the UPST exchange with the
// fix that belongs to its code. The sign-in was refreshed just before, so
// a refusal is never a dead sign-in: invalid_grant and unauthorized_client
// are the domain's set-up (an administrator's action on the Identity
// Propagation Trust), invalid_client the application's credentials.
func exchangeRefused(refused *oci.RefusedError, profile, clientID string) error {
	var fix string
	switch refused.Code {
	case "invalid_grant":
		fix = fmt.Sprintf("this is the domain's Identity Propagation Trust, not your sign-in (signing in again changes nothing): an administrator of the domain must create (or activate) an Identity Propagation Trust for the domain's tokens whose clientClaimValues lists the client id %s (see docs/oci.md)", clientID)
	case "unauthorized_client":
		fix = fmt.Sprintf("the application %s may not exchange tokens: an administrator of the domain must add its client id to the Identity Propagation Trust's clientClaimValues and allow it the token exchange grant (see docs/oci.md)", clientID)
	case "invalid_client":
		fix = fmt.Sprintf("the domain did not accept the client id and secret of the application %s: check the secret (%s, or keep it anew with `idcsctl login -p %s --save-secret`) and that the application is activated", clientID, config.EnvClientSecret, profile)
	default:
		fix = "see docs/oci.md for what the exchange needs"
	}
	return failWith(refused, strings.TrimRight(refused.Error(), ". "), fix)
}

// scopeFix says which scope a resource that answered insufficient scope
// needs, and the login that asks for it: the one the answer names, else
// IDCS's for its SCIM paths (urn:opc:idm:t.user.me for /admin/v1/Me, the
// application's admin roles, urn:opc:idm:__myscopes__, for the others).
func scopeFix(p *config.Resolved, scope, path string) string {
	adminRole := false
	switch {
	case scope != "":
	case strings.EqualFold(path, "/admin/v1/Me"):
		scope = "urn:opc:idm:t.user.me"
	case strings.HasPrefix(strings.ToLower(path), "/admin/"):
		scope, adminRole = scopeMyScopes, true
	default:
		return "the access token lacks a scope this resource needs (its documentation names it): sign in asking for it, " +
			loginCommandLine(p.Name, "--scopes", strings.Join(append(slices.Clone(p.Scopes), "SCOPE"), ","))
	}
	scopes := slices.Clone(p.Scopes)
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	fix := fmt.Sprintf("the access token lacks the scope %s this resource needs: sign in asking for it, %s",
		scope, loginCommandLine(p.Name, "--scopes", strings.Join(scopes, ",")))
	if adminRole {
		fix += " (the application also needs an administrator role granted in the domain)"
	}
	return fix
}
