#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The shapes the relay filter cannot judge in one segment still get their
# verdict (issue 12, items 1, 3, 4 and 5): the filter on the receiver's veth
# with greywalld as its backstop (the receiving Postfix's check_policy_service
# on the same maps, recipient_delimiter = +). A scripted client sends, over
# IPv4 and IPv6, each shape to its own recipient:
#  - an RCPT line written in 3 pieces 150 ms apart, with TCP_NODELAY and with
#    Nagle on;
#  - an RCPT line padded to 2000 octets with an ORCPT= parameter (two segments);
#  - a 600-octet recipient base+<padding>@receiver.example (and, over IPv4, a
#    300-octet one: its line fits in 512 octets, its address not in 256).
# The filter passes each and counts why (fail_split_line, fail_long_line,
# fail_bad_command); Postfix asks the backstop, which greylists it with
# greywall's 450 (the receiver logs that reject itself), so nothing is
# delivered; the same shape after the delay passes and is delivered once (to
# the base mailbox). And one shape the filter ends itself: MAIL, two unseen
# RCPTs and DATA in one write although PIPELINING was masked gets 421 and the
# session is over, on the first attempt and after the delay alike; Postfix
# never sees those RCPTs and nothing is delivered.
set -eu
TB_DELAY=5
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
TB_USERS="$TB_USERS gina hank ivan judy kate liam mia noah"
tb_setup
tb_start_backstop || fail "the filter with greywalld as its backstop did not start"
TB_RCV_EXTRA="recipient_delimiter = +
${TB_RCV_EXTRA:-}" tb_start_receiver
sleep 1

R=receiver.example
# name|host|mailbox|the counter that says why the filter let it through|shape...
SHAPES="v4-split-nodelay|$TB_RCV4|dave|fail_split_line|--rcpt dave@$R --split-rcpt 3 --nodelay
v4-split-nagle|$TB_RCV4|erin|fail_split_line|--rcpt erin@$R --split-rcpt 3
v6-split-nodelay|$TB_RCV6|frank|fail_split_line|--rcpt frank@$R --split-rcpt 3 --nodelay
v6-split-nagle|$TB_RCV6|gina|fail_split_line|--rcpt gina@$R --split-rcpt 3
v4-line-2000|$TB_RCV4|hank|fail_long_line|--rcpt hank@$R --pad-rcpt 2000
v6-line-2000|$TB_RCV6|ivan|fail_long_line|--rcpt ivan@$R --pad-rcpt 2000 --nodelay
v4-addr-600|$TB_RCV4|bob|fail_long_line|--long-rcpt 600 --long-base bob
v6-addr-600|$TB_RCV6|carol|fail_long_line|--long-rcpt 600 --long-base carol --nodelay
v4-addr-300|$TB_RCV4|judy|fail_bad_command|--long-rcpt 300 --long-base judy"
NSHAPES=$(printf '%s\n' "$SHAPES" | wc -l)
# name|host|the two recipients: MAIL, both RCPTs and DATA in one write
PIPED="v4-pipelined|$TB_RCV4|kate|liam
v6-pipelined|$TB_RCV6|mia|noah"
NPIPED=$(printf '%s\n' "$PIPED" | wc -l)

# the one RCPT of a session: a field of its reply (long commands are shown
# shortened, so it is found by position, not by address)
rcpt_field() { # NAME FIELD
	_adv_jq "$1" 'select(.cmd? // "" | startswith("RCPT")) | .[$a]' "$2" | head -1
}
fail_counters() { relay_counters_nonzero | tr ' ' '\n' | grep '^fail_' | sort; }
# what moved between two fail_counters outputs, "name+delta ..."
counter_moves() { # BEFORE AFTER
	join -a 2 -e 0 -o 0,1.2,2.2 -t= <(printf '%s\n' "$1") <(printf '%s\n' "$2") |
		awk -F= '$3 != $2 { printf "%s+%d ", $1, $3 - $2 }'
}

# one pipelined session: the whole segment gets the filter's 421 and the session ends
piped() { # TAG
	local name host r1 r2 rc before
	while IFS='|' read -r name host r1 r2; do
		before=$(relay_counter pipelining_refused)
		rc=0
		adv "$1-$name" --host "$host" --rcpt "$r1@$R" --rcpt "$r2@$R" --pipeline --data \
			--quit --tag "$1" || rc=$?
		grep -q '"pipelining_offered": false' "$TB_DIR/adv-$1-$name.jsonl" ||
			adv_problem "$1-$name: the filter did not mask PIPELINING"
		[ "$rc" -eq 6 ] || adv_problem "$1-$name: the session did not end with a 421 (client exit $rc): $(adv_summary "$1-$name")"
		[ "$(adv_reply_code "$1-$name" "MAIL FROM:<alice@sender.example>")" = 421 ] ||
			adv_problem "$1-$name: the pipelined segment got $(adv_reply_code "$1-$name" "MAIL FROM:<alice@sender.example>"), not the filter's 421"
		[ "$(relay_counter pipelining_refused)" -gt "$before" ] ||
			adv_problem "$1-$name: the filter counted no pipelining refusal"
	done <<<"$PIPED"
}

