#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# An RCPT line longer than 512 octets cannot get past greywall-dp un-judged
# (issue 12, item 3). Postfix takes command lines up to line_length_limit (2048),
# and an ORCPT= parameter pads a real recipient's line to about 1000 and 2000
# octets (a 2000-octet line is two segments at this MTU), with Nagle and with
# TCP_NODELAY, over IPv4 and IPv6. Every first attempt gets greywall's 450, the
# receiver sees none of those RCPTs, nothing fails open, and the same line
# after the delay passes and is delivered once.
set -eu
TB_DELAY=4
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
tb_setup
tb_start_dp
tb_start_receiver
sleep 1

# name host recipient shape...: one recipient (own triplet, own mailbox) per shape
SHAPES="v4-1000-nagle|$TB_RCV4|bob|--pad-rcpt 1000
v4-2000-nagle|$TB_RCV4|carol|--pad-rcpt 2000
v6-1000-nodelay|$TB_RCV6|dave|--pad-rcpt 1000 --nodelay
v6-2000-nodelay|$TB_RCV6|erin|--pad-rcpt 2000 --nodelay
v4-2000-split|$TB_RCV4|frank|--pad-rcpt 2000 --split-rcpt 3 --split-gap 50 --nodelay"
NSHAPES=$(printf '%s\n' "$SHAPES" | wc -l)

attempt() { # TAG
	local name host rcpt shape
	while IFS='|' read -r name host rcpt shape; do
		# shellcheck disable=SC2086 # shape is a list of options
		adv_run "$1-$name" --host "$host" --rcpt "$rcpt@receiver.example" $shape \
			--data --quit --tag "$1"
	done <<<"$SHAPES"
}

attempt first
while IFS='|' read -r name host rcpt shape; do
	adv_expect_grey "first-$name" "$rcpt@receiver.example"
done <<<"$SHAPES"
# the lines are as long as asked (the client reports the length of long ones)
for n in 1000 2000; do
	grep -q "\"len\": $n}" "$TB_DIR/adv-first-v4-$n-nagle.jsonl" ||
		adv_problem "the client did not send a $n-octet RCPT line"
done
rcv_wait_disconnects "$NSHAPES" 10 || adv_problem "the receiver did not log $NSHAPES session ends"
seen=$(rcv_rcpts_seen)
[ "$seen" -eq 0 ] || adv_problem "the receiving Postfix got $seen of the first attempts' RCPTs"

sleep $((TB_DELAY + 1))
attempt retry
while IFS='|' read -r name host rcpt shape; do
	adv_expect_code "retry-$name" "$rcpt@receiver.example" 250
	adv_expect_taken "retry-$name"
	adv_mailbox_has "$rcpt" 1 retry
done <<<"$SHAPES"

tb_stop_dp
adv_expect_no_failopen
adv_expect_counter lines_removed "$NSHAPES"
adv_expect_counter passed "$NSHAPES"
adv_verdict "RCPT lines of 1000 and 2000 octets (Nagle, NODELAY, split; IPv4 and IPv6) greylisted, then passed and delivered once"
