#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A flow table far too small for the load: greywall-dp tracks 16 flows while
# smtp-source keeps 24 sessions open at a time. New flows evict flows without
# edits, and an evicted flow's later segments pass unchanged (counted as
# pickups), so every one of the 240 sessions must still complete. That a flow
# with edits is never evicted is the engine fixture's to show.
set -eu
TB_DELAY=0
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
MSGS=240
tb_setup
tb_start_dp --max-flows 16
ip netns exec "$TB_NS_RCV" smtp-sink -u nobody 198.18.0.2:25 256 >"$TB_DIR/sink.log" 2>&1 &
sleep 1
src() { ip netns exec "$TB_NS_SND" timeout 120 smtp-source "$@" 198.18.0.2:25; }
if src -s 1 -m 1 -f alice@sender.example -t bob@receiver.example >"$TB_DIR/prime.log" 2>&1; then
	fail "the first session of a new triplet was not greylisted"
fi
src -s 24 -m $MSGS -l 512 -f alice@sender.example -t bob@receiver.example >"$TB_DIR/load.log" 2>&1 ||
	fail "a session broke with the flow table full: $(tail -3 "$TB_DIR/load.log")"
tb_stop_dp
[ "$(dp_counter evicted)" -gt 0 ] || fail "24 sessions in 16 flows and nothing was evicted"
[ "$(dp_counter passed)" -gt 0 ] || fail "no RCPT was judged under eviction"
for counter in desync tx_dropped no_mbuf; do
	[ "$(dp_counter $counter)" -eq 0 ] || fail "$counter=$(dp_counter $counter) under eviction"
done
echo "ok: $MSGS sessions through 16 flows, $(dp_counter evicted) evicted, none broken"
