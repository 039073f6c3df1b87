#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real Postfix -> bridge -> real Postfix whose veth carries the relay filter
# (XDP ingress, TC egress, attached with tools/greywall-bpf.sh): PIPELINING
# is masked for the unknown client, the first attempt is deferred with
# greywall's 450, which the filter wrote into the flow (the receiving Postfix
# never saw that RCPT), the retry after the delay is delivered to the
# mailbox, and detach leaves no program or pin behind.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
PIN=/sys/fs/bpf/greywall-$TB_ID
MOUNTED=

bpf_cleanup() {
	set +e
	[ -e "$PIN" ] && "$TB_ROOT/tools/greywall-bpf.sh" detach rcv0 --netns "$TB_NS_RCV" --pin "$PIN" >/dev/null 2>&1
	rm -rf "$PIN"
	[ -n "$MOUNTED" ] && umount /sys/fs/bpf
	tb_cleanup
}

tb_setup
trap bpf_cleanup EXIT
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
	MOUNTED=1
fi
tb_bridge
# frames sent back with XDP_TX leave rcv0 for gw-s: veth delivers them only to a peer with XDP
ip -n "$TB_NS_GW" link set dev gw-s xdp obj "$TB_ROOT/build/tests/bpf/xdp_pass.bpf.o" sec xdp
"$TB_ROOT/tools/greywall-bpf.sh" attach rcv0 --netns "$TB_NS_RCV" --pin "$PIN" ||
	fail "the loader script could not attach the filter"
"$TB_ROOT/build/greywall-relay-config" "$PIN" delay=6 >/dev/null || fail "cannot set the delay"

tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example
assert_greylisted_then_delivered bob

stats=$("$TB_ROOT/build/greywall-relay-config" "$PIN")
counter() { awk -v k="$1" '$1 == k { print $2 }' <<<"$stats"; }
[ "$(counter replies_injected)" -ge 1 ] || fail "no reply injected"
[ "$(counter verdict_pass)" -ge 1 ] || fail "no pass verdict counted"
[ "$(counter pipelining_masked)" -ge 1 ] || fail "PIPELINING was not masked for the unknown client"
"$TB_ROOT/tools/greywall-bpf.sh" detach rcv0 --netns "$TB_NS_RCV" --pin "$PIN" >/dev/null ||
	fail "detach failed"
[ -e "$PIN" ] && fail "detach left the pins behind"
ip netns exec "$TB_NS_RCV" bpftool net show dev rcv0 | grep -q greywall && fail "detach left a program attached"
echo "ok: deferred by the relay filter, retried, delivered; detached cleanly"
