#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# What Postfix reads as an RCPT gets its verdict from the relay filter or its
# backstop, however the client spells it (issue 12): the filter on the
# receiver's veth with greywalld as Postfix's check_policy_service on the same
# maps. The shapes are adv_spelling_shapes (lib/adv.sh): RCPT lines with blanks
# before the verb, tabs, VT, FF or a CR between the words, a NUL and junk after
# the address, a bare LF; and a message to postmaster@ ended by a dot line with
# bare LFs or extra CRs, the next transaction in the same write or not. Left
# out: the shapes that pipeline although the filter masked PIPELINING (a
# pipelined RCPT, a message whose text comes in one write with the MAIL,
# RCPT and DATA before it, and DATA with its message before the 354): the
# filter ends those sessions with 421,
# as bpf_adv_shapes shows. Each first attempt gets
# greywall's 450, from the filter (Postfix never sees the RCPT) or from the
# backstop (Postfix logs the reject), once; nothing is delivered; after the
# delay the same bytes get 250 and the message is delivered once, and the
# backstop greylists nothing the filter passed.
set -eu
TB_DELAY=5
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
TB_USERS="$TB_USERS $ADV_SPELLING_USERS"
tb_setup
tb_start_backstop || fail "the filter with greywalld as its backstop did not start"
tb_start_receiver
sleep 1

SHAPES=$(adv_spelling_shapes | grep -vE '^(tab-pipelined|eod-lf-all-pipelined|eod-with-data)\|')
NSHAPES=$(printf '%s\n' "$SHAPES" | wc -l)
NPRELUDES=$(printf '%s\n' "$SHAPES" | grep -c -- --prelude-rcpt)

adv_spelling_attempt first "$SHAPES"
adv_spelling_expect_first "$SHAPES"
rcv_wait_disconnects "$NSHAPES" 15 || adv_problem "the receiver did not log $NSHAPES session ends"
# who judged each: the backstop's 450 is logged by the receiving Postfix
by_filter=0
while IFS='|' read -r name host box shape; do
	case $(rcv_rejected "$box@") in
	0) by_filter=$((by_filter + 1)); echo "first-$name: greylisted by the filter" ;;
	1) echo "first-$name: greylisted by the backstop" ;;
	*) adv_problem "first-$name: the receiving Postfix rejected $box more than once" ;;
	esac
done <<<"$SHAPES"
seen=$(rcv_rcpts_seen)
backstop_grey=$(backstop_metric 'greywall_policy_verdicts_total{verdict="greylist"}')
[ "$((seen - NPRELUDES))" = "${backstop_grey:-?}" ] ||
	adv_problem "Postfix got $((seen - NPRELUDES)) RCPTs under test but the backstop greylisted ${backstop_grey:-?}: $(backstop_verdicts)"
[ "$((by_filter + ${backstop_grey:-0}))" -eq "$NSHAPES" ] ||
	adv_problem "the filter greylisted $by_filter and the backstop ${backstop_grey:-?}, not $NSHAPES in all"
adv_spelling_expect_nothing_delivered "$SHAPES"

sleep $((TB_DELAY + 1))
adv_spelling_attempt retry "$SHAPES"
adv_spelling_expect_retry "$SHAPES" "$NPRELUDES"
n=$(backstop_metric 'greywall_policy_verdicts_total{verdict="greylist"}')
[ "$n" = "$backstop_grey" ] || adv_problem "the backstop greylisted again on the retries ($backstop_grey, then $n)"
echo "filter greylisted $by_filter, backstop $backstop_grey; backstop: $(backstop_verdicts)"
echo "relay filter counters: $(relay_counters_nonzero)"
adv_verdict "RCPTs spelt as Postfix reads them and after a message ended by bare LF or extra CRs: greylisted by the filter or its backstop, once, then delivered once"
