#!/usr/bin/env bash
# Figures of the PII scanner (docs/pii-scanner.md):
#  - full mode >= 100 MB/s per core on a mixed CSV (BenchmarkFullCSV, -cpu 1)
#  - the same file through `gatehouse scan dataset --workers 1`, next to a plain
#    e-mail grep (one regular expression, no checksums, no context) for scale.
# Usage: scripts/bench-pii.sh [SIZE_BYTES]   (default 67108864 = 64 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
SIZE=${1:-67108864}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== BenchmarkFullCSV (64 MiB mixed CSV, one core; target >= 100 MB/s)"
$GO test ./scanners/pii/ -run '^$' -bench '^BenchmarkFullCSV$' -benchtime 5x -cpu 1 | grep -E '^Benchmark'

echo "== generate $SIZE bytes of the same mixed CSV"
$GO run ./scanners/pii/internal/gencsv/cmd/gencsv -size "$SIZE" -out "$tmp/mixed.csv" >/dev/null
$GO build -o "$tmp/gatehouse" ./cmd/gatehouse
bytes=$(stat -c %s "$tmp/mixed.csv")
cat "$tmp/mixed.csv" >/dev/null # page cache

now() { date +%s.%N; }
t0=$(now)
set +e
"$tmp/gatehouse" scan dataset --workers 1 --format json "$tmp/mixed.csv" >"$tmp/ev.json"
rc=$?
set -e
t1=$(now)
if [ "$rc" -ne 1 ]; then
	echo "gatehouse scan dataset exited $rc, want 1 (PII found)" >&2
	exit 1
fi
t2=$(now)
LC_ALL=C grep -cE '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}' "$tmp/mixed.csv" >"$tmp/grep.count"
t3=$(now)

awk -v b="$bytes" -v g0="$t0" -v g1="$t1" -v r0="$t2" -v r1="$t3" -v n="$(cat "$tmp/grep.count")" 'BEGIN {
	gh = b / (g1 - g0) / 1e6; gr = b / (r1 - r0) / 1e6
	printf "gatehouse scan dataset (all entities, one worker): %8.1f MB/s (%.2f s)\n", gh, g1 - g0
	printf "grep -cE e-mail regex (one entity, %d lines):     %8.1f MB/s (%.2f s)\n", n, gr, r1 - r0
	printf "ratio gatehouse/grep: %.2f\n", gh / gr
}'
