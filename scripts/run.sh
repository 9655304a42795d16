#!/bin/sh
# What `make run` runs: a private redis-server under ./var/ (unless
# GEOALARM_REDIS names one), then geoalarm-ingest on :8888 in the
# foreground, logging to stderr.  Ctrl-C stops ingest, then the private
# redis-server.
#
# usage: scripts/run.sh [BIN]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-bin}
case "$bin" in /*) ;; *) bin="$top/$bin";; esac
var="$top/var"
own_redis=

cleanup() {
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
trap 'exit 130' INT TERM

# Not exec: the trap must still stop redis when ingest exits.
"$bin/geoalarm-ingest" --listen 0.0.0.0:8888 || status=$?
exit "${status:-0}"
