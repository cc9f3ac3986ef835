#!/usr/bin/env bash
# Mutation check: does the test suite catch what it claims to?
#
# Each mutant below is one small break of a behaviour the tests are meant to
# guard (a check removed, a lock dropped, a write made non-atomic). For each,
# the script applies the break to a temporary copy of the committed tree (a
# detached git worktree of HEAD, never your working files), runs the tests
# that guard that behaviour, and reports:
#
#   caught   a test failed because of the break: it fails again on the
#            mutant and passes on the unmutated tree
#   FLAKY    a test failed, but not because of the break: it fails on the
#            unmutated tree too, or passes when re-run on the mutant (an
#            unrelated or flaky test; counted as not caught)
#   MISSED   every test passed: the suite does not guard this behaviour
#   STALE    the code to break is no longer there: update the mutant
#   BROKEN   the mutant does not compile: update the mutant
#
#   bench/mutants.sh               # every mutant (about 10 minutes on 2 busy cores)
#   bench/mutants.sh nonce lock    # only the mutants whose names contain a word
#
# Exit status 1 when any mutant is not caught. Needs bash 4,
# git and go; the keyring mutants need gnome-keyring and dbus (.ci/run),
# else their real Secret Service tests skip and the mutant may be MISSED.
# It is not part of every CI run because of its length; docs/testing.md
# has the last result.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true # "&" in a replacement is literal
cd "$(dirname "$0")/.."

