#!/bin/sh
# Starts or stops a private redis-server kept under DIR: unix socket
# DIR/redis.sock only (no TCP port), append-only file with fsync on every
# write, pid in DIR/redis.pid, log in DIR/redis.log.
#
# usage: scripts/redis-up.sh start DIR   # waits until PING answers, prints the URL
#        scripts/redis-up.sh stop DIR    # waits until the server has exited
set -eu

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	echo "usage: $0 start|stop DIR" >&2
	exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock="$dir/redis.sock"
pidfile="$dir/redis.pid"

running() {
	[ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

case "$cmd" in
start)
	if [ ${#sock} -gt 100 ]; then
		echo "redis-up: socket path too long for a unix socket: $sock" >&2
		exit 1
	fi
	if running; then
		echo "unix://$sock"
		exit 0
	fi
	rm -f "$pidfile"
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
		--dir "$dir" --pidfile "$pidfile" --logfile "$dir/redis.log" \
		--daemonize yes --appendonly yes --appendfsync always \
		--save "" >/dev/null
	# Bounded wait: 10 s in steps of 0.1 s.
	i=0
	while [ $i -lt 100 ]; do
		if [ -S "$sock" ] && redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; then
			echo "unix://$sock"
			exit 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	echo "redis-up: redis-server did not answer within 10 s; see $dir/redis.log" >&2
	exit 1
	;;
stop)
	running || exit 0
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null || true
	i=0
	while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	;;
*)
	echo "usage: $0 start|stop DIR" >&2
	exit 2
	;;
esac
