#!/usr/bin/env bash
# fuzz.sh DURATION — run every Fuzz target of the module for DURATION each.
# go test -fuzz takes one target of one package at a time, so this walks them all.
set -euo pipefail
duration=${1:-30s}
go=${GO:-go}
status=0
for pkg in $("$go" list ./...); do
  dir=$("$go" list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    echo "== $pkg $t ($duration)"
    "$go" test -run='^$' -fuzz="^${t}\$" -fuzztime="$duration" -fuzzminimizetime=2s "$pkg" || status=1
  done
done
exit $status
