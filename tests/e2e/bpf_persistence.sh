#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The relay filter's triplets across a reboot: swaks is greylisted, greywalld
# snapshots the filter's map at SIGTERM, the filter is detached (its maps go,
# as at a reboot) and attached afresh, greywalld restores the empty map from
# the snapshot, and swaks's retry after the delay passes at once, which it
# could only do if the triplet came back. A damaged snapshot stops greywalld
# with the reason and is left in place.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_bpf || fail "the loader script could not attach the filter"
tb_start_receiver
CONF=$TB_DIR/greywall.conf
cat >"$CONF" <<CONF
relay_maps = $TB_BPF_PIN/maps
delay = $TB_DELAY
snapshot_path = $TB_DIR/state/triplets.snap
control_socket = $TB_DIR/greywalld.sock
policy_listen =
metrics_listen =
CONF
start_daemon() { # log name
	LOG=$TB_DIR/$1.log
	tb_start_greywalld "$CONF" "$LOG" "relay filter: policy and lists pushed" ||
		fail "greywalld did not start"
}
swaks_once() {
	ip netns exec "$TB_NS_SND" swaks --server "$TB_RCV4" --from alice@sender.example \
		--to erin@receiver.example --timeout 10 >"$TB_DIR/swaks-$1.log" 2>&1 || true
}
ctl() { "$TB_ROOT/build/greyctl" -c "$CONF" "$@"; }

start_daemon before
swaks_once 1
grep -qE '^<[~*]* +450 4\.7\.1' "$TB_DIR/swaks-1.log" || fail "first attempt not greylisted"
fp=$(ctl triplets list | awk '/greylisted/ { print $1 }')
[ -n "$fp" ] || fail "no greylisted triplet in the filter's map"
tb_stop_greywalld # SIGTERM: the snapshot is written
[ -s "$TB_DIR/state/triplets.snap" ] || fail "no snapshot at SIGTERM"

# a reboot: the filter and its maps go, a fresh filter comes up empty
"$TB_ROOT/tools/greywall-bpf.sh" detach rcv0 --netns "$TB_NS_RCV" --pin "$TB_BPF_PIN" >/dev/null
"$TB_ROOT/tools/greywall-bpf.sh" attach rcv0 --netns "$TB_NS_RCV" --pin "$TB_BPF_PIN" >/dev/null ||
	fail "re-attach failed"
start_daemon after
grep -q "restored the relay filter's triplets map from $TB_DIR/state/triplets.snap" "$LOG" ||
	fail "greywalld did not restore the empty map: $(cat "$LOG")"
ctl triplets show "$fp" | grep -q "^$fp  greylisted " || fail "triplet $fp not back: $(ctl triplets list)"
if ctl triplets show 0123456789abcdef 2>"$TB_DIR/show.err"; then fail "show of an absent triplet exited 0"; fi
grep -q "0123456789abcdef is not in the table" "$TB_DIR/show.err" || fail "unclear: $(cat "$TB_DIR/show.err")"
sleep $((TB_DELAY + 1))
swaks_once 2
grep -q '^<-  250 2.0.0 Ok: queued' "$TB_DIR/swaks-2.log" ||
	fail "the retry after the delay did not pass with the restored triplet: $(tail -8 "$TB_DIR/swaks-2.log")"
[ "$(relay_counter verdict_pass)" = 1 ] || fail "verdict_pass is $(relay_counter verdict_pass), not 1"
tb_stop_greywalld

# a damaged snapshot into a fresh filter: refused, named, left in place
printf 'X' | dd of="$TB_DIR/state/triplets.snap" bs=1 seek=200 conv=notrunc status=none
"$TB_ROOT/tools/greywall-bpf.sh" detach rcv0 --netns "$TB_NS_RCV" --pin "$TB_BPF_PIN" >/dev/null
"$TB_ROOT/tools/greywall-bpf.sh" attach rcv0 --netns "$TB_NS_RCV" --pin "$TB_BPF_PIN" >/dev/null
if "$TB_ROOT/build/greywalld" -c "$CONF" -f >"$TB_DIR/bad.log" 2>&1; then fail "started on a damaged snapshot"; fi
grep -q "checksum mismatch (damaged); left in place (move it aside to start empty)" "$TB_DIR/bad.log" ||
	fail "unclear error: $(cat "$TB_DIR/bad.log")"
[ -s "$TB_DIR/state/triplets.snap" ] || fail "the damaged snapshot was removed"
echo "ok: the filter's triplet survived a detach/attach through greywalld's snapshot; a damaged one refused"
