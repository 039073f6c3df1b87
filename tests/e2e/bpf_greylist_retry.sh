#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real Postfix -> bridge -> real Postfix whose veth carries the relay filter
# (XDP ingress, TC egress, attached with tools/greywall-bpf.sh): PIPELINING
# is masked for the unknown client, the first attempt is deferred with
# greywall's 450, which the filter wrote into the flow (the receiving Postfix
# never saw that RCPT), the retry after the delay is delivered to the
# mailbox, and detach leaves no program or pin behind.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_bpf || fail "the loader script could not attach the filter"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example
assert_greylisted_then_delivered bob

[ "$(relay_counter replies_injected)" -ge 1 ] || fail "no reply injected"
[ "$(relay_counter verdict_pass)" -ge 1 ] || fail "no pass verdict counted"
[ "$(relay_counter pipelining_masked)" -ge 1 ] || fail "PIPELINING was not masked for the unknown client"
pin=$TB_BPF_PIN
"$TB_ROOT/tools/greywall-bpf.sh" detach rcv0 --netns "$TB_NS_RCV" --pin "$pin" >/dev/null ||
	fail "detach failed"
[ -e "$pin" ] && fail "detach left the pins behind"
ip netns exec "$TB_NS_RCV" bpftool net show dev rcv0 | grep -q greywall && fail "detach left a program attached"
echo "ok: deferred by the relay filter, retried, delivered; detached cleanly"
