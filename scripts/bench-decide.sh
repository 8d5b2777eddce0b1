#!/usr/bin/env bash
# The engine's figures: one decision on a warm engine (BenchmarkDecide),
# the same policy and input under the opa CLI (`opa bench`), and the wall
# time of a whole `gatehouse check` of a local subject with file evidence.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/gatehouse}
OPA=${OPA:-bin/opa}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/gatehouse
[ -x "$OPA" ] || GOBIN="$PWD/bin" go install github.com/open-policy-agent/opa@v1.22.3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# Alternate the two, five rounds each, so that both see the same machine.
go test -c -o "$tmp/gates.test" ./gates
(cd gates && GATEHOUSE_BENCH_DIR="$tmp" "$tmp/gates.test" -test.count=1 -test.run '^TestWriteBenchInput$' >/dev/null)
: > "$tmp/gh.txt"; : > "$tmp/opa.txt"
echo "-- BenchmarkDecide (gatehouse engine, default bundle, warm) and opa bench (same policy, data, input), alternating"
for i in 1 2 3 4 5; do
  (cd gates && "$tmp/gates.test" -test.run '^$' -test.bench '^BenchmarkDecide$' -test.benchmem -test.benchtime 2s) | grep -E '^Benchmark' | tee -a "$tmp/gh.txt"
  "$OPA" bench --v1-compatible --format gobench -d policies -d "$tmp/data.json" -i "$tmp/input.json" "$(cat "$tmp/query.txt")" \
    | grep -E '^Benchmark' | awk '{print $1, $2, $3, $4}' | tee -a "$tmp/opa.txt"
done
gh_ns=$(awk '/^BenchmarkDecide/ {print $3}' "$tmp/gh.txt" | median)
opa_ns=$(awk '{for (i=1;i<NF;i++) if ($(i+1)=="ns/op") print $i}' "$tmp/opa.txt" | median)

echo "-- gatehouse check wall time, process start included (20 runs)"
: > "$tmp/wall.txt"
for i in $(seq 20); do
  s=$(date +%s%N)
  "$BIN" check --env dev --format json=/dev/null --evidence model_scan=testdata/evidence/model_scan-clean.json model:testdata/models/clean >/dev/null 2>&1 || true
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 )) >> "$tmp/wall.txt"
done
wall_us=$(median < "$tmp/wall.txt")

awk -v g="$gh_ns" -v o="$opa_ns" -v w="$wall_us" 'BEGIN {
  printf "\nRESULT decide median: gatehouse %.1f µs/decision (target ≤ 200 µs)\n", g/1000
  printf "RESULT opa bench median: %.1f µs/eval  → opa/gatehouse = %.2f× (gatehouse must be ≥ 1.00×)\n", o/1000, o/g
  printf "RESULT gatehouse check wall (model, file evidence) median: %.1f ms (target ≤ 150 ms)\n", w/1000
}'
