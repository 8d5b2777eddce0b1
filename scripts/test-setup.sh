#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine:
#  - docker-registry (the Distribution registry), which the attest/oci tests
#    start on 127.0.0.1 themselves (or use GATEHOUSE_TEST_REGISTRY=host:port);
#  - the opa CLI at the version go.mod names, for `opa test` of the policies;
#  - Debian's chromium, headless, for the audit web pages' end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# Debian's chromium for the audit pages' browser test (audit/web_test.go).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
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
# Microsoft's SARIF Multitool validates our SARIF (gates/report tests), from
# npm, cached outside the checkout once per version.
SARIF_MT_VERSION=5.7.0
mt="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/sarif-multitool-$SARIF_MT_VERSION"
if [ ! -x "$mt/node_modules/.bin/sarif-multitool" ] && command -v npm >/dev/null 2>&1; then
  echo "installing @microsoft/sarif-multitool@$SARIF_MT_VERSION from npm into $mt"
  mkdir -p "$mt"
  npm install --silent --no-audit --no-fund --prefix "$mt" -E "@microsoft/sarif-multitool@$SARIF_MT_VERSION" >/dev/null ||
    echo "warning: sarif-multitool could not be installed; TestSARIFMultitool will skip and say why" >&2
fi
# npm skips the package's postinstall that marks the binary executable.
[ -f "$mt/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" ] &&
  chmod u+x "$mt/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
true
# The real cosign CLI for the interop tests (cmd/gatehouse cosign tests).
scripts/cosign.sh >/dev/null || echo "warning: cosign could not be built; the cosign interop tests will skip and say why" >&2
# The SPDX License List's texts (npm spdx-license-list) for the licence accuracy test.
scripts/spdx-texts.sh >/dev/null || echo "warning: the SPDX texts could not be installed; TestSPDXListAccuracy will skip and say why" >&2
# fake-gcs-server for the sources/ bucket tests (scripts/fake-gcs.sh, cached).
scripts/fake-gcs.sh >/dev/null || echo "warning: fake-gcs-server could not be built; the sources/ bucket tests will skip and say why" >&2
# kube-apiserver and etcd for the admission end-to-end tests (scripts/kube.sh, cached).
scripts/kube.sh >/dev/null || echo "warning: kube-apiserver/etcd could not be built; the admission e2e tests will skip and say why" >&2
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust) for the audit store's
# PostgreSQL half: started (and installed from Debian, trust for loopback)
# when it is not already running; the tests skip and say why without it.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      echo "installing postgresql from Debian's packages"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } || true
    fi
    for conf in /etc/postgresql/*/main/pg_hba.conf; do
      [ -f "$conf" ] || continue
      grep -q '^host all postgres 127.0.0.1/32 trust' "$conf" || sed -i '1i host all postgres 127.0.0.1/32 trust' "$conf"
      v=$(basename "$(dirname "$(dirname "$conf")")")
      pg_ctlcluster "$v" main start 2>/dev/null || pg_ctlcluster "$v" main reload 2>/dev/null || true
    done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || echo "warning: no PostgreSQL on 127.0.0.1:5432; the audit store's PostgreSQL tests will skip and say why" >&2
fi
