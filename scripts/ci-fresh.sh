#!/bin/bash
# Runs .ci/run the way CI does, on a fresh Debian 12 (bookworm) that has
# nothing but make and git: a debootstrap chroot kept in DIR (made on the
# first run, about 300 MB), a clean clone of this checkout's HEAD, and
# ../shared beside it.  Needs root and Debian's package mirror.
#
# usage: scripts/ci-fresh.sh [DIR]      (default: ../chroot/bookworm)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$top/../chroot/bookworm}

if [ ! -x "$root/usr/bin/make" ]; then
	command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
	debootstrap --variant=minbase --include=make,git,ca-certificates \
		bookworm "$root" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
for m in proc dev dev/pts; do
	mountpoint -q "$root/$m" && continue
	if [ "$m" = proc ]; then
		mount -t proc proc "$root/proc"
	else
		mount --bind "/$m" "$root/$m"
	fi
done
trap 'umount "$root/dev/pts" "$root/dev" "$root/proc" 2>/dev/null || true' EXIT

rm -rf "$root/root/work"
mkdir -p "$root/root/work"
git clone -q "$top" "$root/root/work/main"
[ -d "$top/../shared" ] && cp -r "$top/../shared" "$root/root/work/shared"
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	CI=true bash -c 'cd /root/work/main && bash .ci/run'
