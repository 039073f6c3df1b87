#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# What the relay filter cannot judge in one segment, its backstop judges: the
# filter on the receiver's veth and greywalld on its maps as the receiving
# Postfix's check_policy_service. A scripted client in the sender's namespace
# (tests/e2e/lib/smtp_shapes.py) sends the shapes the filter passes un-judged,
# over IPv4 and IPv6:
#  (a) an RCPT line written in 3 pieces 150 ms apart with TCP_NODELAY;
#  (c) an RCPT line padded to about 1000 octets with an ORCPT parameter.
# Each triplet is greylisted on the first attempt (a 450 from Postfix's policy
# hook, or from the filter), nothing is delivered then, and the same shape sent
# again after the delay passes and is delivered. The filter counts why it
# let each shape through.
# And one shape it does not let through:
#  (b) MAIL, two unseen RCPTs and DATA in one write, though the filter masked
#      PIPELINING: a protocol violation no MTA commits. The filter answers the
#      whole segment with 421 and ends the session, every time; Postfix never
#      sees those RCPTs, before or after the delay.
set -eu
TB_DELAY=5
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_backstop || fail "the filter with greywalld as its backstop did not start"
tb_start_receiver

shapes() { # HOST SHAPE SENDER RCPT...: the client's transcript in $TB_DIR/shape-*.log
	local log=$TB_DIR/shape-$2-$1-$ATTEMPT.log
	ip netns exec "$TB_NS_SND" timeout 60 python3 "$(dirname "$0")/lib/smtp_shapes.py" "$@" \
		>"$log" 2>&1 || fail "the client broke on $2 to $1: $(cat "$log")"
	cat "$log"
}

round=0
for host in "$TB_RCV4" "$TB_RCV6"; do
	round=$((round + 1))
	split_before=$(relay_counter fail_split_line)
	piped_before=$(relay_counter pipelining_refused)
	long_before=$(relay_counter fail_long_line)

	ATTEMPT=1
	out=$(shapes "$host" split mallory@sender.example bob@receiver.example)
	grep -qE '^RCPT <bob@receiver.example>: 450 4\.7\.1 .*Greylisted' <<<"$out" ||
		fail "split RCPT to $host not greylisted: $out"
	out=$(shapes "$host" pipelined mallory@sender.example carol@receiver.example dave@receiver.example)
	grep -q '^pipelining offered: no' <<<"$out" || fail "PIPELINING was not masked: $out"
	grep -q '^MAIL: 421 ' <<<"$out" && grep -q '^closed by 421' <<<"$out" ||
		fail "the pipelined session to $host was not ended with 421: $out"
	out=$(shapes "$host" long mallory@sender.example erin@receiver.example)
	grep -qE '^RCPT <erin@receiver.example>: 450 4\.7\.1 .*Greylisted' <<<"$out" ||
		fail "long RCPT line to $host not greylisted: $out"
	for u in bob carol dave erin; do
		[ "$(tb_mailbox $u | wc -l)" -lt "$round" ] || fail "$u got mail on a first attempt"
	done
	# the filter let each shape through un-judged, and said why
	[ "$(relay_counter fail_split_line)" -gt "$split_before" ] || fail "no split line counted"
	[ "$(relay_counter pipelining_refused)" -gt "$piped_before" ] || fail "no pipelining refusal counted"
	[ "$(relay_counter fail_long_line)" -gt "$long_before" ] || fail "no long line counted"

	sleep $((TB_DELAY + 1))
	ATTEMPT=2
	out=$(shapes "$host" split mallory@sender.example bob@receiver.example)
	grep -q 'accepted 1 of 1; delivered' <<<"$out" || fail "split RCPT retry to $host: $out"
	out=$(shapes "$host" pipelined mallory@sender.example carol@receiver.example dave@receiver.example)
	grep -q '^closed by 421' <<<"$out" || fail "the pipelined retry to $host got past the filter: $out"
	out=$(shapes "$host" long mallory@sender.example erin@receiver.example)
	grep -q 'accepted 1 of 1; delivered' <<<"$out" || fail "long RCPT retry to $host: $out"
	for u in bob erin; do
		tb_wait_mailbox $u "$round" 20 || fail "the retry to $host was not delivered to $u"
	done
	for u in carol dave; do
		[ "$(tb_mailbox $u | wc -l)" -eq 0 ] || fail "$u got mail from a pipelining client"
	done
done

# every verdict came from the backstop: one greylist and one pass per triplet
metric() { tb_control "$TB_DIR/greywalld.sock" stats | awk -v k="$1" '$1 == k { print $2 }'; }
[ "$(metric 'greywall_policy_verdicts_total{verdict="greylist"}')" = 4 ] ||
	fail "backstop greylists: $(tb_control "$TB_DIR/greywalld.sock" stats | grep policy_verdicts)"
[ "$(metric 'greywall_policy_verdicts_total{verdict="pass"}')" = 4 ] ||
	fail "backstop passes: $(tb_control "$TB_DIR/greywalld.sock" stats | grep policy_verdicts)"
echo "ok: split and over-long RCPTs over IPv4 and IPv6 passed the filter un-judged; the backstop greylisted each, and each retry was delivered; pipelining while masked was ended with 421 every time"
echo "relay filter counters: $("$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" | awk 'NF == 2 && $2 != 0 && $1 !~ /^(delay|retry_window|max_age|awl_|smtp_port|mask_)/ { printf "%s=%s ", $1, $2 }')"
