#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Many unseen recipients in one session cannot get past greywall-dp (issue 12,
# item 2): a session with 100 unseen recipients (real mailboxes at the
# receiver), then one whose triplet already passed, then DATA, once one RCPT at
# a time over IPv4 and once pipelined in one write over IPv6. Each of the 100
# gets greywall's 450, the passed one 250, the message is delivered to that one
# mailbox only, the receiver sees only that RCPT, and no fail-open counter moves
# (edit_list_full above all). After the delay the 100 retry, pass and each get
# the message exactly once.
set -eu
TB_DELAY=4
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/adv.sh"
N=100
# the receiver has a mailbox for each of them: a recipient let through is delivered
TB_USERS="$TB_USERS $(printf 'u%d ' $(seq $N)) $(printf 'w%d ' $(seq $N))"
tb_setup
tb_start_dp
tb_start_receiver
sleep 1

# name|host|prefix of the 100|passed recipient|shape
SESSIONS="v4-lockstep|$TB_RCV4|u|bob|
v6-pipelined|$TB_RCV6|w|carol|--pipeline --nodelay"

# files delivered under each mailbox, "LOCAL COUNT" per line
boxes() {
	find "$TB_DIR/rcv/mail" -type f -path '*/new/*' 2>/dev/null |
		sed -E "s|^$TB_DIR/rcv/mail/([^/]+)/.*|\1|" | sort | uniq -c | awk '{ print $2, $1 }'
}
delivered_total() { find "$TB_DIR/rcv/mail" -type f -path '*/new/*' 2>/dev/null | wc -l; }

# the passed triplets: greylisted once, then passed after the delay
while IFS='|' read -r name host prefix passed shape; do
	adv_run "grey-$passed" --host "$host" --rcpt "$passed@receiver.example" --quit
	adv_expect_grey "grey-$passed" "$passed@receiver.example"
done <<<"$SESSIONS"
sleep $((TB_DELAY + 1))
while IFS='|' read -r name host prefix passed shape; do
	adv_run "pass-$passed" --host "$host" --rcpt "$passed@receiver.example" --quit
	adv_expect_code "pass-$passed" "$passed@receiver.example" 250
done <<<"$SESSIONS"
rcv_wait_disconnects 4 10 || adv_problem "the receiver did not log 4 session ends"
seen_before=$(rcv_rcpts_seen)

# 100 unseen, the passed one, DATA
while IFS='|' read -r name host prefix passed shape; do
	# shellcheck disable=SC2086 # shape is a list of options
	adv_run "many-$name" --host "$host" --rcpts $N --rcpt-fmt "$prefix{i}@receiver.example" \
		--rcpt-after "$passed@receiver.example" $shape --data --quit --tag many
	grey=$(adv_grey_count "many-$name")
	[ "$grey" -eq $N ] || adv_problem "many-$name: $grey of the $N unseen RCPTs got greywall's 450;" \
		"the others got: $(_adv_jq "many-$name" 'select(.cmd? // "" | startswith("RCPT TO:<" + $a))
			| select(.code != 450) | .code' "$prefix" | sort | uniq -c | tr -s ' \n' ' ')"
	adv_expect_code "many-$name" "$passed@receiver.example" 250
	adv_expect_taken "many-$name"
done <<<"$SESSIONS"
rcv_wait_disconnects 6 20 || adv_problem "the receiver did not log 6 session ends"
seen=$(($(rcv_rcpts_seen) - seen_before))
[ "$seen" -eq 2 ] || adv_problem "the receiving Postfix got $seen RCPTs in the two big sessions, not 2 (the passed ones)"
tb_wait_mailbox bob 1 20 || true
tb_wait_mailbox carol 1 20 || true
sleep 1
got=$(boxes)
[ "$got" = "bob 1
carol 1" ] || adv_problem "after the big sessions the mailboxes hold (box count): $(printf '%s' "$got" | head -5 | tr '\n' ',')... $(delivered_total) messages in all, not one each for bob and carol"

# the 100 retry after the delay: each passes and gets the message once
sleep $((TB_DELAY + 1))
while IFS='|' read -r name host prefix passed shape; do
	# shellcheck disable=SC2086 # shape is a list of options
	adv_run "retry-$name" --host "$host" --rcpts $N --rcpt-fmt "$prefix{i}@receiver.example" \
		$shape --data --quit --tag retry
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

tb_stop_dp
adv_expect_no_failopen
adv_expect_counter edit_list_full 0
adv_expect_counter lines_removed $((2 * N + 2))
adv_expect_counter passed $((2 * N + 4))
adv_verdict "$N unseen recipients then a passed one, one at a time (IPv4) and pipelined (IPv6): $N x 450, delivered to the passed one only; the retry delivered once to each"
