#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywall-dp started with only -c greywall.conf runs by that file, as greywalld and
# greyctl do: its delay (3 s, where greywall-dp's own default is 300), its networks,
# tables and reply text, and its control socket, through which greyctl on the same
# file reaches it. greywalld on the same file finds greywall-dp's shared state.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
CONF=$TB_DIR/greywall.conf
: >"$TB_DIR/whitelist"
cat >"$CONF" <<CONF
delay = 3
protect = 198.18.0.0/15, fd00::/8
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
capacity = 65536
max_flows = 1024
whitelist_path = $TB_DIR/whitelist
policy_defer_text = Greylisted by greywall.conf, retry in %t seconds
snapshot_path =
control_socket = $TB_DIR/greywalld.sock
dp_control_socket = $TB_DIR/dp.sock
policy_listen =
metrics_listen =
CONF
tb_start_dp_conf "$CONF" --log-verdicts
tb_start_greywalld "$CONF" "$TB_DIR/greywalld.log" "reading greywall-dp's counters and verdicts" ||
	fail "greywalld on the same file did not find greywall-dp's shared state"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example bob@receiver.example
tb_wait_log "$TB_DIR/snd/maillog" 'to=<bob@receiver.example>.*status=deferred.*Greylisted by greywall\.conf, retry in [0-9] seconds' 30 ||
	fail "not greylisted with greywall.conf's text and delay"
out=$("$TB_ROOT/build/greyctl" -c "$CONF" reload)
grep -qx 'greyctl: greywall-dp: lists reloaded: 0 entries' <<<"$out" ||
	fail "greyctl on the same file did not reach greywall-dp: $out"
sleep 3
postqueue -c "$TB_DIR/snd/etc" -f
tb_wait_mailbox bob 1 20 || fail "the retry after greywall.conf's 3 s delay was not delivered"
echo "ok: greywall-dp ran by greywall.conf alone: its delay, text, tables and control socket"
