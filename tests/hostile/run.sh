#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The hostile suite: greywalld in a network namespace of its own (loopback
# only), attacked by attack.py on its policy port, its metrics port and its
# control socket, while a well-behaved Postfix request must be answered
# within 50 ms throughout. Bounded: a few hundred connections, under a minute.
# Usage: tests/hostile/run.sh [PHASE...] (default: every phase)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PHASES=(literals idle_policy partial_policy request_deadline silent_metrics trickle_metrics
	silent_control trickle_control side_deadline unread_answers garbage)
[ $# -gt 0 ] && PHASES=("$@")
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace)"; exit 77; }
[ -x "$ROOT/build/greywalld" ] || { echo "build first: make"; exit 1; }
if [ -z "${GW_HOSTILE_NS:-}" ]; then
	# a private loopback: fixed ports, nothing else listening, gone when we are
	exec unshare --net -- env GW_HOSTILE_NS=1 "$0" "${PHASES[@]}"
fi
ip link set lo up
DIR=$(mktemp -d /tmp/greywall-hostile.XXXXXX)
ID=hostile-$$
PID=
cleanup() {
	set +e
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -f "/dev/shm/greywall-$ID-triplets" "/dev/shm/greywall-$ID-awl" \
		"/dev/shm/greywall-$ID-triplets.dp"
	rm -rf "$DIR"
}
trap cleanup EXIT
# names_capacity = 0 makes 'report' answer its error line, which item 8 checks
cat >"$DIR/greywall.conf" <<CONF
table_path = /dev/shm/greywall-$ID-triplets
awl_path = /dev/shm/greywall-$ID-awl
capacity = 65536
snapshot_path = $DIR/state/triplets.snap
control_socket = $DIR/greywalld.sock
control_group = greywall-hostile-no-such-group
policy_listen = 127.0.0.1:10023
metrics_listen = 127.0.0.1:9425
names_capacity = 0
max_clients = 256
CONF
: >"$DIR/greywalld.log"
"$ROOT/build/greywalld" -c "$DIR/greywall.conf" -f >"$DIR/greywalld.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
	grep -q 'policy server listening' "$DIR/greywalld.log" && break
	sleep 0.1
done
grep -q 'policy server listening' "$DIR/greywalld.log" || {
	echo "greywalld did not start:"
	cat "$DIR/greywalld.log"
	exit 1
}
rc=0
timeout 120 python3 "$ROOT/tests/hostile/attack.py" 127.0.0.1:10023 127.0.0.1:9425 \
	"$DIR/greywalld.sock" "${PHASES[@]}" || rc=$?
kill -0 "$PID" 2>/dev/null || { echo "FAIL: greywalld died"; rc=1; }
[ $rc = 0 ] || { echo "greywalld's log (tail):"; tail -20 "$DIR/greywalld.log"; }
exit $rc
