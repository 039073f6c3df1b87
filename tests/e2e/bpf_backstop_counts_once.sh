#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A triplet the relay filter passes is counted once, though the backstop sees
# it too: real Postfix -> bridge -> real Postfix with the relay filter on the
# receiver's veth and greywalld on the filter's maps as the receiver's
# check_policy_service. The first attempt is deferred by the filter's 450
# (Postfix never sees that RCPT, so the backstop is not asked), the retry after
# the delay is passed by the filter and delivered, and when Postfix then asks
# greywalld about the same RCPT it answers DUNNO from the filter's pass: the
# triplet's count stays 1, the policy server counts no verdict and logs no
# second pass line, and nothing is greylisted a second time.
set -eu
TB_DELAY=5
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_backstop || fail "the filter with greywalld as its backstop did not start"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example
assert_greylisted_then_delivered bob
# Postfix asked the backstop after the filter passed the RCPT: wait for its answer to be counted
metric() { tb_control "$TB_DIR/greywalld.sock" stats | awk -v k="$1" '$1 == k { print $2 }'; }
for i in $(seq 25); do
	[ "$(metric greywall_policy_requests_total)" -ge 1 ] && break
	sleep 0.2
done
[ "$(metric greywall_policy_requests_total)" -ge 1 ] || fail "Postfix never asked greywalld"

# the filter judged every attempt: greylists, then one pass
greylists=$(relay_counter verdict_greylist)
[ "$greylists" -ge 1 ] || fail "the filter greylisted nothing"
[ "$(relay_counter verdict_pass)" = 1 ] || fail "filter passes: $(relay_counter verdict_pass), not 1"
[ "$(relay_counter replies_injected)" = "$greylists" ] || fail "a greylist without its 450"

# the backstop answered from the filter's pass, and counted nothing itself
[ "$(metric greywall_policy_judged_by_data_path_total)" = 1 ] ||
	fail "policy requests answered from the filter's pass: $(metric greywall_policy_judged_by_data_path_total)"
for v in greylist pass; do
	[ "$(metric "greywall_policy_verdicts_total{verdict=\"$v\"}")" = 0 ] ||
		fail "the policy server counted a $v verdict: $(tb_control "$TB_DIR/greywalld.sock" stats | grep policy)"
done
# the policy server's own greylists are the only postgrey-shaped ones (the filter's are rejects)
grep -q 'action=greylist' "$TB_BACKSTOP_LOG" && fail "the backstop greylisted the triplet again"

# one pass line (the filter's event), one triplet counted once
passes=$(grep -c 'action=pass, .*recipient=bob@receiver\.example' "$TB_BACKSTOP_LOG" || true)
[ "$passes" = 1 ] || fail "$passes pass lines in greywalld's log: $(grep 'RCPT from' "$TB_BACKSTOP_LOG")"
grep -q 'action=pass, reason=triplet found, client_name=unknown, client_address=198\.18\.0\.1, sender=alice@sender\.example, recipient=bob@receiver\.example (relay filter)' \
	"$TB_BACKSTOP_LOG" || fail "the pass line is not the filter's"
[ "$(grep -c 'reject: RCPT .*to=<bob@receiver.example> proto=ESMTP (relay filter)' "$TB_BACKSTOP_LOG")" = "$greylists" ] ||
	fail "greylist lines and the filter's greylist count differ"
line=$(tb_greyctl triplets list | grep '<alice@sender.example> -> <bob@receiver.example>') ||
	fail "triplet not listed: $(tb_greyctl triplets list)"
fp=${line%% *}
tb_greyctl triplets show "$fp" | grep -qE '^[0-9a-f]{16}  passed .*  count 1  ' ||
	fail "the pass was counted more than once: $(tb_greyctl triplets show "$fp")"
echo "ok: deferred once by the relay filter, retried, delivered; the backstop answered from the filter's pass: counted once, not greylisted again"
echo "relay filter counters: $("$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" | awk 'NF == 2 && $2 != 0 && $1 !~ /^(delay|retry_window|max_age|awl_|smtp_port|mask_)/ { printf "%s=%s ", $1, $2 }')"
