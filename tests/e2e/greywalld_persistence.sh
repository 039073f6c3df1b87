#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywalld keeps its triplets across restarts: after SIGTERM nothing is lost, after
# SIGKILL at most one snapshot interval, even when a reboot emptied /dev/shm; a
# damaged snapshot stops it with the reason and is left in place. Runs in its own
# network namespace; the policy protocol is spoken over that namespace's loopback.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
NS=$TB_NS_RCV
CONF=$TB_DIR/greywall.conf
cat >"$CONF" <<CONF
delay = 4
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
snapshot_path = $TB_DIR/state/triplets.snap
control_socket = $TB_DIR/greywalld.sock
snapshot_interval = 1
policy_listen = 127.0.0.1:10023
CONF
start() {
	ip netns exec "$NS" "$TB_ROOT/build/greywalld" -c "$CONF" -f >>"$TB_DIR/greywalld.log" 2>&1 &
	GP=$!
	tb_wait_log "$TB_DIR/greywalld.log" 'policy server listening' 10 || fail "greywalld did not start"
}
ask() { tb_policy_ask "$NS" 198.18.0.1 "$1"; } # sender -> the action line
reboot_shm() { rm -f "/dev/shm/greywall-$TB_ID-triplets" "/dev/shm/greywall-$TB_ID-awl"; }

start
[[ "$(ask a@sender.example)" == "action=DEFER_IF_PERMIT"* ]] || fail "first attempt not deferred"
kill -TERM $GP
wait $GP || fail "greywalld did not exit cleanly on SIGTERM"
reboot_shm
> "$TB_DIR/greywalld.log"
start
grep -q "restored /dev/shm/greywall-$TB_ID-triplets" "$TB_DIR/greywalld.log" || fail "no restore after the reboot"
sleep 4
[ "$(ask a@sender.example)" = "action=DUNNO" ] || fail "SIGTERM + reboot lost the triplet"

# SIGKILL after a snapshot interval has passed: the triplet survives
[[ "$(ask b@sender.example)" == "action=DEFER_IF_PERMIT"* ]] || fail "b not deferred"
sleep 2.5
kill -9 $GP
wait $GP 2>/dev/null || true
reboot_shm
> "$TB_DIR/greywalld.log"
start
sleep 4
[ "$(ask b@sender.example)" = "action=DUNNO" ] || fail "SIGKILL lost more than one snapshot interval"
kill -TERM $GP
wait $GP || true

# a damaged snapshot: refused, named, left in place
reboot_shm
printf '\xff' | dd of="$TB_DIR/state/triplets.snap" bs=1 seek=6000 conv=notrunc status=none
if ip netns exec "$NS" "$TB_ROOT/build/greywalld" -c "$CONF" -f >"$TB_DIR/bad.log" 2>&1; then
	fail "greywalld started from a damaged snapshot"
fi
grep -q 'checksum mismatch (damaged); left in place (move it aside to start empty)' "$TB_DIR/bad.log" ||
	fail "unclear refusal: $(cat "$TB_DIR/bad.log")"
[ -s "$TB_DIR/state/triplets.snap" ] || fail "the damaged snapshot was removed"
echo "ok: SIGTERM and reboot lose nothing, SIGKILL at most one interval, damage refused"