# first attempts: each shape passes the filter (counted), the backstop greylists it
while IFS='|' read -r name host box why shape; do
	before=$(fail_counters)
	# shellcheck disable=SC2086 # shape is a list of options
	adv_run "first-$name" --host "$host" $shape --data --quit --tag first
	moved=$(counter_moves "$before" "$(fail_counters)")
	echo "first-$name: the filter counted $moved"
	case " $moved" in
	*" $why+"*) ;;
	*) adv_problem "first-$name: the filter did not count $why (it counted: ${moved:-nothing})" ;;
	esac
	code=$(rcpt_field "first-$name" code)
	text=$(rcpt_field "first-$name" text)
	if [ "$code" != 450 ]; then
		adv_problem "first-$name: the RCPT got ${code:-no reply}, not greywall's 450: ${text:0:100}"
	elif ! printf '%s\n' "$text" | grep -qE "$ADV_GREY_RE"; then
		adv_problem "first-$name: the RCPT got 450 but not greywall's text: ${text:0:100}"
	fi
done <<<"$SHAPES"
piped first
# the lines and addresses are as long as asked ("len" counts the CRLF)
grep -q '"len": 2000}' "$TB_DIR/adv-first-v4-line-2000.jsonl" || adv_problem "the client did not send a 2000-octet RCPT line"
grep -q '"len": 612}' "$TB_DIR/adv-first-v4-addr-600.jsonl" || adv_problem "the client did not send a 600-octet recipient"
grep -q '"len": 312}' "$TB_DIR/adv-first-v4-addr-300.jsonl" || adv_problem "the client did not send a 300-octet recipient"
rcv_wait_disconnects $((NSHAPES + NPIPED)) 20 ||
	adv_problem "the receiver logged $(rcv_disconnects) session ends, not $((NSHAPES + NPIPED))"
# the 450s were the backstop's: Postfix got each RCPT and logged its policy reject
while IFS='|' read -r name host box why shape; do
	[ "$(rcv_rejected "${box}[@+]")" -eq 1 ] ||
		adv_problem "first-$name: the receiving Postfix logged $(rcv_rejected "${box}[@+]") policy rejects for $box, not 1 (the backstop's)"
done <<<"$SHAPES"
seen=$(rcv_rcpts_seen)
[ "$seen" -eq "$NSHAPES" ] ||
	adv_problem "the receiving Postfix got $seen RCPTs on the first attempts, not $NSHAPES (one per shape, none pipelined)"
grey=$(backstop_metric 'greywall_policy_verdicts_total{verdict="greylist"}')
[ "$grey" = "$NSHAPES" ] || adv_problem "the backstop greylisted ${grey:-?}, not $NSHAPES: $(backstop_verdicts)"
sleep 2 # a message let through would be delivered by now
n=$(find "$TB_DIR/rcv/mail" -type f -path '*/new/*' | wc -l)
[ "$n" -eq 0 ] || adv_problem "the first attempts delivered $n message(s)"

# after the delay: each shape passes and is delivered once; pipelining still ends with 421
sleep $((TB_DELAY + 1))
while IFS='|' read -r name host box why shape; do
	# shellcheck disable=SC2086 # shape is a list of options
	adv_run "retry-$name" --host "$host" $shape --data --quit --tag retry
	code=$(rcpt_field "retry-$name" code)
	[ "$code" = 250 ] || adv_problem "retry-$name: the RCPT got ${code:-no reply}, not 250: $(rcpt_field "retry-$name" text | cut -c1-100)"
	adv_expect_taken "retry-$name"
done <<<"$SHAPES"
piped retry
while IFS='|' read -r name host box why shape; do
	adv_mailbox_has "$box" 1 retry
done <<<"$SHAPES"
rcv_wait_disconnects $((2 * (NSHAPES + NPIPED))) 20 ||
	adv_problem "the receiver logged $(rcv_disconnects) session ends, not $((2 * (NSHAPES + NPIPED)))"
sleep 1
while IFS='|' read -r name host r1 r2; do
	for u in "$r1" "$r2"; do
		[ "$(tb_mailbox "$u" | wc -l)" -eq 0 ] || adv_problem "$name: $u got mail from a pipelining client"
	done
done <<<"$PIPED"
seen=$(rcv_rcpts_seen)
[ "$seen" -eq $((2 * NSHAPES)) ] ||
	adv_problem "the receiving Postfix got $seen RCPTs in all, not $((2 * NSHAPES)) (each shape twice, none pipelined)"

# the backstop judged every shape: one greylist and one pass each
for v in greylist pass; do
	n=$(backstop_metric "greywall_policy_verdicts_total{verdict=\"$v\"}")
	[ "$n" = "$NSHAPES" ] || adv_problem "the backstop counted ${n:-?} $v verdicts, not $NSHAPES: $(backstop_verdicts)"
done
adv_expect_relay_counter pipelining_refused $((2 * NPIPED))
adv_expect_relay_counter fail_pipelined 0
echo "backstop: $(backstop_verdicts)"
echo "relay filter counters: $(relay_counters_nonzero)"
adv_verdict "split RCPTs (NODELAY and Nagle), 2000-octet RCPT lines and 600- and 300-octet recipients passed the filter (counted), were greylisted by the backstop and delivered once on the retry, over IPv4 and IPv6; MAIL+RCPTs+DATA in one write with PIPELINING masked was ended with 421 every time"
