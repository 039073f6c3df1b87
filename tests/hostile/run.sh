#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The hostile suite: greywalld in a network namespace of its own (loopback
# only), attacked by attack.py on its policy port, its metrics port and its
# control socket, while a well-behaved Postfix request must be answered
# within 50 ms throughout; its list files are spoiled under it. Before that,
# --check meets damaged configurations, and after it, the start meets damaged
# and forged snapshots: each is refused at once, by name, and loses nothing.
# Bounded: a few hundred connections, about a minute.
# Usage: tests/hostile/run.sh [PHASE...] (default: every phase)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PHASES=(literals idle_policy partial_policy request_deadline silent_metrics trickle_metrics
	silent_control trickle_control side_deadline deadline_while_talking flood_spares_control
	unread_answers garbage corrupt_lists)
[ $# -gt 0 ] && PHASES=("$@")
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace)"; exit 77; }
# GREYWALLD: another build of it (make test runs the suite on an ASan build too)
GREYWALLD=${GREYWALLD:-$ROOT/build/greywalld}
[ -x "$GREYWALLD" ] || { echo "build first: make"; exit 1; }
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
whitelist_path = $DIR/white.txt
control_socket = $DIR/greywalld.sock
control_group = greywall-hostile-no-such-group
policy_listen = 127.0.0.1:10023
metrics_listen = 127.0.0.1:9425
names_capacity = 0
max_clients = 256
CONF
echo "client 198.51.100.7" >"$DIR/white.txt"
GOOD_CONF=$(cat "$DIR/greywall.conf")

# --- damaged configurations: --check refuses each at once, naming the file
bad_config() { # WHAT EXPECTED-TEXT: $DIR/bad.conf must be refused
	local out rc=0
	out=$(timeout 5 "$GREYWALLD" -c "$DIR/bad.conf" --check 2>&1) || rc=$?
	if [ $rc = 124 ] || [ $rc -ge 128 ]; then
		echo "FAIL: --check on a config that is $1 hung or died (status $rc): $out"
		exit 1
	fi
	if [ $rc = 0 ] || ! grep -qF -- "$2" <<<"$out" || ! grep -qF "$DIR/bad.conf" <<<"$out"; then
		echo "FAIL: --check on a config that is $1 (status $rc) did not say '$2': $out"
		exit 1
	fi
	rm -rf "$DIR/bad.conf"
}
conf_with() { # LINES: the good configuration plus LINES, into bad.conf
	printf '%s\n%b' "$GOOD_CONF" "$1" >"$DIR/bad.conf"
}
mkdir "$DIR/bad.conf"
bad_config "a directory" "not a regular file (a directory)"
mkfifo "$DIR/bad.conf"
bad_config "a FIFO" "a device, FIFO or socket"
conf_with "delay = 60\0junk\n"
bad_config "a NUL byte" "a NUL byte"
conf_with "$(head -c 3000 /dev/zero | tr '\0' x) = 1\n"
bad_config "a long line" "line too long"
conf_with ""
chown 65533 "$DIR/bad.conf"
bad_config "a stranger's file" "owned by uid 65533"
conf_with ""
chmod 666 "$DIR/bad.conf"
bad_config "writable by anyone" "anyone may write it"
conf_with "capacity = 68719476736\n"
bad_config "a capacity the machine cannot hold" "capacity = 68719476736"
conf_with "policy_listen = nohostport\n"
bad_config "a listen address without a port" "policy_listen"
conf_with "metrics_listen = 127.0.0.1:99999\n"
bad_config "a port out of range" "metrics_listen"
conf_with "delay = 99999999999999999999999\n"
bad_config "a number too big" "delay"
conf_with "delay = -1\n"
bad_config "a negative delay" "delay"
conf_with "no_such_key = 1\n"
bad_config "an unknown key" "no_such_key"
conf_with "x$(head -c 600 /dev/urandom | tr -d '\0\n')\n"
bad_config "binary garbage" ":"
conf_with "whitelist_path = $DIR\n"
bad_config "naming a directory as a list" "not a regular file (a directory)"
echo "ok config-checks    15 damaged configurations refused by --check"

# start_greywalld: greywalld in the background (PID), serving once its policy port listens
start_greywalld() {
	: >"$DIR/greywalld.log"
	"$GREYWALLD" -c "$DIR/greywall.conf" -f >"$DIR/greywalld.log" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		grep -q 'policy server listening' "$DIR/greywalld.log" && return 0
		sleep 0.1
	done
	echo "greywalld did not start:"
	cat "$DIR/greywalld.log"
	exit 1
}
start_greywalld
rc=0
GW_HOSTILE_DIR=$DIR timeout 150 python3 "$ROOT/tests/hostile/attack.py" 127.0.0.1:10023 127.0.0.1:9425 \
	"$DIR/greywalld.sock" "${PHASES[@]}" || rc=$?
