#!/usr/bin/env bash
# Mutation check: does the test suite catch what it claims to?
#
# Each mutant below is one small break of a behaviour the tests are meant to
# guard (a check removed, a lock dropped, a write made non-atomic). For each,
# the script applies the break to a temporary copy of the committed tree (a
# detached git worktree of HEAD, never your working files), runs the tests
# that guard that behaviour, and reports:
#
#   caught   a test failed: the break would not get through
#   MISSED   every test passed: the suite does not guard this behaviour
#   STALE    the code to break is no longer there: update the mutant
#   BROKEN   the mutant does not compile: update the mutant
#
#   bench/mutants.sh               # every mutant (about 10 minutes on 2 busy cores)
#   bench/mutants.sh nonce lock    # only the mutants whose names contain a word
#
# Exit status 1 when any mutant is MISSED, STALE or BROKEN. Needs bash 4,
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
git worktree add --quiet --detach "$copy" HEAD
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
#   literally; each TEST is "PACKAGE" or "PACKAGE:RUN-PATTERN".
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
  printf '%s\n' "${content/"$old"/"$new"}" >"$path"
  local t0=$SECONDS verdict=MISSED by="" spec pkg run out
  for spec in "$@"; do
    pkg=${spec%%:*}
    run=
    [[ $spec == *:* ]] && run=${spec#*:}
    if out=$(cd "$copy" && go test -count=1 -timeout 10m ${run:+-run "$run"} "$pkg" 2>&1); then
      continue
    fi
    if grep -qE '\[(build|setup) failed\]' <<<"$out"; then
      verdict=BROKEN by="$pkg does not compile: $(grep -m1 -E '\.go:[0-9]+' <<<"$out")"
    else
      verdict=caught
      by=$(grep -m1 -E -- '--- FAIL: ' <<<"$out" | sed -E 's/^ *--- FAIL: //; s/ \([0-9.]+s\)$//')
      by="$pkg ${by:-(failed)}"
    fi
    break
  done
  git -C "$copy" checkout --quiet -- "$file"
  report "$verdict" "$name" "$by ($((SECONDS - t0))s)"
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
  'func Write(path string, data []byte, mode fs.FileMode) (err error) {' \
  'func Write(path string, data []byte, mode fs.FileMode) (err error) {
	if true {
		return os.WriteFile(path, data, mode)
	}' \
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

# --- Report ------------------------------------------------------------------

echo "## Mutation check of $(git rev-parse --short HEAD): $((SECONDS - started))s"
printf '%s\n' "${results[@]}"
exit $bad
