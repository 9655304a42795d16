#!/bin/sh
# Installs the Debian packages geoalarm builds, tests and runs with, when
# any is missing.  Needs root (or sudo) only when something is missing.
set -eu

PACKAGES="gcc make pkg-config libevent-dev libhiredis-dev liblua5.4-dev
libgeos-dev libjansson-dev libcmocka-dev redis-server redis-tools python3
procps"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q $missing >/dev/null; then
	$SUDO apt-get update -q >/dev/null
	$SUDO apt-get install -y -q $missing >/dev/null
fi
