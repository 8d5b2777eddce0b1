#!/bin/sh
# BenchmarkVerifyImage against a real Distribution registry on loopback:
# verify one image's signature and VSA (combined: VerifyImage; separate: two
# calls). Target: median <= 20 ms/op.
set -eu
cd "$(dirname "$0")/.."
ADDR=$(GATEHOUSE_REGISTRY_PORT="${GATEHOUSE_REGISTRY_PORT:-5056}" scripts/start-registry.sh)
PIDFILE="${TMPDIR:-/tmp}/gatehouse-registry.pid"
trap 'kill "$(cat "$PIDFILE")" 2>/dev/null || true' EXIT
GATEHOUSE_TEST_REGISTRY="$ADDR" go test ./attest/oci/ -run '^$' -bench BenchmarkVerifyImage -benchtime 100x -count 5
