#!/bin/bash
# What `make run` runs: a private redis-server under ./var/ (unless
# GEOALARM_REDIS names one); fences.example.geojson loaded into it; then
# geoalarm-ingest on :8888 and geoalarm-engine with rules.example.lua in
# the foreground, both logging to stderr.  Ctrl-C (or SIGTERM to this
# script) stops both cleanly, then the private redis-server.
#
# usage: scripts/run.sh [BIN]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-bin}
case "$bin" in /*) ;; *) bin="$top/$bin";; esac
var="$top/var"
own_redis=
pids=

cleanup() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $pids; do
		while kill -0 "$p" 2>/dev/null; do
			wait "$p" 2>/dev/null || true
		done
	done
	if [ -n "$own_redis" ]; then
		"$top/scripts/redis-up.sh" stop "$var/redis"
	fi
}

if [ -z "${GEOALARM_REDIS:-}" ]; then
	GEOALARM_REDIS=$("$top/scripts/redis-up.sh" start "$var/redis")
	own_redis=1
	echo "run: private redis-server at $GEOALARM_REDIS (log: var/redis/redis.log)" >&2
fi
export GEOALARM_REDIS
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Loading is all or nothing and bumps the fence version, so a running
# engine picks the fences up too; re-running `make run` just rewrites them.
"$bin/geoalarm" fence import "$top/fences.example.geojson"

# Each daemon runs in its own session, so a Ctrl-C reaches it once, through
# cleanup's SIGTERM, and not also straight from the terminal.
setsid "$bin/geoalarm-ingest" --listen 0.0.0.0:8888 &
pids="$pids $!"
setsid "$bin/geoalarm-engine" --rules "$top/rules.example.lua" &
pids="$pids $!"

# Returns when either daemon exits or a signal arrives (the traps take
# over and stop the other one).
status=0
wait -n $pids || status=$?
exit "$status"
