#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# An envelope address longer than 256 octets cannot get past greywall-dp
# un-judged (issue 12, item 4). The receiving Postfix has recipient_delimiter
# = +, so base+<padding>@receiver.example is delivered to base's mailbox: a
# 300- and a 600-octet recipient over IPv4 and IPv6, and a 600-octet sender.
# Every first attempt gets greywall's 450 (its text may be shortened, but the
# reply line stays within 512 octets), the receiver sees none of those RCPTs,
# nothing fails open, and the same envelope after the delay passes and is
# delivered once to the base mailbox.
set -eu
TB_DELAY=4
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
tb_setup
tb_start_dp
TB_RCV_EXTRA="recipient_delimiter = +" tb_start_receiver
sleep 1

# name host mailbox shape...: one base mailbox (own triplet) per shape
SHAPES="v4-rcpt-300|$TB_RCV4|bob|--long-rcpt 300 --long-base bob
v4-rcpt-600|$TB_RCV4|carol|--long-rcpt 600 --long-base carol
v6-rcpt-300|$TB_RCV6|dave|--long-rcpt 300 --long-base dave --nodelay
v6-rcpt-600|$TB_RCV6|erin|--long-rcpt 600 --long-base erin --nodelay
v4-from-600|$TB_RCV4|frank|--long-from 600 --rcpt frank@receiver.example"
NSHAPES=$(printf '%s\n' "$SHAPES" | wc -l)

attempt() { # TAG
	local name host box shape
	while IFS='|' read -r name host box shape; do
		# shellcheck disable=SC2086 # shape is a list of options
		adv_run "$1-$name" --host "$host" $shape --data --quit --tag "$1"
	done <<<"$SHAPES"
}

# the one RCPT of a session: its code, its text, and the length of its line
rcpt_field() { # NAME FIELD
	_adv_jq "$1" 'select(.cmd? // "" | startswith("RCPT")) | .[$a]' "$2" | head -1
}

attempt first
while IFS='|' read -r name host box shape; do
	code=$(rcpt_field "first-$name" code)
	text=$(rcpt_field "first-$name" text)
	if [ "$code" != 450 ] || ! printf '%s' "$text" | grep -q 'Greylisted'; then
		adv_problem "first-$name: the long envelope got ${code:-no reply}, not greywall's 450: ${text:0:80}"
	elif [ $((${#text} + 6)) -gt 512 ]; then
		adv_problem "first-$name: the 450 line is $((${#text} + 6)) octets, over 512"
	fi
done <<<"$SHAPES"
# the addresses are as long as asked: "RCPT TO:<" ADDR ">" CRLF
for n in 300 600; do
	grep -q "\"len\": $((n + 12))}" "$TB_DIR/adv-first-v4-rcpt-$n.jsonl" ||
		adv_problem "the client did not send a $n-octet recipient"
done
rcv_wait_disconnects "$NSHAPES" 10 || adv_problem "the receiver did not log $NSHAPES session ends"
seen=$(rcv_rcpts_seen)
[ "$seen" -eq 0 ] || adv_problem "the receiving Postfix got $seen of the first attempts' RCPTs"

sleep $((TB_DELAY + 1))
attempt retry
while IFS='|' read -r name host box shape; do
	code=$(rcpt_field "retry-$name" code)
	[ "$code" = 250 ] || adv_problem "retry-$name: got ${code:-no reply}, not 250: $(rcpt_field "retry-$name" text | cut -c1-80)"
	adv_expect_taken "retry-$name"
	adv_mailbox_has "$box" 1 retry
done <<<"$SHAPES"

tb_stop_dp
adv_expect_no_failopen
adv_expect_counter lines_removed "$NSHAPES"
adv_expect_counter greylisted "$NSHAPES"
adv_expect_counter passed "$NSHAPES"
adv_verdict "envelope addresses of 300 and 600 octets (recipient and sender; IPv4 and IPv6) greylisted, then passed and delivered once"
