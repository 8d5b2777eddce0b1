#!/usr/bin/env bash
# Figures of the native model scanner (docs/model-scanner.md):
#  - pickle walking rate: >= 9 M opcodes/s (20x picklescan's ~0.45 M/s)
#  - a 4 GiB PyTorch checkpoint (sparse file) scanned in <= 0.5 s from page cache
#  - peak resident memory while scanning it: < 200 MiB
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== pickle walk (1 M opcodes; picklescan: ~0.45 M opcodes/s)"
$GO test ./scanners/model/pickle/ -run '^$' -bench '^BenchmarkPickleWalk$' -benchtime 20x | grep -E '^Benchmark'
echo "== 4 GiB PyTorch checkpoint (target <= 0.5 s/op, peak RSS < 200 MiB)"
$GO test ./scanners/model/ -run '^$' -bench '^BenchmarkTorchCheckpoint$' -benchtime 5x | grep -E '^Benchmark'
