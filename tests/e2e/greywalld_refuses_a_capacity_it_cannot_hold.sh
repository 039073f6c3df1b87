#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A capacity inside the documented range that this machine cannot hold: --check and the
# start both refuse it with the numbers (memory, or the file system's free space) and
# leave no table file behind, instead of a sparse file that ends in SIGBUS. A capacity
# that fits still passes. Needs root (it mounts a small tmpfs); no network.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(mktemp -d /tmp/gw-room-XXXXXX)
SMALL=$DIR/small
cleanup() {
	set +e
	umount "$SMALL" 2>/dev/null
	rm -f "/dev/shm/$(basename "$DIR")"-*
	rm -rf "$DIR"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
conf() { # conf TABLE_DIR CAPACITY
	cat >"$DIR/greywall.conf" <<CONF
table_path = $1/$(basename "$DIR")-triplets
awl_path = $1/$(basename "$DIR")-awl
capacity = $2
snapshot_path =
control_socket =
metrics_listen =
policy_listen =
CONF
}
gwd() { "$ROOT/build/greywalld" -c "$DIR/greywall.conf" "$@"; }

# the top of the documented range, in /dev/shm: 1.37 TB of table
conf /dev/shm 68719476736
rc=0
gwd --check >"$DIR/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--check accepted capacity 68719476736 (exit $rc): $(cat "$DIR/out")"
grep -q 'capacity = 68719476736' "$DIR/out" && grep -qE '[0-9]{13} bytes' "$DIR/out" ||
	fail "the refusal does not give the numbers: $(cat "$DIR/out")"
ls /dev/shm/"$(basename "$DIR")"-* >/dev/null 2>&1 && fail "--check left a table file"

# a file system with less room than memory: a 32 MiB tmpfs and a ~90 MB table
mkdir "$SMALL"
mount -t tmpfs -o size=32m greywall-test "$SMALL"
conf "$SMALL" 4194304
rc=0
gwd --check >"$DIR/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--check accepted a table larger than its file system (exit $rc): $(cat "$DIR/out")"
grep -q "$SMALL needs [0-9]* bytes more and has [0-9]* free" "$DIR/out" ||
	fail "the refusal does not name the file system and its free space: $(cat "$DIR/out")"
rc=0
timeout 10 "$ROOT/build/greywalld" -c "$DIR/greywall.conf" -f >"$DIR/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "the start was not refused cleanly (exit $rc): $(cat "$DIR/out")"
[ -z "$(ls -A "$SMALL")" ] || fail "the refused start left $(ls "$SMALL")"

# and what fits, fits
conf "$SMALL" 65536
gwd --check >"$DIR/out" 2>&1 || fail "--check refused a table that fits: $(cat "$DIR/out")"
echo "PASS: a capacity the machine cannot hold refused by --check and at start, with the numbers"
