#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# SMTP decisions per second on one lcore: tools/smtp_pcap writes many short
# sessions (distinct clients and recipients, one RCPT decision each), net_pcap
# reads the file once into greywall-dp, which prints its counters every second;
# the best full second is the rate. The file cannot be looped (infinite_rx):
# a replayed session is a retransmission, which greywall-dp rightly does not
# decide again. dpdk-testpmd forwards the same file on the same core, so the
# packet rates compare, net_pcap's own cost included on both sides.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SESSIONS=${PCAP_BENCH_SESSIONS:-200000}
SECS=${PCAP_BENCH_SECS:-8}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" /dev/shm/gwpb$$-* /var/run/dpdk/gwpb$$ /var/run/dpdk/tppb$$' EXIT
"$BUILD/tools/smtp_pcap" bench "$tmp/sessions.pcap" "$SESSIONS" >/dev/null
EAL=(--no-huge -m 6144 --no-pci --log-level=error
	--vdev "net_pcap0,rx_pcap=$tmp/sessions.pcap" --vdev "net_pcap1,tx_pcap=/dev/null")
# both directions come in on port 0 (one capture): no port pairs to check
printf 'paired_ports = no\n' >"$tmp/dp.conf"
"$BUILD/greywall-dp" -l 1 --file-prefix "gwpb$$" "${EAL[@]}" -- -c "$tmp/dp.conf" \
	--protect 198.18.0.0/15 \
	--table "/dev/shm/gwpb$$-t" --awl "/dev/shm/gwpb$$-a" --capacity 4194304 \
	--max-flows 262144 --flow-idle 1 --stats-interval 1 --duration "$SECS" --control-socket none >"$tmp/dp.log" 2>&1
# best one-second deltas of the cumulative counters
best() { # regex-for-the-counter
	grep -oE "$1=[0-9]+" "$tmp/dp.log" | cut -d= -f2 |
		awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { print m + 0 }'
}
dps=$(best 'verdicts greylisted')
pps=$(best 'greywall-dp: rx')
total=$(grep -oE 'verdicts greylisted=[0-9]+' "$tmp/dp.log" | tail -1 | cut -d= -f2)
tp_pps=$(timeout -s INT $((SECS + 2)) dpdk-testpmd -l 0,1 --file-prefix "tppb$$" "${EAL[@]}" -- \
	--forward-mode=io --auto-start --no-mlockall --total-num-mbufs=32768 --stats-period 1 2>&1 |
	awk '/Rx-pps:/ { if ($2 > m) m = $2 } END { print m + 0 }')
awk -v d="$dps" -v p="$pps" -v t="$total" -v n="$SESSIONS" -v tp="$tp_pps" 'BEGIN {
	printf "%d sessions (one RCPT decision each) read once by net_pcap, one lcore, best second:\n", n
	printf "  greywall-dp: %d SMTP decisions/s, %.2f Mpps (%d of %d decided in all)\n", d, p / 1e6, t, n
	printf "  testpmd io, same file: %.2f Mpps; greywall-dp/testpmd = %.2fx\n", tp / 1e6, tp ? p / tp : 0
}'
