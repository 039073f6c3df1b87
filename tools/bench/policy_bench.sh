#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Policy decisions per second: greywalld against Debian's postgrey, driven by the
# same generator (tools/bench/policy_load.c) over the same protocol on loopback,
# 8 connections answering in lockstep as Postfix smtpd processes do. Every request
# is a new triplet, so each one is a write in both. postgrey logs each decision;
# greywalld is measured both without and with its verdict log.
set -eu
BUILD=${BUILD:-build}
dir=$(mktemp -d)
chown postgrey "$dir"
cleanup() {
	[ -n "${gp:-}" ] && kill "$gp" 2>/dev/null
	pkill -f "postgrey --inet=127.0.0.1:10124" 2>/dev/null || true
	rm -rf "$dir" /dev/shm/gwpb-$$-*
}
trap cleanup EXIT
printf 'table_path = /dev/shm/gwpb-%s-t\nawl_path = /dev/shm/gwpb-%s-a\npolicy_listen = 127.0.0.1:10123\ncapacity = 4194304\nsnapshot_path =\ncontrol_socket =\nmetrics_listen =\n' \
	$$ $$ >"$dir/gw.conf"
load() { "$BUILD/tools/bench/policy_load" -p "$1" -c 8 -n "$2" | awk '{ print $1 }'; }

"$BUILD/greywalld" -c "$dir/gw.conf" >/dev/null 2>&1 &
gp=$!
sleep 0.5
g=$(load 10123 200000)
kill $gp; wait $gp 2>/dev/null || true
rm -f /dev/shm/gwpb-$$-*
"$BUILD/greywalld" -c "$dir/gw.conf" -v >/dev/null 2>&1 &
gp=$!
sleep 0.5
gv=$(load 10123 100000)
kill $gp; wait $gp 2>/dev/null || true
gp=

postgrey --inet=127.0.0.1:10124 --dbdir="$dir" --delay=300 --pidfile="$dir/pid" \
	--user=postgrey >"$dir/postgrey.log" 2>&1 &
for i in $(seq 50); do
	(echo >/dev/tcp/127.0.0.1/10124) 2>/dev/null && break
	sleep 0.2
done
p=$(load 10124 8000)
echo "Postfix policy protocol, new triplets, 8 lockstep connections, loopback:"
echo "  greywalld                  $g decisions/s"
echo "  greywalld, verdicts logged $gv decisions/s"
echo "  postgrey $(dpkg-query -W -f='${Version}' postgrey)        $p decisions/s"
awk -v g="$g" -v v="$gv" -v p="$p" 'BEGIN {
	printf "  ratio                      %.1fx (logged: %.1fx; goal >= 20x)\n", g / p, v / p }'
