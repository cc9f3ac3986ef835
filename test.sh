#!/usr/bin/env bash
# The whole test suite: vet, every test (the real Secret Service and Chromium
# tests included), cross-compiles of every release target, and short fuzz runs.
# Needs gnome-keyring, dbus and chromium (see .ci/run); without them those
# tests skip locally and fail in CI (CI=true).
set -euo pipefail
cd "$(dirname "$0")"

go vet ./...
go test -count=1 ./...

# Every release target must keep compiling, keyring code included.
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build -o /dev/null ./cmd/idcsctl
done
echo "cross-compiled: linux, darwin, windows x amd64, arm64"
