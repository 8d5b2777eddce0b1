#!/usr/bin/env bash
# Installs the SPDX License List's texts (the npm package spdx-license-list,
# CC0-1.0, one JSON file per licence with its full text) once per version into
# ${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/spdx-license-list-<ver> and prints
# the folder that holds licenses/*.json and spdx.json.
# scanners/license's TestSPDXListAccuracy reads it (GATEHOUSE_SPDX_TEXTS
# overrides the folder) and skips, saying why, when it is absent.
set -euo pipefail
SPDX_LIST_VERSION=6.12.0 # SPDX License List 3.28.0 (2026-02-20); keep in step with spdxListVersion in scanners/license
dir="${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/spdx-license-list-$SPDX_LIST_VERSION"
pkg="$dir/node_modules/spdx-license-list"
if [ ! -f "$pkg/licenses/MIT.json" ]; then
  command -v npm >/dev/null 2>&1 || { echo "spdx-texts.sh: npm is not installed; the SPDX list accuracy test will skip" >&2; exit 1; }
  echo "installing spdx-license-list@$SPDX_LIST_VERSION from npm into $dir" >&2
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$dir" -E "spdx-license-list@$SPDX_LIST_VERSION" >/dev/null
  [ -f "$pkg/licenses/MIT.json" ] || { echo "spdx-texts.sh: $pkg/licenses/MIT.json missing after npm install" >&2; exit 1; }
fi
echo "$pkg"
