#!/usr/bin/env bash
# Figures of issue 12 (docs/remote-artifacts.md), side by side in one run:
#  - a safetensors + pickle model artifact streamed from the loopback
#    registry vs crane pull of the same artifact to disk (target <= 1.5x,
#    peak RSS <= 256 MiB); GATEHOUSE_BENCH_MIB sets the size (default 512;
#    the issue's figure is 2048);
#  - a 64 MiB PII sample of a large object in fake-gcs-server (target <= 5 s);
#    GATEHOUSE_BENCH_GCS_MIB sets the object size (the issue's figure is 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
. scripts/test-env.sh
$GO test ./sources/ -run '^$' -bench '^Benchmark(OCI|GCSSample)$' -benchtime 1x -benchmem -timeout 30m | grep -E '^Benchmark|skip'