root=$(pwd)
work=$(mktemp -d)
copy=$work/tree
rev=$(git rev-parse --short HEAD) # the commit tested, even if HEAD moves meanwhile
git worktree add --quiet --detach "$copy" "$rev"
cleanup() {
  git -C "$root" worktree remove --force "$copy" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

filters=("$@")
results=()
bad=0
started=$SECONDS

# mutant NAME FILE OLD NEW TEST...
#   FILE is relative to the module root; OLD is replaced by NEW once,
#   literally; each TEST is "PACKAGE" or "PACKAGE:RUN-PATTERN", naming the
#   tests meant to catch the break.
mutant() {
  local name=$1 file=$2 old=$3 new=$4
  shift 4
  if [ ${#filters[@]} -gt 0 ]; then
    local f hit=0
    for f in "${filters[@]}"; do [[ $name == *"$f"* ]] && hit=1; done
    [ $hit = 1 ] || return 0
  fi
  local path=$copy/$file content
  content=$(<"$path")
  if [[ $content != *"$old"* ]]; then
    report STALE "$name" "the code to break is not in $file"
    return 0
  fi
  local mutated=${content/"$old"/"$new"}
  printf '%s\n' "$mutated" >"$path"
  local t0=$SECONDS verdict=MISSED by="" spec pkg run out flaky="" leaf
  for spec in "$@"; do
    pkg=${spec%%:*}
    run=
    [[ $spec == *:* ]] && run=${spec#*:}
    if out=$(gotest "$pkg" "$run"); then
      continue
    fi
    if grep -qE '\[(build|setup) failed\]' <<<"$out"; then
      verdict=BROKEN by="$pkg does not compile: $(grep -m1 -E '\.go:[0-9]+' <<<"$out")"
      break
    fi
    # Which failing test is the mutant's doing? A test counts only when it
    # passes on the unmutated tree and fails again on the mutant; a package
    # that failed without naming a test (a panic, a timeout) is re-run whole.
    local leaves=() pattern
    mapfile -t leaves < <(failed_leaves <<<"$out")
    [ ${#leaves[@]} -gt 0 ] || leaves=("")
    for leaf in "${leaves[@]}"; do
      pattern=$run
      [ -n "$leaf" ] && pattern=$(run_pattern "$leaf")
      git -C "$copy" checkout --quiet -- "$file"
      if ! gotest "$pkg" "$pattern" >/dev/null; then
        flaky+="${flaky:+, }$pkg ${leaf:-(package)} fails unmutated"
        printf '%s\n' "$mutated" >"$path"
        continue
      fi
      printf '%s\n' "$mutated" >"$path"
      if gotest "$pkg" "$pattern" >/dev/null; then
        flaky+="${flaky:+, }$pkg ${leaf:-(package)} passed on re-run"
        continue
      fi
      verdict=caught by="$pkg ${leaf:-(failed)}"
      break
    done
    [ "$verdict" = caught ] && break
  done
  if [ "$verdict" = MISSED ] && [ -n "$flaky" ]; then
    verdict=FLAKY by=$flaky
  fi
  git -C "$copy" checkout --quiet -- "$file"
  report "$verdict" "$name" "$by ($((SECONDS - t0))s)"
}

# gotest PACKAGE [RUN-PATTERN]: go test in the copy; its output on stdout.
gotest() {
  (cd "$copy" && go test -count=1 -timeout 10m ${2:+-run "$2"} "$1" 2>&1)
}

# failed_leaves reads go test output and prints the failing tests that have
# no failing subtest, one a line (TestScripts/login_nonce).
failed_leaves() {
  local names=() n m leaf
  mapfile -t names < <(grep -E -- '--- FAIL: ' | sed -E 's/^ *--- FAIL: //; s/ \([0-9.]+s\)$//')
  for n in "${names[@]}"; do
    leaf=1
    for m in "${names[@]}"; do [[ $m == "$n/"* ]] && leaf=0; done
    [ $leaf = 1 ] && printf '%s\n' "$n"
  done
}

# run_pattern turns a test name into a -run pattern that matches it alone:
# each level anchored, regexp characters quoted.
run_pattern() {
  local IFS=/ part out=() parts
  read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    out+=("^$(sed -E 's/[][\.*^$()+?{}|]/\\&/g' <<<"$part")\$")
  done
  printf '%s' "${out[*]}"
}

report() {
  results+=("$(printf '%-7s %-28s %s' "$1" "$2" "$3")")
  printf '%-7s %-28s %s\n' "$1" "$2" "$3" >&2
  [ "$1" = caught ] || bad=1
}

# --- The mutants -------------------------------------------------------------

mutant state internal/auth/callback.go \
  'subtle.ConstantTimeCompare([]byte(states[0]), []byte(h.state)) != 1' \
  'subtle.ConstantTimeCompare([]byte(states[0]), []byte(states[0])) != 1' \
  ./internal/auth

mutant aud internal/auth/verify.go \
  '		ClientID:             c.ClientID,' \
  '		SkipClientIDCheck:    true,' \
  ./internal/auth

mutant pkce-verifier internal/auth/login.go \
  'conf.Exchange(tctx, code, oauth2.VerifierOption(f.verifier))' \
  'conf.Exchange(tctx, code)' \
  ./internal/auth

mutant nonce internal/auth/login.go \
  'return c.result(ctx, tok, f.nonce, true)' \
  'return c.result(ctx, tok, "", true)' \
  ./internal/auth:TestEndToEnd './cmd/idcsctl:TestScripts$/login_nonce'

mutant refresh-lock internal/session/session.go \
  'unlock, err := store.LockWith(ctx, m.LockDir, m.Profile, m.lockOptions("refreshing its tokens"))' \
  'unlock, err := func() error { return nil }, error(nil)' \
  ./internal/session

mutant lock-reread internal/session/session.go \
  '	if !needed(cur) {
		return cur, nil
	}' \
  '' \
  ./internal/session

mutant refresh-margin internal/session/session.go \
  'm.now().Add(m.Margin).Before(t.Expiry)' \
  'm.now().Before(t.Expiry)' \
  ./internal/session

mutant refresh-keeps-old-token internal/session/session.go \
  'next.AccessToken = r.AccessToken' \
  'next.AccessToken = old.AccessToken' \
  ./internal/session

mutant file-mode-written internal/store/file.go \
  'atomicfile.Write(s.path(profile), b, 0o600)' \
  'atomicfile.Write(s.path(profile), b, 0o644)' \
  ./internal/store

mutant file-mode-read internal/store/file.go \
  'perm&0o077 != 0' \
  'perm&0o000 != 0' \
  ./internal/store

mutant file-owner-read internal/store/file.go \
  'ok && owner != uid' \
  'ok && owner != owner' \
  ./internal/store

mutant atomic-file-write internal/atomicfile/atomicfile.go \
  '	return write(path, data, mode, nil)' \
  '	return os.WriteFile(path, data, mode)' \
  './internal/store:TestFileStore'

mutant file-read-race internal/store/file_unix.go \
  'f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)' \
  'li, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if fi, serr := f.Stat(); err == nil && serr == nil && !os.SameFile(li, fi) {
		f.Close()
		return nil, errors.New("changed while it was being read: try again")
	}' \
  './internal/store:TestFileStoreReadersNeverSeeAPartialSave'

mutant keyring-chunks-in-place internal/store/keyring.go \
  'newGen:  newGeneration,' \
  'newGen:  func() string { return "00" },' \
  './internal/store:Keyring'

mutant keyring-vanished-item internal/store/oskeyring.go \
  'func itemVanished(err error) bool {
	if err == nil {' \
  'func itemVanished(err error) bool {
	if true {' \
  './internal/store:TestRealSecretServiceReadersNeverSeeAPartialSave'

mutant host-policy internal/fetch/policy.go \
  '	if o == p.domain {
		return nil
	}' \
  '	if true {
		return nil
	}' \
  ./internal/fetch

mutant redirect-keeps-token internal/fetch/client.go \
  '		req.Header.Del("Authorization")' \
  '' \
  ./internal/fetch

mutant debug-redaction cmd/idcsctl/debug.go \
  '		if publicParam(k) {' \
  '		if publicParam(k) || true {' \
  './cmd/idcsctl:Debug|Redact'

mutant emulator-redirect-check internal/emulator/authorize.go \
  '	if !slices.Contains(c.RedirectURIs, redirectURI) {' \
  '	if false && !slices.Contains(c.RedirectURIs, redirectURI) {' \
  ./internal/emulator './cmd/idcsctl:TestScripts$/login_redirect'

mutant emulator-pkce-check internal/emulator/token.go \
  'subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(ac.req.challenge)) != 1' \
  'subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(s256(verifier))) != 1' \
  ./internal/emulator

# --- The newer code: OCI, kube, redaction, pre-check, config editing, logout
# (issue 21). Each names the tests meant to catch it.

mutant oci-basic-not-form-encoded internal/oci/exchange.go \
  'req.SetBasicAuth(url.QueryEscape(r.ClientID), url.QueryEscape(r.ClientSecret))' \
  'req.SetBasicAuth(r.ClientID, r.ClientSecret)' \
  './internal/oci:TestExchangeFormEncodesTheBasicCredentials'

mutant basic-revocation-not-form-encoded internal/auth/userinfo.go \
  'req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))' \
  'req.SetBasicAuth(c.ClientID, c.ClientSecret)' \
  './internal/auth:TestEveryBasicCredentialIsFormEncoded'

mutant basic-device-not-form-encoded internal/auth/device.go \
  'req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))' \
  'req.SetBasicAuth(c.ClientID, c.ClientSecret)' \
  './internal/auth:TestEveryBasicCredentialIsFormEncoded'

mutant oci-session-folder-left-loose internal/oci/session.go \
  'if err := os.Chmod(p.Dir, 0o700); err != nil {' \
  'if err := error(nil); err != nil {' \
  './internal/oci:TestEnsureMakesAnExistingSessionFolderPrivate'

mutant oci-remove-repointed-section internal/oci/session.go \
  'ok && keys["security_token_file"] == p.Token {' \
  'ok && keys != nil {' \
  './internal/oci:TestRemoveKeepsASectionThePersonRepointed'

mutant oci-one-file-folder-taken internal/oci/session.go \
  'err == nil && len(entries) > 0 {' \
  'err == nil && len(entries) > 1 {' \
  './internal/oci:TestEnsureNeverWritesIntoThePersonsSessionFolder'

mutant oci-person-section-taken internal/oci/session.go \
  '		if hasSection {
			return nil, fmt.Errorf("section [%s] of %s is %w' \
  '		if false && hasSection {
			return nil, fmt.Errorf("section [%s] of %s is %w' \
  './internal/oci:TestEnsureLeavesTheConfigAloneOnFailure' './cmd/idcsctl:TestScripts$/oci_badinput'

mutant oci-remove-takes-persons-files internal/oci/session.go \
  'if ok, err := removeEmptyDir(p.Dir); ok {' \
  'if ok, err := true, os.RemoveAll(p.Dir); ok {' \
  './internal/oci:TestRemoveLeavesThePersonsFilesInTheSessionFolder'

mutant oci-token-file-mode internal/oci/session.go \
  'return writeAtomic(p.Token, []byte(upst), 0o600)' \
  'return writeAtomic(p.Token, []byte(upst), 0o644)' \
  './internal/oci:TestEnsureExchangesOnlyWhenDue'

mutant oci-config-mode-not-kept internal/oci/config.go \
  'c.exists, c.mode = true, fi.Mode().Perm()' \
  'c.exists = true' \
  './internal/oci:TestConfig' './cmd/idcsctl:TestScripts$/oci_session'

mutant oci-config-symlink-followed internal/oci/config.go \
  'case fi.Mode()&fs.ModeSymlink != 0:' \
  'case false:' \
  './internal/oci:TestConfigRefusesWhatItCannotEdit'

mutant oci-upst-margin internal/oci/session.go \
  'now().Add(c.Margin(o.Margin)).Before(c.Expiry)' \
  'now().Before(c.Expiry)' \
  './internal/oci:TestEnsureExchangesOnlyWhenDue'

mutant oci-exchange-lock-per-process cmd/idcsctl/oci.go \
  'unlock, err := store.Lock(ctx, lockDir, p.Name)' \
  'unlock, err := store.Lock(ctx, lockDir, p.Name+fmt.Sprint(time.Now().UnixNano()))' \
  './cmd/idcsctl:TestConcurrentOCISessionsExchangeOnce' './cmd/idcsctl:TestScripts$/exec_shared'

mutant kube-replaced-value-comment internal/kube/kubeconfig.go \
  'v.HeadComment, v.LineComment, v.FootComment = m.Content[i+1].HeadComment, m.Content[i+1].LineComment, m.Content[i+1].FootComment' \
  '_ = m.Content[i+1]' \
  './internal/kube:TestSetUserKeepsTheCommentsOnWhatItReplaces'

mutant kube-duplicate-user-kept internal/kube/kubeconfig.go \
  '				if found != nil {
					continue
				}' \
  '' \
  './internal/kube:TestSetUser'

mutant kube-kubeconfig-mode-not-kept internal/kube/kubeconfig.go \
  'mode = fi.Mode().Perm()' \
  '_ = fi.Mode().Perm()' \
  './internal/kube:TestWriteFileKeepsModeAndFollowsLinks'

mutant kube-v1-without-interactive internal/kube/execcredential.go \
  'case w.APIVersion == APIVersionV1:' \
  'case false && w.APIVersion == APIVersionV1:' \
  './internal/kube:TestParseExecInfo'

mutant redact-decoded-basic-secret internal/auth/redact.go \
  '		if p, err := url.QueryUnescape(pass); err == nil {
			out = append(out, p)
		}' \
  '' \
  './internal/auth:TestTokenEndpointQuotingTheDecodedSecretIsRedacted'

mutant redact-encoded-form internal/auth/redact.go \
  'if enc := url.QueryEscape(sec); enc != sec {' \
  'if enc := url.QueryEscape(sec); false && enc != sec {' \
  './internal/auth:TestRedact'

mutant redact-min-length internal/auth/redact.go \
  'if len(sec) < minSecretLen {' \
  'if len(sec) <= minSecretLen {' \
  './internal/auth:TestRedactForms'

mutant redact-authorization-header internal/auth/redact.go \
  '		out = append(out, strings.TrimSpace(cred))' \
  '		_ = cred' \
  './internal/auth:TestTokenEndpointErrorQuotingTheRequestIsRedacted'

mutant redact-error-uri internal/auth/redact.go \
  '		pe.URI = redact(pe.URI, secrets)' \
  '' \
  './internal/auth:TestRedactErrorReplacesPlainAndEncodedSecrets'

mutant redact-whoami-detail cmd/idcsctl/whoami.go \
  'auth.Printable(auth.Redact(e.Detail, access), 300)' \
  'auth.Printable(e.Detail, 300)' \
  './cmd/idcsctl:Redact|Whoami' './cmd/idcsctl:TestScripts$/hostile_redaction'

mutant precheck-5xx-refusal internal/auth/precheck.go \
  'if status == http.StatusTooManyRequests || status >= 500 {' \
  'if status == http.StatusTooManyRequests {' \
  './internal/auth:TestPrecheck'

mutant precheck-429-refusal internal/auth/precheck.go \
  'if status == http.StatusTooManyRequests || status >= 500 {' \
  'if status >= 500 {' \
  './internal/auth:TestJudgeAuthorizeAnswer'

mutant precheck-error-page-any-host internal/auth/precheck.go \
  'idcsErrorPage) && origin.Same(loc, authURL)' \
  'idcsErrorPage) && (origin.Same(loc, authURL) || true)' \
  './internal/auth:TestJudgeAuthorizeAnswer'

mutant precheck-any-html-status internal/auth/precheck.go \
  'if (status == http.StatusBadRequest || status == http.StatusUnauthorized) && media == "text/html" {' \
  'if media == "text/html" {' \
  './internal/auth:TestJudgeAuthorizeAnswer'

mutant expiry-jwt-uncapped internal/auth/expiry.go \
  '		if limit := now.Add(maxExpiresIn * time.Second); exp.After(limit) {' \
  '		if limit := now.Add(maxExpiresIn * time.Second); false && exp.After(limit) {' \
  './internal/auth:TestExpiryOfAJWTAccessTokenIsCapped'

mutant expiry-jwt-absurd-exp internal/auth/expiry.go \
  'exp <= 0 || exp > math.MaxInt64/2 {' \
  'exp <= 0 {' \
  './internal/auth:TestExpiryOfAJWTAccessTokenIsCapped'

mutant prompt-none-interaction-required cmd/idcsctl/failure.go \
  'case "login_required", "interaction_required", "consent_required", "account_selection_required":' \
  'case "login_required", "consent_required", "account_selection_required":' \
  './cmd/idcsctl:TestPromptNoneErrorsAreSignInRequired|TestLoginErrorsSayWhatToChange'

mutant config-comment-from-a-value internal/config/edit.go \
  "		case c == '\"' || c == '\\'':" \
  "		case false:" \
  './internal/config:TestSaveKeepsEveryOtherByteOfUnusualFiles'

mutant config-trailing-comment-dropped internal/config/edit.go \
  'if c := trailingComment(d.lines[first]); first == last && c != "" {' \
  'if c := trailingComment(d.lines[first]); false && c != "" {' \
  './internal/config:TestSaveEditsOnlyWhatChanged|TestSaveKeepsEveryOtherByteOfUnusualFiles'

mutant config-indent-dropped internal/config/edit.go \
  'repl = append(repl, indent+line)' \
  'repl = append(repl, indent[:0]+line)' \
  './internal/config:TestSaveKeepsEveryOtherByteOfUnusualFiles'

mutant config-no-final-newline internal/config/edit.go \
  '		d.lines[at-1] += "\n"' \
  '' \
  './internal/config:TestSaveKeepsEveryOtherByteOfUnusualFiles'

mutant config-next-tables-comment internal/config/edit.go \
  'for end > start+1 && end < len(d.lines) && strings.HasPrefix' \
  'for false && end > start+1 && end < len(d.lines) && strings.HasPrefix' \
  './internal/config:TestSaveEditsOnlyWhatChanged|TestSaveKeepsEveryOtherByteOfUnusualFiles'

mutant config-unchecked-edit internal/config/edit.go \
  'if same(text, next) {' \
  'if true {' \
  './internal/config:TestSaveWritesWholeWhatItCannotEditInPlace'

mutant config-group-writable internal/config/perm.go \
  'perm&0o022 != 0' \
  'perm&0o002 != 0' \
  './internal/config:TestLoadRefusesAConfigOthersCanChange'

mutant logout-forgets-failed-session cmd/idcsctl/logout.go \
  '			kept = append(kept, rec)' \
  '' \
  './cmd/idcsctl:TestScripts$/oci_logout_failed_removal'

mutant logout-hides-failed-removal cmd/idcsctl/logout.go \
  '	a.forgetScoped(ctx, p)
	fmt.Fprintf(a.deps.Stderr, "Logged out of profile %q.\n", p.Name)
	return ociErr' \
  '	a.forgetScoped(ctx, p)
	fmt.Fprintf(a.deps.Stderr, "Logged out of profile %q.\n", p.Name)
	return nil' \
  './cmd/idcsctl:TestScripts$/oci_logout_failed_removal'

# --- idcsctl exec: keeping an OCI session fresh around a command -----------

mutant upst-margin-uncapped internal/oci/upst.go \
  '	return min(asked, c.Expiry.Sub(c.Issued)/4)' \
  '	return asked' \
  './internal/oci:TestClaimsMargin|TestKeeper' './cmd/idcsctl:TestScripts$/oci_session$'

mutant keeper-warns-every-failure internal/oci/keeper.go \
  '			if tries == 1 {
				pause = min(max(lead/5, time.Second), 30*time.Second)
				report(Failing, s, err, tries)' \
  '			report(Failing, s, err, tries)
			if tries == 1 {
				pause = min(max(lead/5, time.Second), 30*time.Second)' \
  './internal/oci:TestKeeper'

mutant keeper-no-backoff internal/oci/keeper.go \
  '				pause = min(2*pause, max(min(lead, 5*time.Minute), time.Second))' \
  '' \
  './internal/oci:TestKeeper'

mutant exec-child-same-group internal/child/child_unix.go \
  '	attr := &syscall.SysProcAttr{Setpgid: true}' \
  '	attr := &syscall.SysProcAttr{}' \
  './internal/child' './cmd/idcsctl:TestScripts$/exec_signals'

mutant exec-background-job-stuck internal/child/child_unix.go \
  '				if tty != nil {
					stopWithChild(tty, pid)' \
  '				if foreground {
					stopWithChild(tty, pid)' \
  './internal/child:TestRunInABackgroundJob'

mutant exec-no-parent-death-signal internal/child/pdeathsig_linux.go \
  'attr.Pdeathsig = syscall.SIGTERM' \
  '_ = attr' \
  './cmd/idcsctl:TestScripts$/exec_signals'

mutant exec-keeps-client-secret cmd/idcsctl/exec.go \
  '	config.EnvClientSecret,' \
  '	config.EnvClientSecret + "_NOT",' \
  './cmd/idcsctl:TestScripts$/exec_basics'

mutant exec-signal-status internal/child/child_unix.go \
  '				return 128 + int(ev.status.Signal()), nil' \
  '				return ev.status.ExitStatus(), nil' \
  './internal/child' './cmd/idcsctl:TestScripts$/exec_basics'

mutant exec-no-renewal cmd/idcsctl/exec.go \
  '		k.Run(keepCtx, s)' \
  '		_ = k
		<-keepCtx.Done()' \
  './cmd/idcsctl:TestScripts$/exec_sdk_long'

mutant exec-ignores-stop-before-start cmd/idcsctl/exec.go \
  '			if stopped != 0 {' \
  '			if false {' \
  './cmd/idcsctl:TestExecStopBeforeTheCommandStarts'

# --- Report ------------------------------------------------------------------

echo "## Mutation check of $rev: $((SECONDS - started))s"
printf '%s\n' "${results[@]}"
exit $bad
