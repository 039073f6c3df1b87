#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greyctl and greywalld driving the relay filter through its pinned maps, with
# real Postfix on both sides and a 300 s delay, so only a list can let mail
# through early:
#  - no daemon: `greyctl whitelist add 'recipient ...'` publishes into the
#    maps itself, and the next message to that recipient is delivered at once;
#  - greywalld started on the same maps; a message is greylisted and
#    greywalld logs the filter's verdict event as Postfix smtpd logs a reject;
#    greyctl stats and triplets list read the filter's own triplet map, with
#    the triplet's names from greywalld;
#  - swaks, which never retries, is greylisted and shows up in `greyctl
#    report`, grouped by network and sender domain; Postfix, which retried,
#    does not;
#  - `greyctl whitelist add 'client ...'` reloads greywalld over its socket,
#    greywalld publishes a new list generation, Postfix's next attempt is
#    delivered, and swaks's triplet stays in the report;
#  - a deleted entry leaves no key behind in the maps.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_bpf || fail "the loader script could not attach the filter"
MAPS=$TB_BPF_PIN/maps
CONF=$TB_DIR/greywall.conf
: >"$TB_DIR/whitelist"
cat >"$CONF" <<CONF
relay_maps = $MAPS
delay = 300
whitelist_path = $TB_DIR/whitelist
snapshot_path =
control_socket = $TB_DIR/greywalld.sock
policy_listen =
metrics_listen =
report_after = 1
user = nobody
CONF
ctl() { "$TB_ROOT/build/greyctl" -c "$CONF" "$@"; }
list_gen() { bpftool map dump pinned "$MAPS/config" | grep -o '"list_gen": [0-9]*' | grep -o '[0-9]*$'; }
map_keys() { bpftool -j map dump pinned "$MAPS/$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

tb_start_receiver
tb_start_sender

# 1. no daemon: greyctl publishes a recipient whitelist itself
out=$(ctl whitelist add 'recipient carol@receiver.example') || fail "greyctl whitelist add failed"
grep -q 'relay filter: 1 entries published (list generation 1)' <<<"$out" ||
	fail "greyctl did not publish into the relay maps: $out"
[ "$(list_gen)" = 1 ] || fail "list_gen is $(list_gen), not 1"
[ "$(map_keys addresses)" = 1 ] || fail "addresses map holds $(map_keys addresses) keys, not 1"
tb_send alice@sender.example carol@receiver.example
tb_wait_mailbox carol 1 20 || fail "whitelisted recipient was not delivered at once"
grep -q 'to=<carol@receiver.example>.*status=deferred' "$TB_DIR/snd/maillog" &&
	fail "a whitelisted recipient was deferred"
[ "$(relay_counter verdict_pass_whitelist)" -ge 1 ] || fail "no whitelist pass counted by the filter"

# 2. greywalld on the same maps
tb_start_greywalld "$CONF" "$TB_DIR/greywalld.log" 'relay filter: policy and lists pushed' ||
	fail "greywalld did not start on the relay maps"
[ "$(list_gen)" = 0 ] || fail "greywalld's start did not publish a new generation"
# it runs as nobody with CAP_BPF (bit 39) alone, and still writes the maps (step 5)
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$TB_DAEMON_PID/status")" = 65534 ] || fail "greywalld still root"
[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$TB_DAEMON_PID/status")" = 0000008000000000 ] ||
	fail "greywalld's capabilities: $(grep CapEff "/proc/$TB_DAEMON_PID/status")"

# 3. greylisted by the filter: logged by greywalld, named in the triplet listing
tb_send alice@sender.example bob@receiver.example
tb_wait_log "$TB_DIR/snd/maillog" 'to=<bob@receiver.example>.*status=deferred.*Greylisted' 30 ||
	fail "bob was not greylisted"
tb_wait_log "$TB_DIR/greywalld.log" 'reject: RCPT from unknown\[198\.18\.0\.1\]: 450 4\.7\.1 <bob@receiver\.example>: Recipient address rejected: Greylisted, retry in [0-9]+ seconds; from=<alice@sender\.example> to=<bob@receiver\.example>' 10 ||
	fail "greywalld did not log the filter's verdict: $(tail -5 "$TB_DIR/greywalld.log")"
