#!/usr/bin/env bash
# The admission webhook's figures, end to end on loopback: `gatehouse serve
# --self-signed` with the real registry client, an image in Debian's
# docker-registry signed by the real cosign CLI and attested by
# `gatehouse check --attest`, reviews sent by cmd/admission-load over TLS
# and HTTP/2. Prints warm throughput and p99 (target >= 2,000/s, p99 <= 10 ms),
# the warm p99 at 2,000/s, and 2x that load for 60 s with the server's
# goroutines and memory before and after (bounded, no growth).
set -euo pipefail
cd "$(dirname "$0")/.."
export COSIGN_PASSWORD=""
command -v docker-registry >/dev/null || { echo "skip: docker-registry not installed (scripts/test-setup.sh)"; exit 0; }
cosign=$(scripts/cosign.sh)
make -s build
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$tmp/gatehouse-registry.pid" ] && kill "$(cat "$tmp/gatehouse-registry.pid")" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

reg=$(TMPDIR=$tmp GATEHOUSE_REGISTRY_PORT=$(free_port) scripts/start-registry.sh 2>/dev/null)
crane="go run github.com/google/go-containerregistry/cmd/crane@$(go list -m -f '{{.Version}}' github.com/google/go-containerregistry)"
echo payload > "$tmp/f" && tar -C "$tmp" -cf "$tmp/layer.tar" f
$crane append --insecure --oci-empty-base -f "$tmp/layer.tar" -t "$reg/bench/app:v1" >/dev/null
img="$reg/bench/app@$($crane digest --insecure "$reg/bench/app:v1")"

mkdir -p "$tmp/cfg/keys"
(cd "$tmp/cfg/keys" && "$cosign" generate-key-pair --output-key-prefix cosign >/dev/null 2>&1 && "$cosign" generate-key-pair --output-key-prefix gate >/dev/null 2>&1)
"$cosign" sign --tlog-upload=false --yes --allow-insecure-registry --key "$tmp/cfg/keys/cosign.key" "$img" >/dev/null 2>&1
cp admission/testdata/e2e/gatehouse.yaml "$tmp/cfg/gatehouse.yaml"
cat >> "$tmp/cfg/gatehouse.yaml" <<CFG
  namespaces:
    ml: {mode: enforce, environment: prod}
CFG
bin/gatehouse check --config "$tmp/cfg/gatehouse.yaml" --env prod --attest --key "$tmp/cfg/keys/gate.key" "image:$img" >/dev/null 2>&1

port=$(free_port)
bin/gatehouse serve --self-signed --addr "127.0.0.1:$port" --config "$tmp/cfg/gatehouse.yaml" \
  --self-signed-ca "$tmp/ca.pem" --audit "jsonl:$tmp/audit.jsonl" --log-level warn &
pids+=($!)
for _ in $(seq 100); do curl -skf "https://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
metrics() { curl -sk "https://127.0.0.1:$port/metrics" | awk '/^go_goroutines / {g=$2} /^process_resident_memory_bytes / {r=$2} /^go_memstats_heap_alloc_bytes / {h=$2} END {printf "goroutines %d, heap %.1f MiB, RSS %.1f MiB\n", g, h/1048576, r/1048576}'; }

load() { go run ./cmd/admission-load --url "https://127.0.0.1:$port/validate" --ca "$tmp/ca.pem" --image "$img" --namespace ml --expect allowed "$@"; }
echo "-- warm, 8 workers flat out, 15 s (target >= 2,000/s with p99 <= 10 ms)"
load --workers 8 --duration 15s
echo "-- warm, 2,000 reviews/s, 30 s"
load --workers 32 --rate 2000 --duration 30s
echo "-- 2x the target (4,000/s) for 60 s: server before: $(metrics)"
load --workers 64 --rate 4000 --duration 60s || true
echo "   server after: $(metrics)"
