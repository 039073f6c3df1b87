#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Non-SMTP forwarding rate: greywall-dp against dpdk-testpmd --forward-mode=io,
# same vdevs (net_null x2), same single forwarding core, same mbuf count,
# interleaved rounds; prints the median of each and their ratio. io never
# reads a packet, so testpmd's mac mode (it writes each frame's Ethernet
# addresses) is measured too: the cost of touching every header at all.
set -eu
BUILD=${BUILD:-build}
SECS=${DP_BENCH_SECONDS:-5}
ROUNDS=${DP_BENCH_ROUNDS:-3}
EAL=(--no-huge -m 1024 --no-pci --log-level=error --vdev net_null0 --vdev net_null1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" /dev/shm/gwbench-$$-* /var/run/dpdk/gwb$$ /var/run/dpdk/tpb$$' EXIT

gw_run() {
	"$BUILD/greywall-dp" -l 1 --file-prefix "gwb$$" "${EAL[@]}" -- --duration "$SECS" --control-socket none \
		--table "/dev/shm/gwbench-$$-t" --awl "/dev/shm/gwbench-$$-a" 2>&1 |
		awk -v s="$SECS" -F'rx=' '/^greywall-dp: rx=/ { split($2, a, " "); printf "%.2f\n", a[1] / s / 1e6 }'
}

testpmd_run() { # forward-mode
	# testpmd prints Rx-pps per port each second; sum the ports, median over the run
	timeout -s INT $((SECS + 2)) dpdk-testpmd -l 0,1 --file-prefix "tpb$$" "${EAL[@]}" -- \
		--forward-mode="$1" --auto-start --no-mlockall --total-num-mbufs=32768 \
		--stats-period 1 2>&1 | awk '/Rx-pps:/ { v[n++] = $2 }
		END { for (i = 2; i + 1 < n; i += 2) print v[i] + v[i + 1] }' |
		sort -n | awk '{ v[NR] = $1 } END { printf "%.2f\n", v[int((NR + 1) / 2)] / 1e6 }'
}

for r in $(seq "$ROUNDS"); do
	gw_run >>"$tmp/gw"
	testpmd_run io >>"$tmp/tp"
	testpmd_run mac >>"$tmp/tm"
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
g=$(median "$tmp/gw")
t=$(median "$tmp/tp")
tm=$(median "$tmp/tm")
echo "non-SMTP forwarding, net_null x2, 1 forwarding core, median of $ROUNDS x ${SECS}s:"
echo "  greywall-dp     $g Mpps (all rounds: $(tr '\n' ' ' <"$tmp/gw"))"
echo "  dpdk-testpmd io $t Mpps (all rounds: $(tr '\n' ' ' <"$tmp/tp"))"
echo "  testpmd mac     $tm Mpps (all rounds: $(tr '\n' ' ' <"$tmp/tm"))"
awk -v g="$g" -v t="$t" -v m="$tm" 'BEGIN {
	printf "  ratio vs io     %.2fx (goal >= 0.90x)\n", g / t
	printf "  ratio vs mac    %.2fx (a forwarder that touches each header)\n", g / m }'
