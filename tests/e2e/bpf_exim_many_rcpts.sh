#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A real Exim 4 sender sends one message to 100 unseen recipients to real
# Postfix with the relay filter on its veth and greywalld as the filter's
# backstop (Postfix's check_policy_service on the same maps), and each
# recipient gets it exactly once, after one retry. The filter masks PIPELINING,
# so Exim sends the RCPTs one at a time (it offers CHUNKING, so the body goes
# with BDAT); the filter answers every one of the 100 with greywall's 450 on the
# first attempt, its edits folding (edits_folded > 0, fail_edits_full 0), the
# receiving Postfix sees none of them and the backstop greylists none; nothing
# is delivered. The forced queue run after the delay delivers the message once
# into each of the 100 mailboxes, every RCPT passed by the filter.
# EXIM_RCPTS=30 runs the same with 30 recipients.
set -eu
TB_DELAY=5
N=${EXIM_RCPTS:-100}
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
. "$(dirname "$0")/lib/exim.sh"

RCPTS=()
for i in $(seq "$N"); do RCPTS+=("r$i@receiver.example"); done

tb_setup
exim_setup || fail "no Exim to run"
tb_start_backstop || fail "the filter with greywalld as its backstop did not start"
# the receiver also takes r1..rN, each into its own maildir
TB_USERS="$TB_USERS ${RCPTS[*]%@receiver.example}"
tb_start_receiver
sleep 1

# Nothing in the receiving Postfix's queue any more (all delivered or refused).
rcv_queue_empty() {
	[ -z "$(find "$TB_DIR/rcv/spool/maildrop" "$TB_DIR/rcv/spool/incoming" \
		"$TB_DIR/rcv/spool/active" "$TB_DIR/rcv/spool/deferred" -type f 2>/dev/null | head -1)" ]
}
wait_rcv_queue_empty() { # seconds
	local i
	for i in $(seq $(($1 * 5))); do
		rcv_queue_empty && return 0
		sleep 0.2
	done
	return 1
}
# How many mailboxes hold 0, 1, 2, ... copies: "copies:mailboxes ..."
copies_histogram() {
	local i
	for i in $(seq "$N"); do tb_mailbox "r$i" | wc -l; done | sort -n | uniq -c |
		awk '{ printf "%s%d:%d", (NR > 1 ? " " : ""), $2, $1 }'
}
# Exim's log lines for one attempt: the lines after line $1 of the main log.
attempt_log() { tail -n +"$(($1 + 1))" "$EXIM_LOG"; }
grey_metric() { backstop_metric 'greywall_policy_verdicts_total{verdict="greylist"}'; }

# First attempt: Exim delivers while exim_send waits. The retry comes the delay
# after the attempt ended (the last RCPT's triplet is first seen then, not when
# the first one was).
exim_send alice@sender.example "${RCPTS[@]}" >"$TB_DIR/exim-send.log" 2>&1 ||
	adv_problem "exim -odi failed: $(tail -3 "$TB_DIR/exim-send.log")"
t0=$(date +%s)
wait_rcv_queue_empty 20 || adv_problem "the receiver's queue did not drain after the first attempt"
rcv_wait_disconnects 1 20 || adv_problem "the receiver did not log the first session's end"
first_lines=$(wc -l <"$EXIM_LOG")
attempt_log 0 >"$TB_DIR/exim-attempt1.log"
greylisted1=0
for i in $(seq "$N"); do
	grep -qE "== r$i@receiver.example .*defer.*450 4.7.1 <r$i@receiver.example>: Recipient address rejected: Greylisted, retry in [0-9]+ seconds" \
		"$TB_DIR/exim-attempt1.log" && greylisted1=$((greylisted1 + 1))
done
delivered1=$(grep -cE ' (=>|->) r[0-9]+@receiver.example ' "$TB_DIR/exim-attempt1.log" || true)
other1=$(grep -E ' == r[0-9]+@receiver.example ' "$TB_DIR/exim-attempt1.log" | grep -v 'Recipient address rejected: Greylisted' || true)
hist1=$(copies_histogram)
seen1=$(rcv_rcpts_seen)
echo "first attempt: $greylisted1/$N deferred with greywall's 450, $delivered1 delivered by Exim's log, mailboxes (copies:count) $hist1, the receiver saw $seen1 RCPTs, the backstop greylisted $(grey_metric)"
echo "relay filter after the first attempt: $(relay_counters_nonzero)"
[ "$greylisted1" -eq "$N" ] || adv_problem "first attempt: only $greylisted1 of $N recipients deferred with greywall's 450"
[ "$delivered1" -eq 0 ] || adv_problem "first attempt: Exim logged $delivered1 deliveries"
[ -z "$other1" ] || adv_problem "first attempt: other deferrals: $(echo "$other1" | sed -E 's/.* == r[0-9]+@receiver.example //' | sed -E 's/r[0-9]+@/rN@/g; s/DT=[0-9]+s//' | sort | uniq -c | head -5)"
[ "$hist1" = "0:$N" ] || adv_problem "first attempt: mailboxes (copies:count) $hist1, expected 0:$N"
[ "$(exim_queue_count)" -eq 1 ] || adv_problem "first attempt: Exim's queue does not hold the message"
# every 450 was the filter's: Postfix never got one of those RCPTs
[ "$seen1" -eq 0 ] || adv_problem "first attempt: the receiving Postfix got $seen1 RCPTs (the filter let them through)"
[ "$(grey_metric)" = 0 ] || adv_problem "first attempt: the backstop greylisted something: $(backstop_verdicts)"
adv_expect_relay_counter verdict_greylist "$N"
adv_expect_relay_counter replies_injected "$N"
[ "$(relay_counter edits_folded)" -gt 0 ] || adv_problem "first attempt: the filter folded no edit"

