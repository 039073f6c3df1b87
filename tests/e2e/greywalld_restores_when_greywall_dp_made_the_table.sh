#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# After a reboot greywall-dp may start first and make the tables: greywalld still
# brings its snapshot back into them, and greywall-dp, still running, judges by it.
# greywalld then owns them: a restart does not bring back a triplet removed since.
# greywall-dp started on the same greywall.conf makes the tables from the snapshot
# itself.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
NS=$TB_NS_RCV
CONF=$TB_DIR/greywall.conf
cat >"$CONF" <<CONF
delay = 4
capacity = 65536
max_flows = 1024
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
snapshot_path = $TB_DIR/state/triplets.snap
control_socket = $TB_DIR/greywalld.sock
dp_control_socket =
policy_listen = 127.0.0.1:10023
metrics_listen =
CONF
start() {
	: >"$TB_DIR/greywalld.log" # each start is waited for by its own lines
	ip netns exec "$NS" "$TB_ROOT/build/greywalld" -c "$CONF" -f >>"$TB_DIR/greywalld.log" 2>&1 &
	GP=$!
	tb_wait_log "$TB_DIR/greywalld.log" 'policy server listening' 10 || fail "greywalld did not start"
}
stop() { kill -TERM $GP && wait $GP || fail "greywalld did not exit cleanly on SIGTERM"; }
ask() { tb_policy_ask "$NS" 198.18.0.1 "$1"; } # sender -> the action line
live() { "$TB_ROOT/build/greyctl" -c "$CONF" stats --json | grep -oE '"live": [0-9]+' | head -1 | cut -d' ' -f2; }

start
[[ "$(ask a@sender.example)" == "action=DEFER_IF_PERMIT"* ]] || fail "first attempt not deferred"
stop
# the reboot: /dev/shm is empty, and greywall-dp comes up first and makes the tables
rm -f "/dev/shm/greywall-$TB_ID-triplets" "/dev/shm/greywall-$TB_ID-awl"
tb_start_dp
[ -e "/dev/shm/greywall-$TB_ID-triplets" ] || fail "greywall-dp made no table"
[ "$(live)" = 0 ] || fail "greywall-dp's new table is not empty"
start
[ "$(live)" = 1 ] || fail "the table holds $(live) entries after the restore"
tb_wait_log "$TB_DIR/greywalld.log" "restored 1 entries from $TB_DIR/state/triplets.snap into /dev/shm/greywall-$TB_ID-triplets, which greywall-dp made" 5 ||
	fail "greywalld did not restore into greywall-dp's table: $(cat "$TB_DIR/greywalld.log")"
sleep 4
[ "$(ask a@sender.example)" = "action=DUNNO" ] || fail "the restored triplet did not pass its retry"

# settled: what is removed now stays removed across a restart
# (SIGKILL: the snapshot on disk still holds the triplet)
"$TB_ROOT/build/greyctl" -c "$CONF" triplets flush >/dev/null
kill -9 $GP
wait $GP 2>/dev/null || true
start
[ "$(live)" = 0 ] || fail "a restart brought back a flushed triplet"

# greywall-dp on greywall.conf itself: it makes the missing tables from the snapshot
[[ "$(ask c@sender.example)" == "action=DEFER_IF_PERMIT"* ]] || fail "c not deferred"
stop
tb_stop_dp
rm -f "/dev/shm/greywall-$TB_ID-triplets" "/dev/shm/greywall-$TB_ID-awl"
tb_start_dp_conf "$CONF"
grep -q "greywall-dp: restored /dev/shm/greywall-$TB_ID-triplets from $TB_DIR/state/triplets.snap" \
	"$TB_DIR/greywall-dp.log" || fail "greywall-dp did not restore the snapshot"
[ "$(live)" = 1 ] || fail "greywall-dp's restored table holds $(live) entries"
start
sleep 4
[ "$(ask c@sender.example)" = "action=DUNNO" ] || fail "the triplet greywall-dp restored did not pass"
echo "ok: greywalld restored its snapshot into the table greywall-dp made first, once; greywall-dp on greywall.conf restored it itself"
