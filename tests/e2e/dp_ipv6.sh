#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The same greylist-retry-deliver cycle over IPv6 (fd00:18::/64), /64 client networks.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_dp
tb_start_receiver
tb_start_sender 6
tb_send alice@sender.example dave@receiver.example
tb_wait_log "$TB_DIR/snd/maillog" 'relay=fd00:18::2.*status=deferred.*Greylisted' 30 ||
	fail "no IPv6 deferral with greywall's 450"
tb_wait_mailbox dave 1 40 || fail "IPv6 retry not delivered"
grep -q 'RCPT from unknown\[fd00:18::1\]' "$TB_DIR/greywall-dp.log" || fail "greywall-dp did not see the IPv6 client"
echo "ok: IPv6 greylisted, retried, delivered"
