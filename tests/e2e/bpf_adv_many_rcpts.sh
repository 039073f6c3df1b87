#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Many unseen recipients in one session cannot get past the relay filter
# (issue 12, item 2): the filter on the receiver's veth with greywalld as its
# backstop (the receiving Postfix's check_policy_service on the same maps). A
# scripted client sends 100 unseen recipients one at a time (each after reading
# the previous reply, as the masked PIPELINING asks), then one whose triplet
# already passed, then DATA, over IPv4 and over IPv6. Each of the 100 gets
# greywall's 450 from the filter itself: its edits fold (edits_folded > 0), its
# edit ring is never full (fail_edits_full 0), nothing fails open, the receiving
# Postfix sees only the passed RCPT and the backstop greylists nothing (every
# verdict was the filter's); the message reaches the passed one's mailbox only.
# After the delay the 100 retry, pass, and each gets the message exactly once.
set -eu
TB_DELAY=5
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
N=100
# the receiver has a mailbox for each of them: a recipient let through is delivered
TB_USERS="$TB_USERS $(printf 'u%d ' $(seq $N)) $(printf 'w%d ' $(seq $N))"
tb_setup
tb_start_backstop || fail "the filter with greywalld as its backstop did not start"
tb_start_receiver
sleep 1

# name|host|prefix of the 100|passed recipient
SESSIONS="v4|$TB_RCV4|u|bob
v6|$TB_RCV6|w|carol"

# files delivered under each mailbox, "LOCAL COUNT" per line
boxes() {
	find "$TB_DIR/rcv/mail" -type f -path '*/new/*' 2>/dev/null |
		sed -E "s|^$TB_DIR/rcv/mail/([^/]+)/.*|\1|" | sort | uniq -c | awk '{ print $2, $1 }'
}
delivered_total() { find "$TB_DIR/rcv/mail" -type f -path '*/new/*' 2>/dev/null | wc -l; }
grey_metric() { backstop_metric 'greywall_policy_verdicts_total{verdict="greylist"}'; }

# the passed triplets: greylisted once (by the filter), then passed after the delay
while IFS='|' read -r name host prefix passed; do
	adv_run "grey-$passed" --host "$host" --rcpt "$passed@receiver.example" --quit
	adv_expect_grey "grey-$passed" "$passed@receiver.example"
done <<<"$SESSIONS"
sleep $((TB_DELAY + 1))
while IFS='|' read -r name host prefix passed; do
	adv_run "pass-$passed" --host "$host" --rcpt "$passed@receiver.example" --quit
	adv_expect_code "pass-$passed" "$passed@receiver.example" 250
done <<<"$SESSIONS"
rcv_wait_disconnects 4 10 || adv_problem "the receiver did not log 4 session ends"
seen_before=$(rcv_rcpts_seen)
folded_before=$(relay_counter edits_folded)

# 100 unseen, one at a time, then the passed one and DATA
while IFS='|' read -r name host prefix passed; do
	adv_run "many-$name" --host "$host" --rcpts $N --rcpt-fmt "$prefix{i}@receiver.example" \
		--rcpt-after "$passed@receiver.example" --data --quit --tag many
	grep -q '"pipelining_offered": false' "$TB_DIR/adv-many-$name.jsonl" ||
		adv_problem "many-$name: the filter did not mask PIPELINING"
	grey=$(adv_grey_count "many-$name")
	[ "$grey" -eq $N ] || adv_problem "many-$name: $grey of the $N unseen RCPTs got greywall's 450;" \
		"the others got (count code): $(_adv_jq "many-$name" 'select(.cmd? // "" | startswith("RCPT TO:<" + $a))
			| select(.code != 450 or (.text | test("Greylisted") | not)) | "\(.code) \(.text)"' "$prefix" |
			sort | uniq -c | head -5 | tr -s ' \n' ' ')"
	adv_expect_code "many-$name" "$passed@receiver.example" 250
	adv_expect_taken "many-$name"
