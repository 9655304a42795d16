#!/bin/bash
# `make bench`: measures geoalarm on this machine against a private
# redis-server and prints one line per figure, `bench: NAME VALUE UNIT`,
# then a summary of the same lines with ratios to Redis's own XADD ceiling
# (redis-benchmark -P 64 in the same run, on the same server).
#
# Scenarios (each skipped, with a note on stderr, when its pieces are not
# built yet):
#   redis     redis-benchmark XADD, pipelined 64 deep: the ceiling
#   decode    in-process decode of the simulator's frame mix, one core
#   fences    in-process fence_set_covers at F = 100, 1000, 10000
#   ingest    10,000 TCP + 500 UDP devices, first as fast as they can send
#             (a few reports per TCP write), then paced at 100,000/s (one
#             per write): reports/s into P:positions while they send, in
#             all, losses (and the kernel's UDP drops), CPU per report of
#             ingest, Redis and the simulator, RSS per connected device
#   engine    positions/s and alerts/s through the engine from a pre-filled
#             stream, F = 100, 1000, 10000, rules.example.lua
#   rules     per-position cost of rules.example.lua's Lua rules: in
#             process (rules_run), and through the engine (with it minus
#             without custom rules, same stream)
#   e2e       device send -> alert on SUBSCRIBE at 10,000 reports/s:
#             p50, p99, p99.9
#
# Redis runs without persistence: the figures are geoalarm's, not the
# disk's (redis-up.sh's fsync-always would measure the disk).  Every wait is
# bounded; all processes started here are stopped on exit.  The whole run
# stays under 5 minutes on 2 cores.
#
# usage: scripts/bench.sh [BUILD [BIN]]
#   env BENCH_ONLY="ingest e2e" runs a subset; BENCH_KEEP=DIR keeps the
#   end-to-end latency samples and logs there; BENCH_E2E_RATE=R runs the
#   end-to-end scenario at R reports/s instead of 10,000.
set -u
build=${1:-build}
bin=${2:-bin}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
tools=$build/tools
data=bench-data
prefix=geoalarm
only=${BENCH_ONLY:-}
budget=290		# seconds; scenarios that would overrun are skipped

T=$(mktemp -d /tmp/ga-bench.XXXXXX)
sock=$T/redis.sock
url=unix://$sock
results=$T/results
pids=()
redis_dir=
redis_pid=

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
	done
	[ -n "$redis_dir" ] && scripts/redis-up.sh stop "$redis_dir"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null

