#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywall-dp on two lcores, each polling its own queue of both AF_PACKET ports
# (qpairs=2: the kernel's fanout hash is symmetric, so both directions of a
# flow reach the same lcore). smtp-source: the first session of the triplet is
# greylisted, then 8 parallel sessions x 200 messages all complete, both lcores
# carry flows, and no flow was ever seen by the wrong lcore (that would show as
# mid-stream pickups or desyncs).
set -eu
TB_DELAY=0
TB_DP_LCORES=0,1
TB_DP_QPAIRS=2
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
MSGS=200
tb_setup
tb_start_dp
grep -q 'bridging 2 ports on 2 lcores' "$TB_DIR/greywall-dp.log" || fail "not on two lcores"
ip netns exec "$TB_NS_RCV" smtp-sink -u nobody 198.18.0.2:25 256 >"$TB_DIR/sink.log" 2>&1 &
sleep 1
src() { ip netns exec "$TB_NS_SND" timeout 120 smtp-source "$@" 198.18.0.2:25; }
if src -s 1 -m 1 -f alice@sender.example -t bob@receiver.example >"$TB_DIR/prime.log" 2>&1; then
	fail "the first session of a new triplet was not greylisted"
fi
grep -q '450 4.7.1 <bob@receiver.example>: Recipient address rejected: Greylisted' "$TB_DIR/prime.log" ||
	fail "first session did not end on greywall's 450: $(cat "$TB_DIR/prime.log")"
src -s 8 -m $MSGS -l 1024 -f alice@sender.example -t bob@receiver.example >"$TB_DIR/load.log" 2>&1 ||
	fail "smtp-source load failed: $(tail -3 "$TB_DIR/load.log")"
tb_stop_dp
[ "$(dp_counter passed)" -eq $MSGS ] || fail "expected $MSGS passes, got $(dp_counter passed)"
for reason in midstream_pickup desync out_of_order split_line flow_table_full no_mbuf; do
	[ "$(dp_counter $reason)" -eq 0 ] || fail "fail-open $reason=$(dp_counter $reason) on two lcores"
done
for l in 0 1; do
	n=$(grep -oE "^greywall-dp: lcore $l: flows created=[0-9]+" "$TB_DIR/greywall-dp.log" | tail -1 |
		grep -oE '[0-9]+$')
	[ "${n:-0}" -gt 0 ] || fail "lcore $l carried no flow: $(grep 'flows created' "$TB_DIR/greywall-dp.log")"
done
echo "ok: two lcores, $MSGS messages, every flow on one lcore in both directions"
