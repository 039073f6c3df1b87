#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greyctl and greywalld driving the relay filter through its pinned maps, with
# real Postfix on both sides and a 300 s delay, so only a list can let mail
# through early:
#  - no daemon: `greyctl whitelist add 'recipient ...'` publishes into the
#    maps itself, and the next message to that recipient is delivered at once;
#  - greyctl stats and triplets list read the filter's own triplet map;
#  - greywalld started on the same maps; a message is greylisted, then
#    `greyctl whitelist add 'client ...'` reloads greywalld over its socket,
#    greywalld publishes a new list generation, and Postfix's next attempt is
#    delivered; a deleted entry leaves no key behind in the maps.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
DAEMON_PID=
stop_daemon() {
	[ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	return 0
}
trap 'stop_daemon; tb_cleanup' EXIT
tb_setup
trap 'stop_daemon; tb_cleanup' EXIT
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

# 2. greylisted by the filter; greyctl reads the filter's own table
tb_send alice@sender.example bob@receiver.example
tb_wait_log "$TB_DIR/snd/maillog" 'to=<bob@receiver.example>.*status=deferred.*Greylisted' 30 ||
	fail "bob was not greylisted"
ctl stats --json | grep -q '"triplets": {"slots": [0-9]*, "live": 1,' ||
	fail "stats over the triplet map: $(ctl stats --json)"
ctl stats | grep -qE '^  replies_injected +[1-9]' || fail "stats lack the filter's counters"
ctl triplets list | grep -qE '^[0-9a-f]{16}  greylisted ' || fail "triplet list: $(ctl triplets list)"

# 3. greywalld on the same maps; a client whitelist through its control socket
"$TB_ROOT/build/greywalld" -c "$CONF" -f >"$TB_DIR/greywalld.log" 2>&1 &
DAEMON_PID=$!
tb_wait_log "$TB_DIR/greywalld.log" 'relay filter: policy and lists pushed' 10 ||
	fail "greywalld did not start on the relay maps: $(cat "$TB_DIR/greywalld.log")"
[ "$(list_gen)" = 0 ] || fail "greywalld's start did not publish a new generation"
out=$(ctl whitelist add 'client 198.18.0.0/24') || fail "greyctl whitelist add (daemon) failed"
grep -q 'greywalld: lists reloaded: 2 entries' <<<"$out" || fail "greywalld did not reload: $out"
[ "$(list_gen)" = 1 ] || fail "the reload did not publish a new generation"
postqueue -c "$TB_DIR/snd/etc" -f
tb_wait_mailbox bob 1 20 || fail "client whitelisted through greywalld, but bob was not delivered"

# 4. a deleted entry leaves no key behind
ctl whitelist del 'recipient carol@receiver.example' >/dev/null || fail "whitelist del failed"
[ "$(map_keys addresses)" = 0 ] || fail "the deleted recipient is still in the addresses map"
[ "$(map_keys clients_v4)" = 1 ] || fail "clients_v4 holds $(map_keys clients_v4) keys, not 1"
stop_daemon
echo "ok: greyctl and greywalld published lists into the relay filter; mail honoured them"
