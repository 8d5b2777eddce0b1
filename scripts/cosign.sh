#!/usr/bin/env bash
# Builds the cosign CLI at the version go.mod names, once per version, into
# a cache outside the checkout (about 8 minutes on 2 cores), and prints its
# path. The interop tests find it through GATEHOUSE_COSIGN (scripts/test-env.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(go list -m -f '{{.Version}}' github.com/sigstore/cosign/v2)
dir="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/cosign-$version"
if [ ! -x "$dir/cosign" ]; then
  echo "building cosign $version from the Go module proxy into $dir (once per version)" >&2
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-mod=mod go install "github.com/sigstore/cosign/v2/cmd/cosign@$version" >&2
fi
echo "$dir/cosign"
