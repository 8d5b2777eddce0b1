#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine:
#  - docker-registry (the Distribution registry), which the attest/oci tests
#    start on 127.0.0.1 themselves (or use GATEHOUSE_TEST_REGISTRY=host:port);
#  - the opa CLI at the version go.mod names, for `opa test` of the policies.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} from Debian's packages"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "warning: ${need[*]} missing and cannot be installed here (need root and apt-get); tests that need them will skip and say why" >&2
  fi
fi
if [ ! -x bin/opa ]; then
  GOBIN="$PWD/bin" go install "github.com/open-policy-agent/opa@$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)"
fi
