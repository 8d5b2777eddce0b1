# Sourced by `make test-go`: environment for the test run.
# docker-registry from Debian lives in /usr/bin; tests find it on PATH.
export PATH="$PATH:/usr/bin:/usr/sbin"
# SARIF Multitool installed by scripts/test-setup.sh, when it could be.
_mt="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/sarif-multitool-5.7.0/node_modules/.bin/sarif-multitool"
[ -x "$_mt" ] && export GATEHOUSE_SARIF_MULTITOOL="$_mt"
unset _mt
# cosign built by scripts/cosign.sh at go.mod's version, when it could be.
_cosign="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/cosign-$(go list -m -f '{{.Version}}' github.com/sigstore/cosign/v2 2>/dev/null)/cosign"
[ -x "$_cosign" ] && export GATEHOUSE_COSIGN="$_cosign"
unset _cosign
# kube-apiserver and etcd built by scripts/kube.sh, when they could be.
_kube="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/kube-${KUBE_VERSION:-v1.37.2}-etcd-${ETCD_VERSION:-v3.7.0}"
[ -x "$_kube/kube-apiserver" ] && [ -x "$_kube/etcd" ] && export GATEHOUSE_KUBE_ASSETS="$_kube"
unset _kube
# Debian's chromium (scripts/test-setup.sh) for audit/web_test.go.
if command -v chromium >/dev/null 2>&1; then export GATEHOUSE_CHROMIUM="$(command -v chromium)"; fi
# fake-gcs-server built by scripts/fake-gcs.sh, when it could be.
_fgcs="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/fake-gcs-server-v1.56.1/fake-gcs-server"
[ -x "$_fgcs" ] && export GATEHOUSE_FAKE_GCS="$_fgcs"
unset _fgcs
