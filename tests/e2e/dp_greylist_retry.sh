#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real Postfix -> greywall-dp -> real Postfix: the first attempt is deferred with
# greywall's 450 (the receiver never sees that RCPT), the retry after the delay is
# delivered into the mailbox, and the counters agree. TB_DP_VDEV=af_xdp runs it
# on AF_XDP ports (dp_af_xdp.sh).
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_dp
# the ports are the kind asked for (TB_DP_VDEV: af_packet, the default, or af_xdp)
grep -q "(net_${TB_DP_VDEV:-af_packet})" "$TB_DIR/greywall-dp.log" ||
	fail "greywall-dp is not bridging net_${TB_DP_VDEV:-af_packet} ports"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example

assert_greylisted_then_delivered bob
tb_stop_dp
[ "$(dp_counter greylisted)" -ge 1 ] || fail "greylisted counter is 0"
[ "$(dp_counter passed)" -eq 1 ] || fail "passed counter is not 1"
[ "$(dp_counter lines_removed)" = "$(dp_counter replies_injected)" ] || fail "every removed line needs one injected reply"
echo "ok: deferred by greywall, retried, delivered"
