#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A real Exim 4 sender with PIPELINING and CHUNKING sends one message to 100
# unseen recipients through greywall-dp to real Postfix, and each recipient
# gets it exactly once, after one retry: the first attempt has every RCPT
# deferred with greywall's 450 and nothing delivered; the forced queue run
# after the delay delivers the message once into each of the 100 mailboxes,
# with pipelined commands and BDAT; greywall-dp judges every RCPT (100
# greylisted, then 100 passed) and never fails open.
# EXIM_RCPTS=30 runs the same with 30 recipients (issue 12's first sighting).
set -eu
TB_DELAY=5
N=${EXIM_RCPTS:-100}
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/exim.sh"

RCPTS=()
for i in $(seq "$N"); do RCPTS+=("r$i@receiver.example"); done

tb_setup
exim_setup || fail "no Exim to run"
tb_start_dp
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
problems=()
problem() { problems+=("$*"); echo "problem: $*" >&2; }

# First attempt: Exim delivers while exim_send waits. The retry comes the delay after the
# attempt ended: a client that pipelines past greywall's edit room is judged in batches, so
# its last recipients are first seen a little after its first ones.
exim_send alice@sender.example "${RCPTS[@]}" >"$TB_DIR/exim-send.log" 2>&1 ||
	problem "exim -odi failed: $(tail -3 "$TB_DIR/exim-send.log")"
t0=$(date +%s)
wait_rcv_queue_empty 20 || problem "the receiver's queue did not drain after the first attempt"
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
echo "first attempt: $greylisted1/$N deferred with greywall's 450, $delivered1 delivered by Exim's log, mailboxes (copies:count) $hist1"
[ "$greylisted1" -eq "$N" ] || problem "first attempt: only $greylisted1 of $N recipients deferred with greywall's 450"
[ "$delivered1" -eq 0 ] || problem "first attempt: Exim logged $delivered1 deliveries"
[ -z "$other1" ] || problem "first attempt: other deferrals: $(echo "$other1" | sed -E 's/.* == r[0-9]+@receiver.example //' | sed -E 's/r[0-9]+@/rN@/g; s/DT=[0-9]+s//' | sort | uniq -c | head -5)"
[ "$hist1" = "0:$N" ] || problem "first attempt: mailboxes (copies:count) $hist1, expected 0:$N"
[ "$(exim_queue_count)" -eq 1 ] || problem "first attempt: Exim's queue does not hold the message"

# One retry once the delay has passed: a forced queue run.
now=$(date +%s)
[ $((t0 + TB_DELAY + 1 - now)) -gt 0 ] && sleep $((t0 + TB_DELAY + 1 - now))
exim_queue_run >"$TB_DIR/exim-retry.log" 2>&1 || problem "exim -qff failed: $(tail -3 "$TB_DIR/exim-retry.log")"
# settled: no mailbox empty any more (or 20 s gone), and the receiver's queue drained
for i in $(seq 40); do
	case " $(copies_histogram)" in *" 0:"*) sleep 0.5 ;; *) break ;; esac
