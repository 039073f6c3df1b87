#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Small assertion helpers for the end-to-end scripts: each failure names what was expected.
fail() {
	set +e # a missing log must not cut the report short
	echo "FAIL: $*" >&2
	echo "--- greywall-dp log" >&2
	tail -30 "$TB_DIR/greywall-dp.log" >&2 2>/dev/null
	echo "--- sender log" >&2
	tail -20 "$TB_DIR/snd/maillog" >&2 2>/dev/null
	echo "--- receiver log" >&2
	tail -20 "$TB_DIR/rcv/maillog" >&2 2>/dev/null
	if [ -n "${TB_BPF_PIN:-}" ] && [ -e "$TB_BPF_PIN" ]; then
		echo "--- relay filter counters (non-zero)" >&2
		"$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" 2>&1 | grep -v " 0$" >&2
	fi
	exit 1
}

# dp_counter NAME: a counter from greywall-dp's exit report
dp_counter() {
	grep -oE "(^| )$1=[0-9]+" "$TB_DIR/greywall-dp.log" | tail -1 | cut -d= -f2
}

# assert_greylisted_then_delivered LOCAL: the sender's first attempt for
# LOCAL@receiver.example was deferred with greywall's 450, the retry landed in
# the mailbox, and the receiving Postfix rejected nothing itself (greywall
# removed that RCPT before it got there).
assert_greylisted_then_delivered() {
	local rcpt=$1@receiver.example
	tb_wait_log "$TB_DIR/snd/maillog" \
		"to=<$rcpt>.*status=deferred.*450 4.7.1 <$rcpt>: Recipient address rejected: Greylisted, retry in [0-9]+ seconds" 30 ||
		fail "no deferral with greywall's 450 text"
	tb_wait_mailbox "$1" 1 40 || fail "the retry was not delivered to $1's mailbox"
	grep -qE "to=<$rcpt>.*status=sent" "$TB_DIR/snd/maillog" || fail "sender did not log the delivery"
	grep -qE 'NOQUEUE: reject' "$TB_DIR/rcv/maillog" && fail "the receiver rejected something itself"
	grep -q 'Subject: greywall test' "$(tb_mailbox "$1")" || fail "mailbox file is not our message"
}
