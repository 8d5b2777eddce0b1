#!/usr/bin/env bash
# Builds fsouza/fake-gcs-server (a GCS JSON API emulator) from the Go module
# proxy, once per version, into a cache outside the checkout, and prints its
# path. The sources/ bucket tests and benchmarks find it through
# GATEHOUSE_FAKE_GCS (scripts/test-env.sh) or this cache path, and skip with
# the reason when it is absent.
set -euo pipefail
version=v1.56.1
dir="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/fake-gcs-server-$version"
if [ ! -x "$dir/fake-gcs-server" ]; then
  echo "building fake-gcs-server $version from the Go module proxy into $dir (once per version)" >&2
  mkdir -p "$dir"
  # Outside any module so go.mod of the checkout is neither read nor changed.
  (cd "$dir" && GOBIN="$dir" GOFLAGS=-mod=mod GOWORK=off go install "github.com/fsouza/fake-gcs-server@$version") >&2
fi
echo "$dir/fake-gcs-server"
