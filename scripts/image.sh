#!/bin/sh
# Build the gatehouse container image without a container daemon, push it,
# sign it and pin deploy/ to its digest.
#
#   scripts/image.sh REGISTRY/REPO[:TAG] [--key cosign.key] [--insecure] [--no-pin]
#
# The image is a static binary (CGO_ENABLED=0, -trimpath, no build id) and
# the CA bundle, in one layer on an empty base: no shell, no package
# manager, user 65532. Every timestamp is fixed (files at the epoch, the
# image's created time go-containerregistry's zero time), so the same
# source, Go version and CA bundle give the same digest on any machine.
# Layers are assembled with go-containerregistry's crane at the version in
# go.mod (`go run`, no install).
#
# --key signs the pushed digest with cosign (GATEHOUSE_COSIGN or cosign on
# PATH; COSIGN_PASSWORD for an encrypted key; COSIGN_FLAGS adds flags, e.g.
# --tlog-upload=false for a registry not on the internet). Without --no-pin
# deploy/base/kustomization.yaml's images: entry is rewritten to the digest.
# CA_BUNDLE overrides the CA bundle copied in (default: the host's).
set -eu

usage() { echo "usage: $0 REGISTRY/REPO[:TAG] [--key KEY] [--insecure] [--no-pin]" >&2; exit 2; }
[ $# -ge 1 ] || usage
ref=$1; shift
key=""; insecure=""; pin=1
while [ $# -gt 0 ]; do
	case $1 in
	--key) [ $# -ge 2 ] || usage; key=$2; shift 2 ;;
	--insecure) insecure=--insecure; shift ;;
	--no-pin) pin=0; shift ;;
	*) usage ;;
	esac
done
case $ref in
*@*) echo "$0: $ref: give a repository or a tag, the digest is the output" >&2; exit 2 ;;
*/*:*) repo=${ref%:*} ;;
*) repo=$ref; ref=$ref:latest ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
[ -f "$ca" ] || { echo "$0: no CA bundle at $ca (set CA_BUNDLE)" >&2; exit 2; }
crane="go run github.com/google/go-containerregistry/cmd/crane@$(go list -m -f '{{.Version}}' github.com/google/go-containerregistry)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/etc/ssl/certs" "$work/root/tmp"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -buildvcs=false \
	-ldflags="-s -w -buildid=" -o "$work/root/gatehouse" ./cmd/gatehouse
cp "$ca" "$work/root/etc/ssl/certs/ca-certificates.crt"
chmod 0755 "$work/root" "$work/root/gatehouse" "$work/root/etc" "$work/root/etc/ssl" "$work/root/etc/ssl/certs"
chmod 1777 "$work/root/tmp"
chmod 0644 "$work/root/etc/ssl/certs/ca-certificates.crt"
# Reproducible tar: sorted names, numeric root owner, epoch times, no pax
# headers carrying access times.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
	-C "$work/root" -cf "$work/layer.tar" .

# Push the layer on an empty OCI base, then set the config in place.
$crane append $insecure --oci-empty-base -f "$work/layer.tar" -t "$ref" >/dev/null
digestref=$($crane mutate $insecure "$ref" -t "$ref" \
	--set-platform linux/amd64 \
	--entrypoint /gatehouse --cmd serve \
	--user 65532:65532 --workdir / \
	--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	-l org.opencontainers.image.source=https://github.com/gatehouse-dev/gatehouse \
	-l org.opencontainers.image.title=gatehouse)
digest=${digestref#*@}
echo "$repo@$digest"

if [ -n "$key" ]; then
	cosign=${GATEHOUSE_COSIGN:-$(command -v cosign || true)}
	[ -n "$cosign" ] || { echo "$0: --key given but no cosign (set GATEHOUSE_COSIGN or put cosign on PATH)" >&2; exit 1; }
	allow=""
	[ -n "$insecure" ] && allow=--allow-insecure-registry
	# shellcheck disable=SC2086 # COSIGN_FLAGS is a list of flags
	"$cosign" sign --yes --key "$key" $allow ${COSIGN_FLAGS:-} "$repo@$digest" >&2
	echo "$0: signed $repo@$digest" >&2
fi

if [ "$pin" = 1 ]; then
	k=deploy/base/kustomization.yaml
	# Rewrite the one images: entry (name: gatehouse) in place.
	awk -v repo="$repo" -v digest="$digest" '
		/^images:/ { inimg = 1 }
		inimg && /^[^ -]/ && !/^images:/ { inimg = 0 }
		inimg && /newName:/ { sub(/newName:.*/, "newName: " repo) }
		inimg && /digest:/ { sub(/digest:.*/, "digest: " digest) }
		{ print }
	' "$k" >"$work/k" && cat "$work/k" >"$k"
	echo "$0: pinned $k to $repo@$digest" >&2
fi