note() { echo "bench.sh: $*" >&2; }
fig() { echo "bench: $1 $2 $3" | tee -a "$results"; }
rb() { python3 scripts/bench_redis.py "$sock" "$@"; }
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
left() { echo $((budget - SECONDS)); }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# Datagrams the kernel dropped because a UDP receive buffer was full.
udp_drops() {
	awk '$1 == "Udp:" { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 }
		else print $c["RcvbufErrors"] }' /proc/net/snmp
}
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# wait_for SECONDS CMD...: polls CMD every 0.1 s; fails after SECONDS.
wait_for() {
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

stop_pid() {
	local p=$1
	kill "$p" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# ---- processes ---------------------------------------------------------------

# The project's private server (scripts/redis-up.sh), with its
# fsync-always persistence switched off for the run: the figures are
# geoalarm's and Redis's, not the disk's.
start_redis() {
	if [ -x scripts/redis-up.sh ]; then
		scripts/redis-up.sh start "$T/redis" >/dev/null || exit 1
		redis_dir=$T/redis
		sock=$T/redis/redis.sock
		url=unix://$sock
		redis-cli -s "$sock" config set appendonly no >/dev/null
		redis-cli -s "$sock" config set save "" >/dev/null
		redis_pid=$(redis-cli -s "$sock" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p')
		return
	fi
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
		--dir "$T" --save "" --appendonly no --logfile "$T/redis.log" \
		>/dev/null 2>&1 &
	redis_pid=$!
	pids+=("$!")
	wait_for 10 sh -c "redis-cli -s '$sock' ping | grep -q PONG" || {
		note "redis-server did not answer within 10 s"
		exit 1
	}
}

ingest_pid=
ingest_port=
start_ingest() {
	"$bin/geoalarm-ingest" --listen 127.0.0.1:0 --redis "$url" \
		--stream-maxlen 100000000 --buffer 1000000 >"$T/ingest.log" 2>&1 &
	ingest_pid=$!
	pids+=("$ingest_pid")
	wait_for 10 grep -q 'listening on 127.0.0.1:[0-9]*' "$T/ingest.log" || {
		note "ingest did not start; see its log:"
		tail -5 "$T/ingest.log" >&2
		return 1
	}
	ingest_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/ingest.log" | head -1)
}

engine_pid=
start_engine() { # rules-file log-name [extra flags]
	local rules=$1 name=$2
	shift 2
	"$bin/geoalarm-engine" --rules "$rules" --redis "$url" "$@" \
		>"$T/$name.log" 2>&1 &
	engine_pid=$!
	pids+=("$engine_pid")
}

have() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || { note "skipped: $f is not built"; return 1; }
	done
}

# fleet ARGS...: the simulator against the running ingest.
fleet() { "$tools/fleetsim" --target "127.0.0.1:$ingest_port" "$@" 2>>"$T/fleetsim.log"; }

# ---- scenarios ---------------------------------------------------------------

bench_redis() {
	local out
	out=$(redis-benchmark -s "$sock" -P 64 -n 1000000 -q XADD bench:s '*' f v 2>&1 |
		tr '\r' '\n' | grep 'requests per second' | tail -1)
	fig redis_xadd_p64 "$(echo "$out" | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')" ops/s
	# The same with a position-sized entry (the fields ingest writes).
	out=$(redis-benchmark -s "$sock" -P 64 -n 300000 -q XADD bench:s '*' \
		device 001000000042 proto tk103 time 1732320000000 recv 1732320000123 \
		valid 1 lat 48.117300 lon 11.516667 speed 45.3 course 87.25 \
		charge 1 ignition 1 odometer 123456 \
		raw '(001000000042BR00180312A4807.0380N01131.0000E045.3095642087.2501000000L0001E2F5)' \
		transport tcp peer 127.0.0.1:40000 2>&1 |
		tr '\r' '\n' | grep 'requests per second' | tail -1)
	fig redis_xadd_position_p64 "$(echo "$out" | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/')" ops/s
	redis-cli -s "$sock" del bench:s >/dev/null
}

gen_data() {
	local f
	for f in 100 1000 10000; do
		[ -s "$data/fences_$f.geojson" ] && [ -s "$data/points_$f.csv" ] && continue
		note "generating fences and points into $data/"
		python3 scripts/gen_fences.py --out "$data" >&2 || return 1
		return 0
	done
}

# The simulator's frames, both dialects, for the in-process benchmarks.
gen_mix() {
	[ -s "$T/mix.tk103" ] && return 0
	have "$tools/fleetsim" || return 1
	"$tools/fleetsim" --dump "$T/mix" --tcp 1000 --count 200000 --seed 3 \
		--sos-every 50 --heartbeat-every 20 --fences "$data/fences_100.geojson" \
		2>>"$T/fleetsim.log" || { note "fleetsim --dump failed"; return 1; }
}

bench_decode() {
	have "$tools/bench_decode" && gen_mix || return 0
	"$tools/bench_decode" "$T/mix" --seconds 2 | tee -a "$results"
}

bench_rules() {
	have "$tools/bench_rules" && gen_mix || return 0
	[ -f rules.example.lua ] || { note "skipped rules: no rules.example.lua"; return 0; }
	"$tools/bench_rules" rules.example.lua "$T/mix" --seconds 2 | tee -a "$results"
}

bench_fences() {
	have "$tools/bench_fences" || return 0
	"$tools/bench_fences" --seconds 3 "$data" | tee -a "$results"
}

# ingest_run NAME RATE: one fleet of 10,000 TCP + 500 UDP devices against a
# fresh stream, reporting for 8 s; prints "ARRIVED/S SENT LOST RSS_BEFORE
# RSS_CONNECTED UDP_DROPS STEADY/S INGEST_US REDIS_US SIM_US LAG":
# ARRIVED/S counts every report from the first send to the last arrival;
# STEADY/S is the stream's growth from 1.5 s to 5.5 s into the reporting,
# while the devices are still sending, and the _US figures the CPU time
# per report of ingest, Redis and the simulator over that window.
ingest_run() {
	local name=$1 rate=$2 rss0 rss1 n0 sent final first_us len first last sim u0 u1 win steady
	rb flushall
	u0=$(udp_drops)
	rss0=$(rss_kib "$ingest_pid")
	rm -f "$T/ready" "$T/$name.win"
	# Not through fleet(): $! must be the simulator's own pid.
	"$tools/fleetsim" --target "127.0.0.1:$ingest_port" --tcp 10000 --udp 500 \
		--rate "$rate" --duration 8 --count 20000000 --seed 7 --hold 2 \
		--ready "$T/ready" --stats "$T/$name.json" 2>>"$T/fleetsim.log" &
	sim=$!
	pids+=("$sim")
	if ! wait_for 60 test -e "$T/ready"; then
		note "the fleet did not connect"
		stop_pid "$sim"
		return 1
	fi
	rb xlen-rate $prefix:positions 3.5 4 "$ingest_pid" "$redis_pid" "$sim" >"$T/$name.win" &
	win=$!
	sleep 1		# logins written
	rss1=$(rss_kib "$ingest_pid")
	n0=$(rb xlen $prefix:positions)
	wait "$win"
	wait "$sim"
	sent=$(json_get "$T/$name.json" reports)
	first_us=$(json_get "$T/$name.json" first_send_us)
	final=$(rb wait-xlen $prefix:positions "$sent" 60)
	u1=$(udp_drops)
	read -r len first last <<<"$(rb stream-window $prefix:positions)"
	steady=$(cat "$T/$name.win")
	awk -v n="$final" -v n0="$n0" -v a="$first_us" -v b="$last" \
		-v s="$sent" -v r0="$rss0" -v r1="$rss1" -v u=$((u1 - u0)) \
		-v w="${steady:-0 0 0 0}" -v lag="$(json_get "$T/$name.json" rate_lag)" 'BEGIN {
		d = b - a / 1000
		printf "%.0f %d %d %d %d %d %s %d\n", (d > 0 ? (n - n0) * 1000 / d : 0),
			s, s - n, r0, r1, u, w, lag }'
}

bench_ingest() {
	have "$bin/geoalarm-ingest" "$tools/fleetsim" || return 0
	local rate sent lost rss0 rss1 udp steady ius rus sus lag
	start_ingest || return 0
	# As fast as the devices can send, a TCP device a few reports per
	# write: what ingest sustains while loaded (the stream's growth while
	# the devices send), what it took in all, and what it lost doing so
	# (of which UDP datagrams the kernel dropped).
	read -r rate sent lost rss0 rss1 udp steady ius rus sus _ <<<"$(ingest_run saturate 0)" || return 0
	fig ingest_sustained_reports "$steady" reports/s
	fig ingest_saturated_reports "$rate" reports/s
	fig ingest_saturated_sent "$sent" reports
	fig ingest_saturated_lost "$lost" reports
	fig ingest_saturated_udp_rcvbuf_drops "$udp" datagrams
	fig ingest_cpu_per_report "$ius" us
	fig ingest_redis_cpu_per_report "$rus" us
	fig ingest_fleetsim_cpu_per_report "$sus" us
	fig ingest_rss_per_device "$(awk -v a="$rss0" -v b="$rss1" \
		'BEGIN { printf "%.2f", (b - a) / 10000 }')" KiB
	fig ingest_rss_connected "$rss1" KiB
	# Paced at 100,000 reports/s, one report per write as devices that
	# report live send them: each report costs a TCP segment, sent and
	# received on the same two cores.
	[ "$(left)" -gt 60 ] || { note "skipped the paced ingest run: out of time"; return 0; }
	read -r rate sent lost _ _ udp steady ius rus sus lag <<<"$(ingest_run paced 100000)" || return 0
	fig ingest_paced_offered 100000 reports/s
	fig ingest_paced_reports "$steady" reports/s
	fig ingest_paced_lost "$lost" reports
	fig ingest_paced_udp_rcvbuf_drops "$udp" datagrams
	fig ingest_paced_sim_behind "$lag" reports
	fig ingest_paced_cpu_per_report "$ius" us
	fig ingest_paced_redis_cpu_per_report "$rus" us
	fig ingest_paced_fleetsim_cpu_per_report "$sus" us
}

# prefill F: a fresh stream of positions whose tracks run through the F fences.
prefill() {
	local f=$1 sent
	rb flushall
	rb load-fences $prefix "$data/fences_$f.geojson" >/dev/null
	fleet --tcp 1000 --rate 0 --count 100000 --duration 30 --seed 11 \
		--sos-every 100 --fences "$data/fences_$f.geojson" --stats "$T/pre.json" || return 1
	sent=$(json_get "$T/pre.json" reports)
	rb wait-xlen $prefix:positions "$sent" 30
}

# engine_run RULES NAME: prints "POS/S ALERTS/S DONE CPU-US/POS" over the
# stream.
engine_run() {
	local rules=$1 name=$2 n=$3 out
	rb reset-engine $prefix engine
	start_engine "$rules" "$name" --from-start
	out=$(rb engine-rate $prefix engine "$n" 20 "$engine_pid")
	stop_pid "$engine_pid"
	echo "$out"
}

bench_engine() {
	have "$bin/geoalarm-ingest" "$bin/geoalarm-engine" "$tools/fleetsim" || return 0
	[ -n "$ingest_pid" ] || start_ingest || return 0
	local rules=rules.example.lua f n pos al done base
	[ -f "$rules" ] || { note "skipped engine: no $rules"; return 0; }
	printf 'return {}\n' >"$T/norules.lua"
	for f in 100 1000 10000; do
		[ "$(left)" -gt 40 ] || { note "skipped engine F=$f: out of time"; continue; }
		n=$(prefill $f) || { note "prefill F=$f failed"; continue; }
		read -r pos al done cpu <<<"$(engine_run "$rules" engine-$f "$n")"
		fig "engine_F$f" "$pos" positions/s
		fig "engine_F${f}_alerts" "$al" alerts/s
		fig "engine_F${f}_cpu" "$cpu" us/position
		if [ $f = 100 ] && want rules; then
			read -r base _ _ bcpu <<<"$(engine_run "$T/norules.lua" engine-norules "$n")"
			fig engine_F100_builtin_only "$base" positions/s
			fig engine_F100_builtin_only_cpu "$bcpu" us/position
			# The engine's CPU time with the rules minus without: its
			# rate overlaps with Redis's, so rates would not subtract.
			fig engine_rules_cost "$(awk -v a="$cpu" -v b="$bcpu" \
				'BEGIN { printf "%.2f", ((a > 0 && b > 0) ? a - b : 0) }')" us/position
		fi
	done
}

bench_e2e() {
	have "$bin/geoalarm-ingest" "$bin/geoalarm-engine" "$tools/fleetsim" "$tools/alertlat" || return 0
	[ -n "$ingest_pid" ] || start_ingest || return 0
	local rules=$T/e2e-rules.lua lat
	# Built-in rules only, no cooldown: every SOS alerts, so every SOS is a
	# latency sample (rules.example.lua's cooldown would keep one in three;
	# the Lua rules' own cost is the rules figure).
	printf 'return { defaults = { speed_limit = 100, overspeed_duration = 30 } }\n' >"$rules"
	rb flushall
	rb load-fences $prefix "$data/fences_100.geojson" >/dev/null
	start_engine "$rules" engine-e2e
	rb wait-group $prefix engine 15 || { stop_pid "$engine_pid"; return 0; }
	rm -f "$T/lat.ready" "$T/e2e.json"
	"$tools/alertlat" --redis "$url" --prefix $prefix --stats "$T/e2e.json" \
		--ready "$T/lat.ready" --idle 3 --duration 60 --samples "$T/lat.samples" >"$T/lat.out" 2>>"$T/alertlat.log" &
	lat=$!
	pids+=("$lat")
	wait_for 10 test -e "$T/lat.ready" || { note "alertlat did not subscribe"; return 0; }
	fleet --tcp 2000 --udp 200 --rate "${BENCH_E2E_RATE:-10000}" --duration 15 --seed 21 --interval 30 \
		--sos-every 10 --fences "$data/fences_100.geojson" --stats "$T/e2e.json"
	wait "$lat"
	tee -a "$results" <"$T/lat.out"
	stop_pid "$engine_pid"
	[ -n "${BENCH_KEEP:-}" ] && mkdir -p "$BENCH_KEEP" &&
		cp "$T/lat.samples" "$T/e2e.json" "$T"/engine-e2e.log "$BENCH_KEEP/" 2>/dev/null
	return 0
}

# ---- run ---------------------------------------------------------------------

echo "bench.sh: machine $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" >&2
start_redis
want redis && bench_redis
gen_data || { note "could not generate the fence data"; exit 1; }
want decode && bench_decode
want fences && bench_fences
want rules && bench_rules
want ingest && bench_ingest
want engine && bench_engine
want e2e && [ "$(left)" -gt 30 ] && bench_e2e

echo
echo "== summary ($(nproc) cores, $SECONDS s)"
cat "$results" 2>/dev/null
ceiling=$(awk '$2 == "redis_xadd_p64" {print $3}' "$results" 2>/dev/null)
awk -v c="${ceiling:-0}" '
	$2 ~ /^ingest_(saturated|sustained|paced)_reports$/ || $2 ~ /^engine_F[0-9]+$/ {
		if (c > 0) printf "bench: %s_vs_redis_xadd %.3f ratio\n", $2, $3 / c
	}' "$results" 2>/dev/null
