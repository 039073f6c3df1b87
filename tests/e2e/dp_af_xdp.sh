#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The greylist round trip with greywall-dp on net_af_xdp vdevs instead of
# AF_PACKET: XDP redirects each veth's frames into an AF_XDP socket, greywall
# sends through the other. Real Postfix on both sides; the first attempt gets
# greywall's 450, the retry is delivered.
set -eu
TB_DELAY=6
TB_DP_VDEV=af_xdp
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_dp
grep -q 'net_af_xdp' "$TB_DIR/greywall-dp.log" || fail "greywall-dp is not bridging net_af_xdp ports"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example

assert_greylisted_then_delivered bob
tb_stop_dp
[ "$(dp_counter greylisted)" -ge 1 ] || fail "greylisted counter is 0"
[ "$(dp_counter passed)" -eq 1 ] || fail "passed counter is not 1"
[ "$(dp_counter lines_removed)" = "$(dp_counter replies_injected)" ] || fail "every removed line needs one injected reply"
echo "ok: on AF_XDP ports, deferred by greywall, retried, delivered"