ctl stats --json | grep -q '"triplets": {"slots": [0-9]*, "live": 1,' ||
	fail "stats over the triplet map: $(ctl stats --json)"
ctl stats | grep -qE '^  replies_injected +[1-9]' || fail "stats lack the filter's counters"
ctl triplets list | grep -qE '^[0-9a-f]{16}  greylisted .* 198\.18\.0\.1 <alice@sender\.example> -> <bob@receiver\.example>$' ||
	fail "triplet list without names: $(ctl triplets list)"

# 4. a client that never retries, in the report
ip netns exec "$TB_NS_SND" swaks --server "$TB_RCV4" --from spam@bad.example \
	--to dave@receiver.example --timeout 10 >"$TB_DIR/swaks.log" 2>&1 || true
# swaks's segments may reach XDP with no tailroom: then the filter answers with the short form
grep -qE '^<[~*]* +450 4\.7\.1 (<dave@receiver\.example>: Recipient address rejected: )?Greylisted' \
	"$TB_DIR/swaks.log" ||
	fail "swaks was not greylisted: $(cat "$TB_DIR/swaks.log"; "$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" | grep -v " 0$")"
# Postfix retries (backoff 2-4 s here) and is greylisted again: a retrying MTA is no case for the report
for i in $(seq 50); do
	[ "$(grep -c 'reject: RCPT from .* to=<bob@receiver.example>' "$TB_DIR/greywalld.log")" -ge 2 ] && break
	sleep 0.2
done
[ "$i" -lt 50 ] || fail "Postfix did not retry bob within 10 s"
sleep 1.5 # past report_after for swaks's triplet
report=$(ctl report)
grep -qE '^198\.18\.0\.0/24 +bad\.example +1 .*dave@receiver\.example$' <<<"$report" ||
	fail "report lacks the swaks triplet: $report"
grep -q 'sender\.example' <<<"$report" && fail "report lists a triplet Postfix retried: $report"

# 5. a client whitelist through greywalld's control socket
out=$(ctl whitelist add 'client 198.18.0.0/24') || fail "greyctl whitelist add (daemon) failed"
grep -q 'greywalld: lists reloaded: 2 entries' <<<"$out" || fail "greywalld did not reload: $out"
[ "$(list_gen)" = 1 ] || fail "the reload did not publish a new generation"
postqueue -c "$TB_DIR/snd/etc" -f
tb_wait_mailbox bob 1 20 || fail "client whitelisted through greywalld, but bob was not delivered"
report=$(ctl --json report)
grep -q '"sender_domain": "sender.example"' <<<"$report" && fail "a delivered triplet is reported: $report"
grep -q '"sender_domain": "bad.example", "triplets": 1' <<<"$report" ||
	fail "the swaks triplet left the report: $report"

# greywalld's metrics carry the filter's counters and the names it keeps
daemon_stats=$(tb_control "$TB_DIR/greywalld.sock" stats)
grep -qE '^greywall_relay_replies_injected_total [1-9]' <<<"$daemon_stats" ||
	fail "no relay counters in greywalld's metrics: $daemon_stats"
grep -qE '^greywall_names [1-9]' <<<"$daemon_stats" || fail "no names counted in the metrics"

# 6. a deleted entry leaves no key behind
ctl whitelist del 'recipient carol@receiver.example' >/dev/null || fail "whitelist del failed"
[ "$(map_keys addresses)" = 0 ] || fail "the deleted recipient is still in the addresses map"
[ "$(map_keys clients_v4)" = 1 ] || fail "clients_v4 holds $(map_keys clients_v4) keys, not 1"
tb_stop_greywalld
echo "ok: greyctl and greywalld published lists into the relay filter; mail honoured them (replies grown at the front: $(relay_counter replies_headroom), short: $(relay_counter replies_short))"