done
wait_rcv_queue_empty 20 || problem "the receiver's queue did not drain after the retry"
attempt_log "$first_lines" >"$TB_DIR/exim-attempt2.log"
delivered2=$(grep -E ' (=>|->) r[0-9]+@receiver.example ' "$TB_DIR/exim-attempt2.log" | awk '{ print $5 }' | sort -u | wc -l)
chunked2=$(grep -E ' (=>|->) r[0-9]+@receiver.example .* L K ' "$TB_DIR/exim-attempt2.log" | awk '{ print $5 }' | sort -u | wc -l)
other2=$(grep -E ' == r[0-9]+@receiver.example ' "$TB_DIR/exim-attempt2.log" || true)
hist2=$(copies_histogram)
echo "retry: $delivered2/$N delivered by Exim's log ($chunked2 with PIPELINING and CHUNKING: L K), mailboxes (copies:count) $hist2"
[ "$delivered2" -eq "$N" ] || problem "retry: Exim logged $delivered2 of $N deliveries"
[ "$chunked2" -eq "$N" ] || problem "retry: only $chunked2 of $N deliveries were pipelined and chunked (L K)"
[ -z "$other2" ] || problem "retry: deferrals: $(echo "$other2" | head -3)"
[ "$hist2" = "1:$N" ] || problem "after the retry: mailboxes (copies:count) $hist2, expected 1:$N (exactly one copy each)"
grep -q 'Subject: greywall exim test' "$(tb_mailbox r1)" 2>/dev/null || problem "r1's mailbox does not hold our message"
[ "$(exim_queue_count)" -eq 0 ] || problem "Exim's queue is not empty after the retry"
# the receiving Postfix saw BDAT (CHUNKING) in every session and all N RCPTs on the retry
sessions=$(grep -c 'disconnect from .*\[198.18.0.1\]' "$TB_DIR/rcv/maillog" || true)
bdat_sessions=$(grep -cE 'disconnect from .*\[198.18.0.1\].* bdat=' "$TB_DIR/rcv/maillog" || true)
echo "receiver: $sessions sessions, $bdat_sessions with BDAT: $(grep 'disconnect from' "$TB_DIR/rcv/maillog" | sed -E 's/.*disconnect from //' | tr '\n' ';')"
[ "$bdat_sessions" -ge 2 ] && [ "$bdat_sessions" -eq "$sessions" ] || problem "the receiver did not see BDAT in every session"
grep -qE "disconnect from .*\[198.18.0.1\].* rcpt=$N bdat=1 " "$TB_DIR/rcv/maillog" ||
	problem "no session where the receiver took all $N RCPTs and one BDAT"
grep -q 'NOQUEUE: reject' "$TB_DIR/rcv/maillog" && problem "the receiver rejected something itself"
exim_stop || problem "an Exim process would not stop"

tb_stop_dp
failopen=$(grep -E ' fail-open ' "$TB_DIR/greywall-dp.log" | tail -1)
grep -E ' verdicts | lines_removed=' "$TB_DIR/greywall-dp.log" | tail -2
echo "$failopen"
[ -n "$failopen" ] || problem "greywall-dp printed no fail-open counters"
nonzero=$(echo "${failopen#* fail-open }" | tr ' ' '\n' | grep -vE '=0$' || true)
[ -z "$nonzero" ] || problem "greywall-dp failed open: $(echo "$nonzero" | tr '\n' ' ')"
[ "$(dp_counter failopen_policy)" = 0 ] || problem "failopen_policy is $(dp_counter failopen_policy)"
[ "$(dp_counter greylisted)" = "$N" ] || problem "greylisted is $(dp_counter greylisted), expected $N"
[ "$(dp_counter passed)" = "$N" ] || problem "passed is $(dp_counter passed), expected $N"
[ "$(dp_counter lines_removed)" = "$(dp_counter replies_injected)" ] ||
	problem "lines_removed $(dp_counter lines_removed) != replies_injected $(dp_counter replies_injected)"

if [ ${#problems[@]} -gt 0 ]; then
	echo "--- Exim's main log, first attempt (not Greylisted)" >&2
	grep -v 'Recipient address rejected: Greylisted' "$TB_DIR/exim-attempt1.log" | grep -v 'lost privilege' | head -40 >&2
	echo "--- Exim's main log, retry" >&2
	grep -v 'lost privilege' "$TB_DIR/exim-attempt2.log" | grep -vE ' -> r[0-9]+@' | head -20 >&2
	fail "${#problems[@]} problems: $(printf '%s; ' "${problems[@]}")"
fi
echo "ok: Exim's message to $N unseen recipients (PIPELINING, CHUNKING) deferred by greywall, retried once, delivered once to each"
