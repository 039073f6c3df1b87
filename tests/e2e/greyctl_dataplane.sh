#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greyctl against a running greywall-dp: a message is held by greylisting (delay
# 300 s); `greyctl whitelist add` makes greywall-dp reload, and Postfix's next
# attempt is delivered at once. Also: a bad entry changes nothing (exit 1), stats and
# the triplet listing read the shared table, flush empties it. greywalld, beside
# greywall-dp, drains its verdict ring: the reject line in syslog, the triplet's
# names in the listing, greywall-dp's counters in the metrics.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
: >"$TB_DIR/whitelist"
cat >"$TB_DIR/greywall.conf" <<CONF
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
whitelist_path = $TB_DIR/whitelist
snapshot_path =
capacity = 65536
control_socket = $TB_DIR/greywalld.sock
dp_control_socket = $TB_DIR/greywall-dp.sock
policy_listen =
metrics_listen =
CONF
ctl() { "$TB_ROOT/build/greyctl" -c "$TB_DIR/greywall.conf" "$@"; }
tb_start_dp --whitelist "$TB_DIR/whitelist"
tb_start_greywalld "$TB_DIR/greywall.conf" "$TB_DIR/greywalld.log" \
	"reading greywall-dp's counters and verdicts" ||
	fail "greywalld did not find greywall-dp's shared state"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example
tb_wait_log "$TB_DIR/snd/maillog" 'to=<bob@receiver.example>.*status=deferred.*Greylisted' 30 ||
	fail "not greylisted"

ctl stats --json | grep -q '"triplets": {"slots": [0-9]*, "live": 1,' || fail "stats: $(ctl stats --json)"
tb_wait_log "$TB_DIR/greywalld.log" 'reject: RCPT from unknown\[198\.18\.0\.1\]: 450 4\.7\.1 <bob@receiver\.example>: .*from=<alice@sender\.example> to=<bob@receiver\.example> proto=ESMTP \(greywall-dp\)' 5 ||
	fail "greywalld did not log greywall-dp's verdict: $(tail -3 "$TB_DIR/greywalld.log")"
ctl triplets list | grep -qE '^[0-9a-f]{16}  greylisted .* 198\.18\.0\.1 <alice@sender\.example> -> <bob@receiver\.example>$' ||
	fail "triplet list without names: $(ctl triplets list)"
daemon_stats=$(tb_control "$TB_DIR/greywalld.sock" stats)
grep -qE '^greywall_dp_verdicts_total\{lcore="0",verdict="greylist"\} [1-9]' <<<"$daemon_stats" ||
	fail "greywall-dp's verdicts are not in greywalld's metrics: $daemon_stats"
grep -qE '^greywall_dp_port_rx_packets_total\{port="1"\} [1-9]' <<<"$daemon_stats" ||
	fail "greywall-dp's port counters are not in greywalld's metrics"

# every command has its own --help, which needs no configuration; a stray word is a
# usage error of that command (exit 2)
for c in stats triplets whitelist blacklist report reload snapshot ping relay; do
	"$TB_ROOT/build/greyctl" -c /nonexistent "$c" --help | grep -q "^Usage: greyctl .* $c" ||
		fail "greyctl $c --help"
done
rc=0
ctl stats extra 2>"$TB_DIR/err" || rc=$?
[ $rc = 2 ] && grep -q "Try 'greyctl stats --help'" "$TB_DIR/err" || fail "stats extra: $rc $(cat "$TB_DIR/err")"
[ "$(ctl triplets list --limit 1 | wc -l)" = 1 ] || fail "triplets list --limit 1"

# a bad entry: refused, named, file untouched
if ctl whitelist add 'client 198.18.0.0/33' 2>"$TB_DIR/err"; then fail "bad entry accepted"; fi
grep -q "not an IPv4 or IPv6 address or CIDR; nothing changed" "$TB_DIR/err" || fail "unclear: $(cat "$TB_DIR/err")"
[ ! -s "$TB_DIR/whitelist" ] || fail "the file changed on a bad entry"
if ctl whitelist del 'client 198.18.9.0/24' 2>/dev/null; then fail "deleting an unlisted entry succeeded"; fi

out=$(ctl whitelist add 'client 198.18.0.0/24')
grep -qx 'greyctl: greywall-dp: lists reloaded: 1 entries' <<<"$out" ||
	fail "greywall-dp did not confirm the reload: $out"
tb_wait_log "$TB_DIR/greywall-dp.log" 'lists reloaded: 1 entries' 10 || fail "greywall-dp did not reload"
[ "$(ctl whitelist list)" = "client 198.18.0.0/24" ] || fail "list: $(ctl whitelist list)"
[ "$(ctl --json whitelist list)" = '{"whitelist": ["client 198.18.0.0/24"]}' ] || fail "json list"
postqueue -c "$TB_DIR/snd/etc" -f
tb_wait_mailbox bob 1 20 || fail "whitelisted by greyctl, but not delivered on the next attempt"

ctl triplets flush | grep -q '1 triplet removed' || fail "flush"
ctl stats --json | grep -q '"live": 0,' || fail "table not empty after flush"
echo "ok: greyctl pushed a whitelist into running greywall-dp; next attempt delivered"
