#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# What Postfix reads as an RCPT, greywall-dp judges as one, however the client
# spells it (issue 12). Postfix 3.7 (Debian 12's) splits a command at any
# blank (space, tab, VT, FF, CR), skips blanks before the verb, stops reading a
# line at a NUL byte, ends a line at a bare LF, and ends a message at a dot
# line whatever CRs or bare LFs surround it (smtpd_forbid_bare_newline = no,
# its default before 3.9). A scripted client sends, each to its own recipient:
#  - RCPT lines with a leading space or tab, tabs, VT, FF or a CR between the
#    words, a NUL and junk after the address, a bare LF for CRLF (one over
#    IPv6, one pipelined with MAIL and DATA);
#  - a first message to postmaster@ (exempt) ended by "\n.\n", "\n.\r\n",
#    "\r\n.\n" or "\r\n.\r\r\n", then MAIL and the RCPT under test, in the
#    same write as the end of data or after its reply.
# Each first attempt gets greywall's 450 and the receiving Postfix never sees
# that RCPT; after the delay the same bytes get 250 from Postfix (so Postfix
# does act on that spelling) and the message is delivered once. Nothing fails
# open.
set -eu
TB_DELAY=5
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
TB_USERS="$TB_USERS $ADV_SPELLING_USERS"
tb_setup
tb_start_dp
tb_start_receiver
sleep 1

SHAPES=$(adv_spelling_shapes)
NSHAPES=$(printf '%s\n' "$SHAPES" | wc -l)
NPRELUDES=$(printf '%s\n' "$SHAPES" | grep -c -- --prelude-rcpt)

adv_spelling_attempt first "$SHAPES"
adv_spelling_expect_first "$SHAPES"
rcv_wait_disconnects "$NSHAPES" 15 || adv_problem "the receiver did not log $NSHAPES session ends"
seen=$(rcv_rcpts_seen)
[ "$seen" -eq "$NPRELUDES" ] ||
	adv_problem "the receiving Postfix got $seen RCPTs on the first attempts, not $NPRELUDES (postmaster's only)"
adv_spelling_expect_nothing_delivered "$SHAPES"

sleep $((TB_DELAY + 1))
adv_spelling_attempt retry "$SHAPES"
adv_spelling_expect_retry "$SHAPES" "$NPRELUDES"

tb_stop_dp
adv_expect_no_failopen
adv_expect_counter lines_removed "$NSHAPES"
adv_expect_counter passed "$NSHAPES"
adv_verdict "RCPTs spelt as Postfix reads them (blanks, VT, FF, CR, NUL, bare LF) and after a message ended by bare LF or extra CRs: greylisted, then delivered once"
