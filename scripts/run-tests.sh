#!/bin/bash
# Runs the unit tests (cmocka binaries under BUILD/tests/unit) and the
# end-to-end tests (tests/e2e/test_*.py against the binaries in BIN and a
# private redis-server each), prints every runner's own summary, then one
# total line "N passed, N failed".  Exits non-zero on any failure.
#
# usage: scripts/run-tests.sh [--unit|--e2e] BUILD BIN [NAME-FILTER]
set -u
mode=all
case "${1:-}" in --unit) mode=unit; shift;; --e2e) mode=e2e; shift;; esac
build=${1:-build}
bin=${2:-bin}
filter=${3:-}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

passed=0
failed=0
failures=()
log=$(mktemp -d "${TMPDIR:-/tmp}/geoalarm-tests.XXXXXX")
trap 'rm -rf "$log"' EXIT

count() { # name, output file, exit status, ok-count, fail-count
	passed=$((passed + $4))
	failed=$((failed + $5))
	if [ "$3" -ne 0 ] || [ "$5" -ne 0 ]; then
		failures+=("$1")
		[ "$5" -eq 0 ] && failed=$((failed + 1))
	fi
}

if [ "$mode" != e2e ]; then
	for t in $(find "$build/tests/unit" -type f -name 'test_*' ! -name '*.[od]' 2>/dev/null | sort); do
		case "$t" in *"$filter"*) ;; *) continue;; esac
		out="$log/$(basename "$t").out"
		"$t" >"$out" 2>&1
		rc=$?
		cat "$out"
		ok=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
		bad=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
		count "$t" "$out" "$rc" "${ok:-0}" "${bad:-0}"
	done
fi

if [ "$mode" != unit ]; then
	for t in $(ls tests/e2e/test_*.py 2>/dev/null | sort); do
		case "$t" in *"$filter"*) ;; *) continue;; esac
		out="$log/$(basename "$t").out"
		echo "== $t"
		GEOALARM_BIN="$top/$bin" GEOALARM_BUILD="$top/$build" \
			timeout 900 python3 -m unittest -v "$t" >"$out" 2>&1
		rc=$?
		cat "$out"
		ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$out" | tail -1)
		fl=0
		for n in $(sed -n 's/^FAILED (\(.*\))/\1/p' "$out" | tr ',' '\n' | sed -n 's/.*=\([0-9]*\).*/\1/p'); do
			fl=$((fl + n))
		done
		ran=${ran:-0}
		count "$t" "$out" "$rc" $((ran - fl)) "$fl"
	done
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failing: ${failures[*]}"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
