#!/usr/bin/env bash
# Runs every go-fuzz target in the module for FUZZTIME each. The default is
# a count of executions, not a duration: Go 1.26's fuzz coordinator can fail a
# time-bounded run with "context deadline exceeded" on a loaded machine
# (golang/go#75804).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-20000x}
status=0
while IFS=: read -r file name; do
  pkg=./$(dirname "$file")
  echo "== $pkg $name ($FUZZTIME)"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime=2s -parallel=1 "$pkg"; then
    status=1
  fi
done < <(grep -rEo --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's#^\./##; s#:func #:#' | sort -u)
exit $status
