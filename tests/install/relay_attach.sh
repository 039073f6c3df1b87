#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The installed greywall-relay-attach, as greywall-relay.service runs it: attach pins the
# programs and the maps and hooks XDP and TC on the device; detach unhooks and unpins the
# programs but keeps the maps; the next attach runs the new programs on the same maps
# (the triplets survive a restart); --owner hands the maps to greywalld's user; --purge
# unpins everything. On a veth pair in a network namespace of its own.
[ "$(id -u)" = 0 ] || { echo "needs root (bpffs, a network namespace)"; exit 77; }
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
ns=greywall-attach-$$
pin=/sys/fs/bpf/greywall-attach-test-$$
mounted=
pid=
cleanup() {
	set +e
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid"
	[ -e "$pin/progs" ] && "$tool" detach --netns "$ns" --pin "$pin" a0 >/dev/null 2>&1
	rm -rf "$pin"
	ip netns del "$ns" 2>/dev/null
	[ -n "$mounted" ] && umount /sys/fs/bpf
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
if ! mountpoint -q /sys/fs/bpf; then mounted=1; fi
install_tree "$SCRATCH/tree" PREFIX=/usr
tool=$SCRATCH/tree/usr/lib/greywall/greywall-relay-attach # finds greywall.bpf.o beside it
ip netns add "$ns"
ip -n "$ns" link add a0 type veth peer name a1
ip -n "$ns" link set a0 up
ip -n "$ns" link set a1 up
map_id() { bpftool map show pinned "$pin/maps/$1" | sed -n '1s/^\([0-9]*\):.*/\1/p'; }
prog_maps() { bpftool prog show pinned "$pin/progs/greywall_xdp" | sed -n 's/.*map_ids //p'; }

"$tool" attach --netns "$ns" --pin "$pin" --owner nobody a0 || fail "attach"
ip -n "$ns" link show a0 | grep -q 'xdp' || fail "no XDP program on a0 after attach"
ip netns exec "$ns" tc filter show dev a0 egress | grep -q greywall_tc_egress ||
	fail "no greywall_tc_egress on a0's egress after attach"
triplets=$(map_id triplets) config=$(map_id config)
[ -n "$triplets" ] || fail "no triplets map pinned"
[ -n "$config" ] || fail "no config map pinned"
[ "$(stat -c %U "$pin/maps/triplets")" = nobody ] || fail "--owner nobody: maps not given to nobody"
echo "attach: XDP and TC on a0, triplets map $triplets pinned, owned by nobody"

# greywalld as its unit runs it on these maps: a user of its own (here nobody, whom
# --owner gave them), CAP_BPF its only capability (AmbientCapabilities=), no TCP socket.
# (Linux 6.5 and later open pinned maps without CAP_BPF; Debian 12's 6.1 needs it.)
mkdir -p "$SCRATCH/run" "$SCRATCH/state"
chown nobody:nogroup "$SCRATCH/run" "$SCRATCH/state"
chmod 755 "$SCRATCH"
cat >"$SCRATCH/greywall.conf" <<CONF
relay_maps = $pin/maps
snapshot_path = $SCRATCH/state/triplets.snap
control_socket = $SCRATCH/run/greywalld.sock
control_group = nogroup
policy_listen =
metrics_listen =
names_capacity = 0
CONF
as_unit() { # CAPS greywalld-arguments...: exec, so that a background job's pid is greywalld's
	local caps=$1
	shift
	exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps="$caps" \
		--ambient-caps="$caps" "$BUILD/greywalld" -c "$SCRATCH/greywall.conf" -f "$@"
}
as_unit +bpf >"$SCRATCH/greywalld.log" 2>&1 &
pid=$!
for _ in $(seq 50); do
	"$BUILD/greyctl" -c "$SCRATCH/greywall.conf" ping >/dev/null 2>&1 && break
	sleep 0.1
done
"$BUILD/greyctl" -c "$SCRATCH/greywall.conf" ping >/dev/null ||
	{ kill $pid; cat "$SCRATCH/greywalld.log"; fail "greywalld as nobody with CAP_BPF"; }
grep -q 'policy and lists pushed' "$SCRATCH/greywalld.log" ||
	{ kill $pid; fail "greywalld did not push its policy into the maps"; }
kill -TERM $pid
wait $pid || fail "greywalld exited $? after SIGTERM"
[ "$(stat -c %U "$SCRATCH/state/triplets.snap")" = nobody ] || fail "no snapshot of nobody's"
echo "as nobody with CAP_BPF only, greywalld pushed its policy into the maps, answered" \
	"greyctl and wrote its snapshot"

"$tool" attach --netns "$ns" --pin "$pin" a0 2>/dev/null && fail "a second attach was accepted"
echo "a second attach is refused while the filter is attached"

"$tool" detach --netns "$ns" --pin "$pin" a0 || fail "detach"
ip -n "$ns" link show a0 | grep -q 'xdp' && fail "XDP program still on a0 after detach"
ip netns exec "$ns" tc filter show dev a0 egress | grep -q . && fail "a TC filter left on a0"
[ -e "$pin/progs" ] && fail "programs still pinned after detach"
[ "$(map_id triplets)" = "$triplets" ] || fail "detach did not keep the triplets map"
echo "detach: a0 clean, programs unpinned, triplets map $triplets kept"

"$tool" attach --netns "$ns" --pin "$pin" a0 || fail "attach after detach"
for id in $triplets $config; do
	[[ " $(prog_maps | tr , ' ') " == *" $id "* ]] ||
		fail "the re-attached program does not use map $id (uses $(prog_maps))"
done
[ "$(map_id triplets)" = "$triplets" ] || fail "re-attach pinned a new triplets map"
echo "attach again: the new programs run on the kept maps ($triplets, $config)"

"$tool" detach --purge --netns "$ns" --pin "$pin" a0 || fail "detach --purge"
[ -e "$pin" ] && fail "detach --purge left $pin"
echo "detach --purge: nothing left pinned"
