#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smtp-source load through greywall-dp into smtp-sink. smtp-source treats a 4xx
# RCPT as fatal, so the first session must die on greywall's 450 (the triplet is
# new); after the (zero) delay, 8 parallel sessions x 400 messages must all
# complete: no session broken, no fail-open, every flow tracked.
set -eu
TB_DELAY=0
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
MSGS=400
tb_setup
tb_start_dp
ip netns exec "$TB_NS_RCV" smtp-sink -u nobody 198.18.0.2:25 256 >"$TB_DIR/sink.log" 2>&1 &
sleep 1
src() { ip netns exec "$TB_NS_SND" timeout 120 smtp-source "$@" 198.18.0.2:25; }

if src -s 1 -m 1 -f alice@sender.example -t bob@receiver.example >"$TB_DIR/prime.log" 2>&1; then
	fail "the first session of a new triplet was not greylisted"
fi
grep -q 'recipient rejected: 450 4.7.1 <bob@receiver.example>: Recipient address rejected: Greylisted' \
	"$TB_DIR/prime.log" || fail "first session did not end on greywall's 450: $(cat "$TB_DIR/prime.log")"

start=$(date +%s.%N)
src -s 8 -m $MSGS -l 2048 -f alice@sender.example -t bob@receiver.example >"$TB_DIR/load.log" 2>&1 ||
	fail "smtp-source load failed: $(tail -3 "$TB_DIR/load.log")"
end=$(date +%s.%N)
tb_stop_dp
[ "$(dp_counter passed)" -eq $MSGS ] || fail "expected $MSGS passes, got $(dp_counter passed)"
for reason in midstream_pickup flow_table_full out_of_order split_line edit_list_full desync no_mbuf; do
	[ "$(dp_counter $reason)" -eq 0 ] || fail "fail-open $reason=$(dp_counter $reason) under load"
done
[ "$(dp_counter tx_dropped)" -eq 0 ] || fail "greywall-dp dropped frames on transmit"
awk -v n=$MSGS -v s="$start" -v e="$end" \
	'BEGIN { printf "ok: %d messages in %.2f s through greywall-dp, no session broken\n", n, e - s }'
