#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Two greywalld on one table, with different control sockets and ports: the second is
# refused at start with the first one's pid (a flock on the table file), and the first
# keeps serving; once the first stops, a new one starts. Runs in its own namespace.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
NS=$TB_NS_RCV
for n in 1 2; do
	cat >"$TB_DIR/greywall$n.conf" <<CONF
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
snapshot_path = $TB_DIR/state$n/triplets.snap
control_socket = $TB_DIR/run$n/greywalld.sock
policy_listen = 127.0.0.1:1002$n
metrics_listen = 127.0.0.1:942$n
CONF
done
ip netns exec "$NS" "$TB_ROOT/build/greywalld" -c "$TB_DIR/greywall1.conf" -f \
	>"$TB_DIR/first.log" 2>&1 &
first=$!
tb_wait_log "$TB_DIR/first.log" 'policy server listening' 10 || fail "the first greywalld did not start"
rc=0
timeout 10 ip netns exec "$NS" "$TB_ROOT/build/greywalld" -c "$TB_DIR/greywall2.conf" -f \
	>"$TB_DIR/second.log" 2>&1 || rc=$?
[ "$rc" = 124 ] && fail "a second greywalld ran on the same table for 10 s: $(cat "$TB_DIR/second.log")"
[ "$rc" = 0 ] && fail "a second greywalld on the same table exited 0"
grep -q "in use by another greywalld (pid $first)" "$TB_DIR/second.log" ||
	fail "the refusal did not name the holder's pid $first: $(cat "$TB_DIR/second.log")"
[ -S "$TB_DIR/run2/greywalld.sock" ] && fail "the refused daemon left a control socket"
kill -0 "$first" || fail "the first greywalld died"
ip netns exec "$NS" "$TB_ROOT/build/greyctl" -c "$TB_DIR/greywall1.conf" ping | grep -q greywalld ||
	fail "the first greywalld stopped answering"
kill -TERM "$first"
wait "$first" || true
ip netns exec "$NS" "$TB_ROOT/build/greywalld" -c "$TB_DIR/greywall2.conf" -f \
	>"$TB_DIR/second.log" 2>&1 &
tb_wait_log "$TB_DIR/second.log" 'policy server listening' 10 ||
	fail "no greywalld could take the table after the first stopped: $(cat "$TB_DIR/second.log")"
echo "PASS: a second greywalld on one table refused with the holder's pid"
