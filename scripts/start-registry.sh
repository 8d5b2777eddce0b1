#!/bin/sh
# Start a Distribution (docker-registry 2.8) registry on loopback for tests.
# Installs Debian's docker-registry when missing (needs root). Prints the
# address (host:port) on stdout; the PID and data folder go to stderr.
#   export GATEHOUSE_TEST_REGISTRY=$(scripts/start-registry.sh)
# Stop it with: kill "$(cat "${TMPDIR:-/tmp}/gatehouse-registry.pid")"
set -eu
PORT="${GATEHOUSE_REGISTRY_PORT:-5055}"
if ! command -v docker-registry >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "start-registry: docker-registry is not installed; run as root or: apt-get install -y docker-registry" >&2
		exit 2
	fi
	apt-get install -y docker-registry >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y docker-registry >/dev/null; }
fi
DIR=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-registry.XXXXXX")
cat >"$DIR/config.yml" <<CFG
version: 0.1
storage:
  filesystem: {rootdirectory: $DIR/data}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$PORT}
log: {level: warn}
CFG
docker-registry serve "$DIR/config.yml" >"$DIR/registry.log" 2>&1 &
PID=$!
echo "$PID" >"${TMPDIR:-/tmp}/gatehouse-registry.pid"
i=0
while [ $i -lt 100 ]; do
	if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v2/" 2>/dev/null; then
		echo "start-registry: pid $PID, data $DIR" >&2
		echo "127.0.0.1:$PORT"
		exit 0
	fi
	if ! kill -0 "$PID" 2>/dev/null; then
		echo "start-registry: docker-registry exited; log:" >&2
		cat "$DIR/registry.log" >&2
		exit 2
	fi
	i=$((i + 1))
	sleep 0.1
done
echo "start-registry: no answer from GET http://127.0.0.1:$PORT/v2/ after 10s" >&2
kill "$PID" 2>/dev/null || true
exit 2
