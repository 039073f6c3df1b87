#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A client that writes MAIL, two unseen RCPTs and DATA in one segment cannot get
# a message past greywall-dp (issue 12, item 5), over IPv4 and IPv6, and with
# the receiving Postfix offering PIPELINING or not (the client pipelines either
# way): both RCPTs get greywall's 450, DATA is refused by the server (554 or
# 503, never 354), the receiver sees no RCPT and nothing is delivered. The same
# shape after the delay gets 250, 250, 250, 354 and is delivered once to each.
set -eu
TB_DELAY=4
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
tb_setup
tb_start_dp
tb_start_receiver
sleep 1

# name host rcpt1 rcpt2 (with PIPELINING offered)
SHAPES="v4|$TB_RCV4|bob|carol
v6|$TB_RCV6|dave|erin"

attempt() { # TAG
	local name host r1 r2
	while IFS='|' read -r name host r1 r2; do
		adv_run "$1-$name" --host "$host" --rcpt "$r1@receiver.example" \
			--rcpt "$r2@receiver.example" --pipeline --data --quit --tag "$1"
	done <<<"$SHAPES"
}

# the client pipelines without the extension: the receiver stops offering it
unoffered() { # TAG
	adv_run "$1-unoffered" --host "$TB_RCV4" --from mallory@sender.example \
		--rcpt frank@receiver.example --rcpt postmaster@receiver.example \
		--pipeline --data --quit --tag "$1"
}

expect_refused() { # NAME r1 r2
	local data
	adv_expect_grey "$1" "$2@receiver.example"
	[ "$3" = postmaster ] || adv_expect_grey "$1" "$3@receiver.example"
	data=$(adv_reply_code "$1" DATA)
	case $data in
	554 | 503) ;;
	*) adv_problem "$1: DATA got $data, not a refusal (554/503)" ;;
	esac
}

attempt first
while IFS='|' read -r name host r1 r2; do
	expect_refused "first-$name" "$r1" "$r2"
done <<<"$SHAPES"
rcv_wait_disconnects 2 10 || adv_problem "the receiver did not log 2 session ends"
seen=$(rcv_rcpts_seen)
[ "$seen" -eq 0 ] || adv_problem "the receiving Postfix got $seen of the first attempts' RCPTs"

sleep 2 # a message let through would be delivered by now
for u in bob carol dave erin; do
	[ "$(tb_mailbox "$u" | wc -l)" -eq 0 ] || adv_problem "$u got the first attempt's message"
done

sleep $((TB_DELAY + 1))
attempt retry
while IFS='|' read -r name host r1 r2; do
	adv_expect_code "retry-$name" "$r1@receiver.example" 250
	adv_expect_code "retry-$name" "$r2@receiver.example" 250
	[ "$(adv_reply_code "retry-$name" DATA)" = 354 ] || adv_problem "retry-$name: DATA not taken"
	adv_expect_taken "retry-$name"
	adv_mailbox_has "$r1" 1 retry
	adv_mailbox_has "$r2" 1 retry
done <<<"$SHAPES"

# PIPELINING no longer offered (the running smtpd processes exit on reload)
receiver_offers() { # KEYWORDS TO DISCARD
	ip netns exec "$TB_NS_RCV" postconf -c "$TB_DIR/rcv/etc" -e "smtpd_discard_ehlo_keywords = $1"
	ip netns exec "$TB_NS_RCV" postfix -c "$TB_DIR/rcv/etc" reload >/dev/null 2>&1
	sleep 1
}
receiver_offers pipelining
unoffered first
grep -q '"pipelining_offered": false' "$TB_DIR/adv-first-unoffered.jsonl" ||
	adv_problem "the receiver still offered PIPELINING"
# frank is greylisted; postmaster is exempt and accepted, so DATA goes on: the
# message must reach postmaster only
adv_expect_grey first-unoffered frank@receiver.example
adv_expect_code first-unoffered postmaster@receiver.example 250
[ "$(adv_reply_code first-unoffered DATA)" = 354 ] || adv_problem "first-unoffered: DATA not taken for postmaster"
adv_expect_taken first-unoffered
adv_mailbox_has postmaster 1 first
[ "$(tb_mailbox frank | wc -l)" -eq 0 ] || adv_problem "frank got the first attempt's message"

sleep $((TB_DELAY + 1))
unoffered retry
adv_expect_code retry-unoffered frank@receiver.example 250
adv_expect_taken retry-unoffered
adv_mailbox_has frank 1 retry
adv_mailbox_has postmaster 2 '\(first\|retry\)'

tb_stop_dp
adv_expect_no_failopen
adv_expect_counter lines_removed 5
adv_expect_counter passed 5
adv_verdict "MAIL, RCPTs and DATA in one segment (IPv4, IPv6, PIPELINING offered or not): greylisted, DATA refused, retry delivered once"
