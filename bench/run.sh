#!/usr/bin/env bash
# Times the built idcsctl against its baselines and prints the figures of
# docs/performance.md: for every benchmark metric, the median over COUNT runs
# with the smallest and largest run, then the release binary's size and its
# biggest contributors by package.
#
#   bench/run.sh                      # every benchmark, 20 runs each
#   COUNT=5 bench/run.sh 'TokenCached' # a subset, fewer runs (token, and kube token against token)
#   COUNT=10 bench/run.sh 'KubeTokenCached'  # kubectl's plugin against a cached token
#   COUNT=5 bench/run.sh 'CredHelperGetCached'  # docker-credential-idcsctl get against a cached token
#
# Each run of a benchmark is `go test -bench` with its own baseline timed in
# the same loop (see cmd/idcsctl/bench_test.go), so a ratio compares figures
# taken side by side. Needs go; the keyring and fetch baselines need
# gnome-keyring, dbus, libsecret-tools and curl (see .ci/run), else those
# benchmarks skip.
set -euo pipefail
cd "$(dirname "$0")/.."

count=${COUNT:-20}
pattern=${1:-.}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "## Machine"
echo "cpus:   $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
echo "kernel: $(uname -sr)"
echo "go:     $(go env GOVERSION) $(go env GOOS)/$(go env GOARCH)"
echo "load:   $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the runs"
echo

go test -run '^$' -bench "$pattern" -count "$count" -timeout 60m ./cmd/idcsctl | tee "$out/raw.txt" >&2

echo "## Figures: median (min-max) over $count runs"
# "BenchmarkName-2  N  v1 unit1  v2 unit2 ..." -> "name unit value" lines,
# sorted by name, unit and value; then the median and range of each group.
awk '/^Benchmark/ {
        name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
        for (i = 3; i < NF; i += 2) if ($(i+1) != "ns/op") print name, $(i+1), $i
     }' "$out/raw.txt" |
  sort -k1,1 -k2,2 -k3,3g |
  awk 'function flush() {
         if (n) printf "%-32s %-22s %10.3f  (%.3f-%.3f)  n=%d\n", key1, key2, v[int((n+1)/2)], v[1], v[n], n
         n = 0
       }
       $1 != key1 || $2 != key2 { flush(); key1 = $1; key2 = $2 }
       { v[++n] = $3 }
       END { flush() }'
echo

echo "## Release binary"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/idcsctl" ./cmd/idcsctl
CGO_ENABLED=0 go build -trimpath -o "$out/idcsctl-syms" ./cmd/idcsctl
echo "size: $(stat -c %s "$out/idcsctl") bytes (-trimpath -ldflags '-s -w', CGO_ENABLED=0)"
echo
echo "Biggest contributors (symbol sizes by package, from go tool nm; bss excluded):"
# A symbol's package is its name up to the first dot after its last slash.
# Symbols from runtime.bss on take no room in the file; addresses are
# compared as zero-padded hex strings, which any awk can do.
go tool nm -size -sort address "$out/idcsctl-syms" |
  awk 'function hex(a) { a = sprintf("%16s", a); gsub(/ /, "0", a); return a }
       $4 == "runtime.bss" { bss = hex($1) }
       { sym = $4; for (i = 5; i <= NF; i++) sym = sym " " $i; addr[NR] = hex($1); size[NR] = $2; name[NR] = sym }
       END {
         for (r = 1; r <= NR; r++) {
           if (bss != "" && addr[r] >= bss) continue
           sym = name[r]
           if (sym ~ /^(go:|type:)/) pkg = "(" substr(sym, 1, index(sym, ":")) " data)"
           else {
             slash = 0; for (i = 1; i <= length(sym); i++) if (substr(sym, i, 1) == "/") slash = i
             dot = index(substr(sym, slash + 1), ".")
             pkg = dot ? substr(sym, 1, slash + dot - 1) : sym
             sub(/^vendor\//, "", pkg)
           }
           total[pkg] += size[r]; all += size[r]
         }
         for (p in total) printf "%10d %5.1f%%  %s\n", total[p], 100 * total[p] / all, p
       }' |
  sort -rn | head -20
