#!/usr/bin/env bash
# make bench: every figure the issues name, each beside its baseline in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for s in scripts/bench-*.sh; do
  echo "=================== $s"
  if ! "$s"; then
    echo "!! $s failed"
    status=1
  fi
done
exit $status