kill -0 "$PID" 2>/dev/null || { echo "FAIL: greywalld died"; rc=1; }
if grep -q hunter2 "$DIR/greywalld.log"; then
	echo "FAIL: greywalld's log quotes a file it refused"
	rc=1
fi
[ $rc = 0 ] || { echo "greywalld's log (tail):"; tail -20 "$DIR/greywalld.log"; exit $rc; }

# --- damaged and forged snapshots: the start refuses each, makes no table, keeps the file
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=
SNAP=$DIR/state/triplets.snap
[ -s "$SNAP" ] || { echo "FAIL: greywalld wrote no snapshot at SIGTERM"; exit 1; }
cp "$SNAP" "$DIR/good.snap"
rm -f "$SNAP.awl" # the triplet snapshot is the one under attack
TABLE=/dev/shm/greywall-$ID-triplets
start_refused() { # WHAT EXPECTED-TEXT
	local out rc=0 before
	rm -f "$TABLE" "/dev/shm/greywall-$ID-awl"
	before=$(stat -c %s.%Y "$SNAP" 2>/dev/null || echo none)
	out=$(timeout 10 "$GREYWALLD" -c "$DIR/greywall.conf" -f 2>&1) || rc=$?
	if [ $rc = 0 ] || [ $rc = 124 ] || [ $rc -ge 128 ]; then
		echo "FAIL: the start with a snapshot that is $1 was not refused (status $rc): $out"
		exit 1
	fi
	if ! grep -qF -- "$2" <<<"$out" || ! grep -qF "$SNAP" <<<"$out"; then
		echo "FAIL: the start with a snapshot that is $1 did not say '$2': $out"
		exit 1
	fi
	[ ! -e "$TABLE" ] || { echo "FAIL: a snapshot that is $1 left a table behind"; exit 1; }
	[ "$(stat -c %s.%Y "$SNAP" 2>/dev/null || echo none)" = "$before" ] ||
		{ echo "FAIL: a snapshot that is $1 was not left in place as it was"; exit 1; }
	rm -rf "$SNAP"
}
n=0
for kind in $(python3 "$ROOT/tests/hostile/corrupt.py" kinds); do
	python3 "$ROOT/tests/hostile/corrupt.py" snapshot "$kind" "$DIR/good.snap" "$SNAP" || exit 1
	case $kind in
	forged-nbuckets-*) want="snapshot" ;; # overflow or geometry: either names it
	flipped-bit) want="checksum mismatch" ;;
	wrong-kind) want="kind" ;;
	truncated | padded | forged-image-size) want="truncated or padded" ;;
	*) want="not a greywall snapshot" ;;
	esac
	start_refused "$kind" "$want"
	n=$((n + 1))
done
mkfifo "$SNAP"
start_refused "a FIFO" "a device, FIFO or socket"
mkdir "$SNAP"
start_refused "a directory" "not a regular file (a directory)"
cp "$DIR/good.snap" "$SNAP"
chown 65533 "$SNAP"
start_refused "a stranger's file" "owned by uid 65533"
cp "$DIR/good.snap" "$SNAP"
chmod 666 "$SNAP"
start_refused "writable by anyone" "anyone may write it"
cp "$DIR/good.snap" "$SNAP"
sed -i 's/^capacity = .*/capacity = 131072/' "$DIR/greywall.conf"
start_refused "of another capacity" "capacity 131072"
sed -i 's/^capacity = .*/capacity = 65536/' "$DIR/greywall.conf"
echo "ok snapshot-starts  $((n + 5)) damaged or forged snapshots refused at start, none loaded"

# the good one still restores, and the restored daemon answers as fast as ever
cp "$DIR/good.snap" "$SNAP"
chmod 600 "$SNAP"
rm -f "$TABLE" "/dev/shm/greywall-$ID-awl"
start_greywalld
grep -q "restored $TABLE from $SNAP" "$DIR/greywalld.log" || {
	echo "FAIL: the good snapshot was not restored:"
	cat "$DIR/greywalld.log"
	exit 1
}
timeout 30 python3 "$ROOT/tests/hostile/attack.py" 127.0.0.1:10023 127.0.0.1:9425 \
	"$DIR/greywalld.sock" literals || exit 1
exit 0
