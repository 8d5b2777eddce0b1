#!/usr/bin/env bash
# Figure of issue 13 (docs/fairness.md): 10 M prediction rows with two group
# columns (CSV) in <= 10 s on one core, memory independent of the row count
# (B/op and peak heap equal at 1 M and 10 M rows).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
$GO test ./scanners/fairness/ -run '^$' -bench '^BenchmarkScanCSV' -benchtime 1x -cpu 1 -benchmem | grep -E '^Benchmark'
