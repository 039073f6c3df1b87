#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# An RCPT line written in pieces cannot get past greywall-dp un-judged (issue 12,
# item 1). A scripted client writes each RCPT in three pieces 150 ms apart, with
# TCP_NODELAY and with Nagle on (then a piece waits for the previous one's ack,
# which greywall-dp holds back), over IPv4 and IPv6; and cut between CR and LF,
# and inside the verb. Every first attempt gets greywall's 450, the receiving
# Postfix never sees one of those RCPTs, nothing fails open (split_line 0), and
# the same shape after the delay passes and is delivered, once.
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
SHAPES="v4-nodelay|$TB_RCV4|bob|--split-rcpt 3 --nodelay
v4-nagle|$TB_RCV4|carol|--split-rcpt 3
v6-nodelay|$TB_RCV6|dave|--split-rcpt 3 --nodelay
v6-nagle|$TB_RCV6|erin|--split-rcpt 3
v4-verb-crlf|$TB_RCV4|frank|--split-at 2,-1 --nodelay"
NSHAPES=$(printf '%s\n' "$SHAPES" | wc -l)

attempt() { # TAG
	local name host rcpt shape
	while IFS='|' read -r name host rcpt shape; do
		# shellcheck disable=SC2086 # shape is a list of options
		adv_run "$1-$name" --host "$host" --rcpt "$rcpt@receiver.example" \
			--split-gap 150 $shape --data --quit --tag "$1"
	done <<<"$SHAPES"
}

attempt first
while IFS='|' read -r name host rcpt shape; do
	adv_expect_grey "first-$name" "$rcpt@receiver.example"
done <<<"$SHAPES"
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
adv_expect_counter split_line 0
adv_expect_no_failopen
adv_expect_counter lines_removed "$NSHAPES"
adv_expect_counter passed "$NSHAPES"
adv_verdict "RCPT lines in pieces (NODELAY and Nagle, IPv4 and IPv6, CR|LF) greylisted, then passed and delivered once"
