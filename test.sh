#!/usr/bin/env bash
# The whole test suite: vet, every test (the real Secret Service and Chromium
# tests included), one pass of every benchmark, every release target built
# (amd64) or type-checked (arm64), the release check (.ci/release-check), and
# short fuzz runs.
# Needs gnome-keyring, dbus and chromium (see .ci/run); without them those
# tests skip locally and fail in CI (CI=true).
set -euo pipefail
cd "$(dirname "$0")"

# phase NAME COMMAND...: runs it and says how long it took, in wall and CPU
# seconds, so every run's log shows where the time goes (docs/testing.md,
# "CI on a fresh machine").
phase() {
  local name=$1
  shift
  local TIMEFORMAT="test.sh: phase $name: %0R s (cpu %0U s user + %0S s sys)"
  time "$@"
}
started=$SECONDS

phase vet go vet ./...
phase tests go test -count=1 ./...
# The release-only command (release-files, built with -tags releasefiles so
# the shipped binary does not carry the man page generator) and its script.
phase releasefiles-tests go test -count=1 -tags releasefiles -run 'TestScripts/release_files|TestReferenceIsCurrent|TestDocsNameWhatExists|TestEveryCommandHelpHasAnExample' ./cmd/idcsctl

# One pass of every benchmark, so they keep working; they report figures and
# never fail on a timing (docs/performance.md has the measured runs).
benchmarks() {
  if ! go test -run '^$' -bench . -benchtime 1x ./... > bench-smoke.txt 2>&1; then
    cat bench-smoke.txt
    return 1
  fi
  echo "benchmarks: $(grep -c '^Benchmark' bench-smoke.txt) ran (figures in bench-smoke.txt)"
}
phase benchmarks benchmarks

# Every release target must keep building, keyring code included. Our code
# has no per-architecture files, but the syscall and golang.org/x/sys types
# it reads differ per architecture (syscall.Stat_t's Nlink is a uint64 on
# linux/amd64, a uint32 on arm64), and so do some of its dependencies'
# files. amd64 of each OS is compiled and linked as goreleaser builds it
# (CGO_ENABLED=0, -trimpath, -s -w: the linker writes no debug information),
# so the release check's builds below find every package compiled; arm64 of
# each OS is type-checked from source, the three programs and every package
# they import (tools/typecheck): 8 s of CPU where a build takes 100 s. What
# only a build would add for arm64, the dependencies' assembly and the link,
# goreleaser's release build proves before it publishes anything
# (docs/testing.md, "CI on a fresh machine").
cross_compile() {
  local goos programs=(./cmd/idcsctl ./cmd/idcsctl-ocisign ./cmd/docker-credential-idcsctl)
  local typecheck
  typecheck=$(mktemp -d)/typecheck
  go build -o "$typecheck" ./tools/typecheck
  for goos in linux darwin windows; do
    GOOS=$goos GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /dev/null "${programs[@]}"
    GOOS=$goos GOARCH=arm64 CGO_ENABLED=0 "$typecheck" "${programs[@]}" > /dev/null
  done
  rm -r "$(dirname "$typecheck")"
  echo "cross-compiled: linux, darwin, windows x amd64; type-checked: the same x arm64"
}
phase cross-compiles cross_compile

# The release as people get it: goreleaser's snapshot for this platform, the
# archive's files, the signed checksums and, with CI=true, the .deb installed
# and removed again. Skips without goreleaser, fails so in CI.
phase release-check .ci/release-check

# Short fuzz runs after the tests, one target at a time, each from its f.Add
# seeds and its committed corpus (the package's testdata/fuzz/). The seeds and
# every committed regression input also run, deterministically, in `go test`
# above, and gate the suite. New exploration is random, so a failing input it
# finds is reported loudly and saved for a developer to fix and commit, but
# fails the suite only with FUZZ_STRICT=1: a lucky find must not block an
# unrelated change. FuzzCheckJSON and FuzzTokenRejected (internal/fetch) are
# left out to stay under two minutes; their seeds run with the tests above.
fuzz_found=0
fuzz() {
  local out
  if ! out=$(go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-10s}" "$2" 2>&1); then
    printf '%s\n' "$out" > "fuzz-$1.log"
    # Either a failing input (written under testdata/fuzz/, named in the log)
    # or the fuzzing engine itself stopping badly (it sometimes ends a slow
    # worker with "context deadline exceeded"); the log says which.
    echo "fuzz: WARNING: $1 in $2 did not finish cleanly (log: fuzz-$1.log):" >&2
    printf '%s\n' "$out" | grep -E 'Failing input written|^\s+[a-z_]+\.go:[0-9]+:|deadline exceeded' | head -n 3 >&2 || true
    fuzz_found=1
    return 0
  fi
  echo "fuzz: $1 $(printf '%s\n' "$out" | grep -o 'execs: [0-9]*' | tail -n 1 || true)"
}
fuzz_all() {
  fuzz FuzzCallbackHandler ./internal/auth
  fuzz FuzzDiscover ./internal/auth
  fuzz FuzzTokenResponse ./internal/auth
  fuzz FuzzVerifyIDToken ./internal/auth
  fuzz FuzzLoad ./internal/config
  fuzz FuzzFileEntry ./internal/store
  fuzz FuzzKeyringEntry ./internal/store
  fuzz FuzzFetchFlags ./cmd/idcsctl
  fuzz FuzzDebugTransport ./cmd/idcsctl
}
phase fuzz fuzz_all
if [ "$fuzz_found" = 1 ] && [ "${FUZZ_STRICT:-0}" = 1 ]; then
  exit 1
fi
echo "test.sh: all phases passed in $((SECONDS - started)) s"
