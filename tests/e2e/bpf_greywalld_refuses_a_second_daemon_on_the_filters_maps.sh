#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Two greywalld on one relay filter's maps, with different control sockets and
# snapshots: both would sweep and snapshot the same maps. The second is refused
# at start with the first one's pid (a flock on the filter's pin directory, as
# a pinned map cannot be opened to lock it), and the first keeps serving; a
# list push from greyctl still goes through while the first holds its lock;
# once the first stops, a new one starts.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_bpf || fail "the loader script could not attach the filter"
for n in 1 2; do
	cat >"$TB_DIR/greywall$n.conf" <<CONF
relay_maps = $TB_BPF_PIN/maps
snapshot_path = $TB_DIR/state$n/triplets.snap
control_socket = $TB_DIR/run$n/greywalld.sock
whitelist_path = $TB_DIR/white.txt
policy_listen =
metrics_listen =
CONF
done
echo "client 198.18.0.99" >"$TB_DIR/white.txt"
tb_start_greywalld "$TB_DIR/greywall1.conf" "$TB_DIR/first.log" \
	"relay filter: policy and lists pushed" || fail "the first greywalld did not start"
first=$TB_DAEMON_PID
rc=0
timeout 10 "$TB_ROOT/build/greywalld" -c "$TB_DIR/greywall2.conf" -f >"$TB_DIR/second.log" 2>&1 ||
	rc=$?
[ "$rc" = 124 ] && fail "a second greywalld ran on the same maps for 10 s: $(cat "$TB_DIR/second.log")"
[ "$rc" = 0 ] && fail "a second greywalld on the same maps exited 0"
grep -q "$TB_BPF_PIN is in use by another greywalld (pid $first)" "$TB_DIR/second.log" ||
	fail "the refusal did not name the holder's pid $first: $(cat "$TB_DIR/second.log")"
[ -S "$TB_DIR/run2/greywalld.sock" ] && fail "the refused daemon left a control socket"
kill -0 "$first" || fail "the first greywalld died"
"$TB_ROOT/build/greyctl" -c "$TB_DIR/greywall1.conf" ping | grep -q greywalld ||
	fail "the first greywalld stopped answering"
# the daemon's lock is not the list pushes' lock: a reload still publishes
rc=0
out=$(timeout 10 "$TB_ROOT/build/greyctl" -c "$TB_DIR/greywall1.conf" whitelist add \
	'client 198.18.0.98' 2>&1) || rc=$?
[ "$rc" = 124 ] && fail "a whitelist push waited on the daemon's lock"
[ "$rc" = 0 ] || fail "a whitelist push failed beside the first greywalld: $out"
grep -q "2 entries" <<<"$out" || fail "the push was not confirmed with 2 entries: $out"
kill -TERM "$first"
wait "$first" 2>/dev/null || true
tb_start_greywalld "$TB_DIR/greywall2.conf" "$TB_DIR/second.log" \
	"relay filter: policy and lists pushed" ||
	fail "no greywalld could take the maps after the first stopped: $(cat "$TB_DIR/second.log")"
echo "PASS: a second greywalld on one relay filter's maps refused with the holder's pid"
