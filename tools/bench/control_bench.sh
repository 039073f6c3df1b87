#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Control-plane figures: the time to push a 1M-entry whitelist into a running
# greywalld (greyctl checks every entry, installs the file atomically, greywalld
# reloads it over the control socket and answers only once the new lists are in
# force), and the lookup rate of the data path during full expiry sweeps.
set -eu
BUILD=${BUILD:-build}
N=${BENCH_WHITELIST_ENTRIES:-1000000}
dir=$(mktemp -d)
cleanup() {
	[ -n "${gp:-}" ] && kill "$gp" 2>/dev/null && wait "$gp" 2>/dev/null
	rm -rf "$dir" /dev/shm/gwcb-$$-*
}
trap cleanup EXIT
cat >"$dir/gw.conf" <<CONF
table_path = /dev/shm/gwcb-$$-t
awl_path = /dev/shm/gwcb-$$-a
whitelist_path = $dir/whitelist
snapshot_path =
policy_listen =
metrics_listen =
control_socket = $dir/greywalld.sock
dp_control_socket =
CONF
: >"$dir/whitelist"
# client hosts of 198.18.0.0/15, then sender and recipient addresses and domains
python3 - "$N" >"$dir/push" <<'PY'
import sys
n = int(sys.argv[1])
hosts = min(n // 4, 131072)
for i in range(hosts):
    print(f"client 198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}")
rest = n - hosts
for i in range(rest):
    k = i % 4
    if k == 0: print(f"sender user{i}@bench{i % 9973}.example")
    elif k == 1: print(f"recipient rcpt{i}@relay.example")
    elif k == 2: print(f"sender @dom{i}.example")
    else: print(f"recipient @rdom{i}.example")
PY
"$BUILD/greywalld" -c "$dir/gw.conf" >"$dir/log" 2>&1 &
gp=$!
for i in $(seq 50); do [ -S "$dir/greywalld.sock" ] && break; sleep 0.1; done
t0=$(date +%s.%N)
"$BUILD/greyctl" -c "$dir/gw.conf" whitelist push "$dir/push" >"$dir/out"
t1=$(date +%s.%N)
"$BUILD/greyctl" -c "$dir/gw.conf" reload >"$dir/out2"
t2=$(date +%s.%N)
grep -q "lists reloaded: $N entries" "$dir/out" || { echo "push not confirmed:"; cat "$dir/out"; exit 1; }
rss=$(awk '/VmRSS/ { print $2 }' /proc/$gp/status)
awk -v n="$N" -v a="$t0" -v b="$t1" -v c="$t2" -v rss="$rss" 'BEGIN {
	printf "whitelist push of %d entries into a running greywalld:\n", n
	printf "  greyctl whitelist push (check, install, reload, confirmed)  %.2f s (%.0f entries/s)\n", b - a, n / (b - a)
	printf "  greyctl reload of the same file                             %.2f s\n", c - b
	printf "  greywalld resident memory with the lists                    %.0f MiB\n", rss / 1024 }'
echo
"$BUILD/tools/bench/sweep_bench" "${BENCH_SWEEP_TRIPLETS:-4000000}" 2
