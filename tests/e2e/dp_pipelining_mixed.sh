#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Postfix pipelines MAIL, three RCPTs and DATA in one segment. Verdicts differ:
# bob is greylisted, carol is a whitelisted recipient, postmaster is exempt.
# The injected 450 must land between the right replies: carol and postmaster
# are delivered at once, bob after the retry. All three end delivered.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
printf 'recipient carol@receiver.example\n' >"$TB_DIR/whitelist"
tb_start_dp --whitelist "$TB_DIR/whitelist"
tb_start_receiver
tb_start_sender
printf 'From: <alice@sender.example>\nSubject: three\n\nhi\n' |
	sendmail -C "$TB_DIR/snd/etc" -f alice@sender.example \
		bob@receiver.example carol@receiver.example postmaster@receiver.example

tb_wait_mailbox carol 1 20 || fail "carol (whitelisted) not delivered on the first attempt"
tb_wait_mailbox postmaster 1 20 || fail "postmaster (exempt) not delivered on the first attempt"
grep -qE 'to=<bob@receiver.example>.*status=deferred.*Greylisted' "$TB_DIR/snd/maillog" ||
	fail "bob was not deferred with greywall's 450"
tb_wait_mailbox bob 1 40 || fail "bob not delivered after the retry"
[ "$(tb_mailbox carol | wc -l)" -eq 1 ] || fail "carol got a duplicate"
[ "$(tb_mailbox postmaster | wc -l)" -eq 1 ] || fail "postmaster got a duplicate"
tb_stop_dp
[ "$(dp_counter segments_split)" -ge 1 ] || fail "no pipelined segment was split (Postfix did not pipeline?)"
[ "$(dp_counter passed_exempt)" -ge 1 ] || fail "postmaster not counted as exempt"
echo "ok: pipelined mixed verdicts, replies in order, all delivered"
