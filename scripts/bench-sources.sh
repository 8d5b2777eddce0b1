#!/usr/bin/env bash
# Figures of issue 12 (docs/remote-artifacts.md), side by side in one run:
#  - a safetensors + pickle model artifact streamed from the loopback
#    registry vs crane pull of the same artifact to disk (target <= 1.5x,
#    peak RSS <= 256 MiB); GATEHOUSE_BENCH_MIB sets the size (default 512;
#    the issue's figure is 2048);
#  - a 64 MiB PII sample of a large object in fake-gcs-server (target <= 5 s);
#    GATEHOUSE_BENCH_GCS_MIB sets the object size (the issue's figure is 1024);
#  - the same model artifact scanned by the model scanner (scan.Model), by
#    the built binary (`gatehouse check --env dev model:oci://…` and of the
#    folder on disk, under /usr/bin/time -v: wall time and max RSS), next
#    to crane pull in the same run. GATEHOUSE_BENCH_BIN=random makes the
#    .bin random bytes instead of a PyTorch zip checkpoint.
# The machine is shared: the load average is printed before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
. scripts/test-env.sh
export GATEHOUSE_BENCH_MIB=${GATEHOUSE_BENCH_MIB:-512}
uptime
$GO test ./sources/ -run '^$' -bench '^Benchmark(OCI|GCSSample)$' -benchtime 1x -benchmem -timeout 30m | grep -E '^Benchmark|skip'
bin=$(mktemp -d)/gatehouse
trap 'rm -rf "$(dirname "$bin")"' EXIT
$GO build -o "$bin" ./cmd/gatehouse
uptime
GATEHOUSE_BENCH_GATEHOUSE=$bin $GO test ./sources/scan/ -run '^$' -bench '^BenchmarkModelScanOCI$' -benchtime 1x -timeout 30m | grep -aE '^Benchmark|skip|FAIL'
uptime
