#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real Postfix -> greywall-dp -> real Postfix: the first attempt is deferred with
# greywall's 450 (the receiver never sees that RCPT), the retry after the delay is
# delivered into the mailbox, and the counters agree.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_dp
tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example

tb_wait_log "$TB_DIR/snd/maillog" \
	'to=<bob@receiver.example>.*status=deferred.*450 4.7.1 <bob@receiver.example>: Recipient address rejected: Greylisted, retry in [0-9]+ seconds' 30 ||
	fail "no deferral with greywall's 450 text"
tb_wait_mailbox bob 1 40 || fail "the retry was not delivered to bob's mailbox"
grep -qE 'to=<bob@receiver.example>.*status=sent' "$TB_DIR/snd/maillog" || fail "sender did not log the delivery"
# the receiver answered no RCPT for bob with a rejection of its own
grep -qE 'NOQUEUE: reject' "$TB_DIR/rcv/maillog" && fail "the receiver rejected something itself"
grep -q 'Subject: greywall test' "$(tb_mailbox bob)" || fail "mailbox file is not our message"
tb_stop_dp
[ "$(dp_counter greylisted)" -ge 1 ] || fail "greylisted counter is 0"
[ "$(dp_counter passed)" -eq 1 ] || fail "passed counter is not 1"
[ "$(dp_counter lines_removed)" = "$(dp_counter replies_injected)" ] || fail "every removed line needs one injected reply"
echo "ok: deferred by greywall, retried, delivered"