done <<<"$SESSIONS"
rcv_wait_disconnects 6 20 || adv_problem "the receiver did not log 6 session ends"
seen=$(($(rcv_rcpts_seen) - seen_before))
[ "$seen" -eq 2 ] || adv_problem "the receiving Postfix got $seen RCPTs in the two big sessions, not 2 (the passed ones)"
n=$(rcv_rejected '[uw][0-9]+@')
[ "$n" -eq 0 ] || adv_problem "the backstop (Postfix's policy hook) deferred $n of the 200 unseen RCPTs: the filter let them through"
[ "$(grey_metric)" = 0 ] || adv_problem "the backstop greylisted something: $(backstop_verdicts)"
folded=$(($(relay_counter edits_folded) - folded_before))
[ "$folded" -gt 0 ] || adv_problem "the big sessions folded no edit (edits_folded stayed at $folded_before)"
echo "big sessions: $folded edits folded, $(relay_counter deferred) deferred, fail-open counters: $(relay_failopen_nonzero)"
tb_wait_mailbox bob 1 20 || true
tb_wait_mailbox carol 1 20 || true
sleep 1
got=$(boxes)
[ "$got" = "bob 1
carol 1" ] || adv_problem "after the big sessions the mailboxes hold (box count): $(printf '%s' "$got" | head -5 | tr '\n' ',')... $(delivered_total) messages in all, not one each for bob and carol"

# the 100 retry after the delay: each passes and gets the message once
sleep $((TB_DELAY + 1))
while IFS='|' read -r name host prefix passed; do
	adv_run "retry-$name" --host "$host" --rcpts $N --rcpt-fmt "$prefix{i}@receiver.example" \
		--data --quit --tag retry
	ok=$(adv_count "retry-$name" 250)
	[ "$ok" -eq $N ] || adv_problem "retry-$name: $ok of the $N retried RCPTs got 250"
	adv_expect_taken "retry-$name"
done <<<"$SESSIONS"
for _ in $(seq 150); do
	[ "$(delivered_total)" -ge $((2 * N + 2)) ] && break
	sleep 0.2
done
sleep 1
got=$(boxes)
for prefix in u w; do
	once=$(printf '%s\n' "$got" | grep -cE "^${prefix}[0-9]+ 1\$" || true)
	[ "$once" -eq $N ] || adv_problem "$once of the $N $prefix mailboxes hold exactly one message;" \
		"the others: $(printf '%s\n' "$got" | grep -E "^${prefix}[0-9]+ " | grep -vE ' 1$' | head -5 | tr '\n' ',')"
done
bad=$(find "$TB_DIR/rcv/mail" -type f -path '*/new/*' -path '*/[uw][0-9]*' -exec grep -L '^X-Adversary: retry$' {} + | wc -l)
[ "$bad" -eq 0 ] || adv_problem "$bad of the u/w mailboxes' messages are not the retry's"
rcv_wait_disconnects 8 20 || adv_problem "the receiver did not log 8 session ends"

# every verdict was the filter's; the backstop only answered for the passes
[ "$(grey_metric)" = 0 ] || adv_problem "the backstop greylisted something: $(backstop_verdicts)"
grep -q 'NOQUEUE: reject' "$TB_DIR/rcv/maillog" &&
	adv_problem "the receiving Postfix rejected an RCPT itself: $(grep 'NOQUEUE: reject' "$TB_DIR/rcv/maillog" | head -3)"
adv_expect_relay_counter fail_edits_full 0
# fail_ipv6_ext counts every IPv6 packet with an extension header, SMTP or not:
# the namespaces' own MLD reports (hop-by-hop, ICMPv6) move it with no session at
# all. An SMTP segment it let through would have reached Postfix and its backstop,
# which the checks above rule out.
nz=$(relay_failopen_nonzero fail_ipv6_ext)
[ -z "$nz" ] || adv_problem "the relay filter failed open: $nz"
adv_expect_relay_counter verdict_greylist $((2 * N + 2))
adv_expect_relay_counter replies_injected $((2 * N + 2))
adv_expect_relay_counter verdict_pass $((2 * N + 4))
[ "$(relay_counter edits_folded)" -gt 0 ] || adv_problem "the relay filter folded no edit"
echo "backstop: $(backstop_verdicts)"
echo "relay filter counters: $(relay_counters_nonzero)"
adv_verdict "$N unseen recipients one at a time, then a passed one (IPv4 and IPv6): $N x 450 from the relay filter (edits folded), delivered to the passed one only, the backstop greylisted none; the retry delivered once to each"