# One retry once the delay has passed: a forced queue run.
now=$(date +%s)
[ $((t0 + TB_DELAY + 1 - now)) -gt 0 ] && sleep $((t0 + TB_DELAY + 1 - now))
exim_queue_run >"$TB_DIR/exim-retry.log" 2>&1 || adv_problem "exim -qff failed: $(tail -3 "$TB_DIR/exim-retry.log")"
# settled: no mailbox empty any more (or 20 s gone), and the receiver's queue drained
for i in $(seq 40); do
	case " $(copies_histogram)" in *" 0:"*) sleep 0.5 ;; *) break ;; esac
done
wait_rcv_queue_empty 20 || adv_problem "the receiver's queue did not drain after the retry"
rcv_wait_disconnects 2 20 || adv_problem "the receiver did not log the retry's session end"
sleep 1 # a second copy would land now
attempt_log "$first_lines" >"$TB_DIR/exim-attempt2.log"
delivered2=$(grep -E ' (=>|->) r[0-9]+@receiver.example ' "$TB_DIR/exim-attempt2.log" | awk '{ print $5 }' | sort -u | wc -l)
chunked2=$(grep -E ' (=>|->) r[0-9]+@receiver.example .* K ' "$TB_DIR/exim-attempt2.log" | awk '{ print $5 }' | sort -u | wc -l)
pipelined2=$(grep -cE ' (=>|->) r[0-9]+@receiver.example .* L' "$TB_DIR/exim-attempt2.log" || true)
other2=$(grep -E ' == r[0-9]+@receiver.example ' "$TB_DIR/exim-attempt2.log" || true)
hist2=$(copies_histogram)
echo "retry: $delivered2/$N delivered by Exim's log ($chunked2 with CHUNKING: K; $pipelined2 pipelined: L), mailboxes (copies:count) $hist2"
[ "$delivered2" -eq "$N" ] || adv_problem "retry: Exim logged $delivered2 of $N deliveries"
[ "$pipelined2" -eq 0 ] || adv_problem "retry: $pipelined2 deliveries were pipelined (L) though the filter masked PIPELINING"
[ -z "$other2" ] || adv_problem "retry: deferrals (count reason): $(echo "$other2" | sed -E 's/.* == r[0-9]+@receiver.example //' | sed -E 's/r[0-9]+@/rN@/g; s/DT=[0-9]+s//' | sort | uniq -c | head -3)"
[ "$hist2" = "1:$N" ] || adv_problem "after the retry: mailboxes (copies:count) $hist2, expected 1:$N (exactly one copy each)"
grep -q 'Subject: greywall exim test' "$(tb_mailbox r1)" 2>/dev/null || adv_problem "r1's mailbox does not hold our message"
[ "$(exim_queue_count)" -eq 0 ] || adv_problem "Exim's queue is not empty after the retry"
# the receiving Postfix took all N RCPTs in the retry's session, and rejected nothing itself
echo "receiver: $(grep 'disconnect from' "$TB_DIR/rcv/maillog" | sed -E 's/.*disconnect from //' | tr '\n' ';')"
grep -qE "disconnect from .*\[198.18.0.1\].* rcpt=$N " "$TB_DIR/rcv/maillog" ||
	adv_problem "no session where the receiver took all $N RCPTs"
grep -q 'NOQUEUE: reject' "$TB_DIR/rcv/maillog" &&
	adv_problem "the receiving Postfix rejected something itself: $(grep 'NOQUEUE: reject' "$TB_DIR/rcv/maillog" | head -3)"
exim_stop || adv_problem "an Exim process would not stop"

# the filter judged every RCPT: N greylisted, then N passed; the backstop greylisted none
[ "$(grey_metric)" = 0 ] || adv_problem "the backstop greylisted something: $(backstop_verdicts)"
adv_expect_relay_counter verdict_greylist "$N"
adv_expect_relay_counter replies_injected "$N"
adv_expect_relay_counter verdict_pass "$N"
adv_expect_relay_counter fail_edits_full 0
adv_expect_relay_counter pipelining_refused 0
# fail_bdat: the message went with BDAT, after the RCPTs, which the filter does
# not follow (Postfix's policy hook judges any RCPT after it); fail_ipv6_ext:
# the namespaces' MLD reports (see bpf_adv_many_rcpts.sh)
nz=$(relay_failopen_nonzero fail_bdat fail_ipv6_ext)
[ -z "$nz" ] || adv_problem "the relay filter failed open: $nz"
echo "backstop: $(backstop_verdicts)"
echo "relay filter counters: $(relay_counters_nonzero)"

if [ -n "$ADV_PROBLEMS" ]; then
	echo "--- Exim's main log, first attempt (not Greylisted)" >&2
	grep -v 'Recipient address rejected: Greylisted' "$TB_DIR/exim-attempt1.log" | grep -v 'lost privilege' | head -40 >&2
	echo "--- Exim's main log, retry" >&2
	grep -v 'lost privilege' "$TB_DIR/exim-attempt2.log" | grep -vE ' -> r[0-9]+@' | head -20 >&2
fi
adv_verdict "Exim's message to $N unseen recipients through the relay filter (PIPELINING masked, CHUNKING): $N x 450 from the filter, retried once, delivered once to each"
