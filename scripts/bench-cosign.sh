#!/usr/bin/env bash
# Verify latency of an image signed by the real cosign CLI in Sigstore bundle
# form against one signed in cosign's tag scheme, alternating, on Debian's
# Distribution 2.8 and go-containerregistry's registry (loopback), blob
# cache off. Target: bundle within 20% of the tag scheme.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/test-env.sh
if [ -z "${GATEHOUSE_COSIGN:-}" ]; then
  echo "skip: no cosign CLI (run scripts/cosign.sh)"; exit 0
fi
go test ./cmd/gatehouse/ -run '^$' -bench '^BenchmarkCosignVerifyImage$' -benchtime 300x -count 3 | grep -E '^Benchmark'
