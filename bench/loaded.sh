#!/usr/bin/env bash
# The loaded-machine run: the whole `go test ./...` RUNS times beside CPU
# hogs this script starts and stops itself, to show that no test depends on
# the scheduler (issue 21: a newcomer's first ./test.sh failed at load 8 on
# two cores, and passed when run again).
#
#   bench/loaded.sh                          # 5 runs of go test ./... beside 2 hogs per core
#   RUNS=1 bench/loaded.sh ./internal/auth   # one run of some packages
#   HOGS=8 RUN_TIMEOUT=40m bench/loaded.sh   # harder, longer
#
#   RUNS         how many runs (5)
#   HOGS         busy loops beside them (2 per core: with the tests' own
#                work, a load of about three times the cores)
#   RUN_TIMEOUT  go test's -timeout for each test binary (25m, in m or s);
#                a whole run is killed 5 minutes after it
#   LOG_DIR      where each run's output is kept (a new temporary folder)
#
# Each run is `go test -count=1` (nothing cached). The script prints a line
# per run and, for a failed one, every failed test by package and name (the
# innermost subtest), a test that timed out, or a package that does not
# build; then one summary line:
#
#   loaded: 5 runs, 0 failed, 0 test failures; 4 hogs, load 9.8 (min 8.1, max 11.2); 41m12s; logs in /tmp/loaded.XXXX
#
# (the load is the 1-minute average at the end of each run) and exits 1 if
# any run failed. The hogs and the run in progress end with the script
# however it ends (a failure, Ctrl-C, kill); each hog also stops by itself
# once this script's process is gone, even after a kill -9.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
hogs=${HOGS:-$((2 * $(nproc)))}
run_timeout=${RUN_TIMEOUT:-25m}
case $run_timeout in
  *m) run_bound=$((${run_timeout%m} * 60 + 300)) ;;
  *s) run_bound=$((${run_timeout%s} + 300)) ;;
  *) echo "loaded: RUN_TIMEOUT=$run_timeout: give minutes (25m) or seconds (900s)" >&2; exit 2 ;;
esac
log_dir=${LOG_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/loaded.XXXXXX")}
mkdir -p "$log_dir"
pkgs=("$@")
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)

hog_pids=()
run_pid=
stop_all() {
  # timeout(1) leads a process group of its own: go, its compilers and the
  # test binaries.
  if [ -n "$run_pid" ]; then
    kill -TERM -- "-$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
    run_pid=
  fi
  local p
  for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${hog_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  hog_pids=()
}
trap stop_all EXIT
trap 'echo "loaded: interrupted; hogs and run stopped" >&2; exit 130' INT TERM HUP

me=$$
for _ in $(seq "$hogs"); do
  # Builtins only: no fork per turn, and the loop ends when this script does.
  (while kill -0 "$me" 2>/dev/null; do :; done) &
  hog_pids+=($!)
done

# failures LOG: one line per failed test of a go test output: the package
# and the innermost failing test, the tests running when a binary timed out,
# or a package that does not build. Without -v, go test prints a package's
# output as one block that ends in its "ok" or "FAIL" line.
failures() {
  awk '
    /^[ \t]*--- FAIL: / { pending[++n] = $3; next }
    /^panic: test timed out after/ { timedout = 1; next }
    timedout && /^\t\t[^ \t]+ \(/ { sub(/^\t\t/, ""); running[++r] = $1; next }
    /^FAIL[ \t]+[^ \t]+[ \t]+\[(build|setup) failed\]/ { print "  " $2 " (does not build)"; n = 0; next }
    /^(FAIL|ok)[ \t]+[^ \t]+/ {
      pkg = $2; shown = 0
      for (i = 1; i <= n; i++) {
        leaf = 1
        for (j = 1; j <= n; j++) if (index(pending[j], pending[i] "/") == 1) leaf = 0
        if (leaf) { print "  " pkg " " pending[i]; shown = 1 }
      }
      for (i = 1; i <= r; i++) { print "  " pkg " " running[i] " (timed out)"; shown = 1 }
      if (timedout && !shown) { print "  " pkg " (timed out)"; shown = 1 }
      if ($1 == "FAIL" && !shown) print "  " pkg " (failed outside a test; see the log)"
      n = 0; r = 0; timedout = 0
    }
  ' "$1"
}

failed_runs=0
failed_tests=0
loads=()
started=$SECONDS
for i in $(seq "$runs"); do
  log=$log_dir/run-$i.log
  t0=$SECONDS
  # In the background, so that a signal reaches the traps at once.
  timeout --kill-after=30s "$run_bound" go test -count=1 -timeout "$run_timeout" "${pkgs[@]}" >"$log" 2>&1 &
  run_pid=$!
  rc=0
  wait "$run_pid" || rc=$?
  run_pid=
  l=$(cut -d' ' -f1 /proc/loadavg)
  loads+=("$l")
  if [ "$rc" = 0 ]; then
    echo "run $i/$runs: ok ($((SECONDS - t0))s, load $l)"
    continue
  fi
  failed_runs=$((failed_runs + 1))
  what=$(failures "$log")
  if [ -n "$what" ]; then
    failed_tests=$((failed_tests + $(grep -c . <<<"$what")))
  fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    what+=${what:+$'\n'}"  (the run passed its ${run_bound}s bound and was killed)"
  fi
  [ -n "$what" ] || what="  (go test exited $rc; see the log)"
  echo "run $i/$runs: FAIL ($((SECONDS - t0))s, load $l, log $log)"
  printf '%s\n' "$what"
done
stop_all

took=$((SECONDS - started))
stats=$(printf '%s\n' "${loads[@]}" | awk '{ s += $1; if (NR == 1 || $1 < min) min = $1; if ($1 > max) max = $1 }
  END { printf "load %.1f (min %.1f, max %.1f)", s / NR, min, max }')
echo "loaded: $runs runs, $failed_runs failed, $failed_tests test failures; $hogs hogs, $stats; $((took / 60))m$((took % 60))s; logs in $log_dir"
[ "$failed_runs" = 0 ]
