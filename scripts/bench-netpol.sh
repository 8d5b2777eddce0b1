#!/usr/bin/env bash
# Figures of issue 11 (docs/network-policies.md): CiliumNetworkPolicies for
# 1,000 Score specs (load, generate, Cilium validation, YAML) in <= 1 s on
# one core; the Score loader and the KFP parser beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
echo "== BenchmarkGenerate1000 (target <= 1 s/op on one core)"
$GO test ./netpol/ -run '^$' -bench '^BenchmarkGenerate1000$' -benchtime 3x -cpu 1 -benchmem | grep -E '^Benchmark'
echo "== BenchmarkLoad (one Score spec through score-go's pipeline)"
$GO test ./scanners/score/ -run '^$' -bench '^BenchmarkLoad$' -cpu 1 -benchmem | grep -E '^Benchmark'
echo "== BenchmarkParse (a compiled KFP pipeline)"
$GO test ./scanners/kfp/ -run '^$' -bench '^BenchmarkParse$' -cpu 1 -benchmem | grep -E '^Benchmark'
