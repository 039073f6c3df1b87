#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Sender pools from SPF through greywall-dp (issue 17): a real unbound serves the
# big sender's SPF record (its two /24s); greywalld resolves pools_spf and writes
# published_lists; greywall-dp, started before that file existed, takes it within
# a second (its watcher reloads), and real Postfix's retry from the pool's other
# /24 is delivered by its first session while one from outside is greylisted
# again (lib/pools.sh). Nothing in greywall-dp's own pools file.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/pools.sh"
. "$(dirname "$0")/lib/dns.sh"
tb_setup
pools_wire >/dev/null
: >"$TB_DIR/pools.txt" # no static pool: the SPF record makes it
cat >"$TB_DIR/zone.conf" <<ZONE
server:
	local-zone: "sender.example." static
	local-data: 'sender.example. 300 IN TXT "v=spf1 ip4:${POOL_FIRST%.1}.0/24 ip4:${POOL_OTHER%.1}.0/24 -all"'
ZONE
CONF=$TB_DIR/greywall.conf
cat >"$CONF" <<CONF
delay = $TB_DELAY
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
capacity = 65536
snapshot_path =
control_socket = $TB_DIR/greywalld.sock
dp_control_socket = $TB_DIR/greywall-dp.sock
policy_listen =
metrics_listen =
pools_path = $TB_DIR/pools.txt
pools_spf = bigsender=spf:sender.example
spf_server = 127.0.0.1
published_lists = $TB_DIR/published.txt
CONF
tb_start_dp -c "$CONF"
dns_start "$TB_NS_RCV" "$TB_DIR/zone.conf" || fail "unbound did not start"
tb_start_greywalld "$CONF" "$TB_DIR/greywalld.log" 'sender pools from SPF refreshed' \
	"$TB_NS_RCV" || fail "greywalld did not resolve the SPF pool"
grep -qx "pool bigsender ${POOL_OTHER%.1}.0/24" "$TB_DIR/published.txt" ||
	fail "greywalld did not publish the SPF pool: $(cat "$TB_DIR/published.txt")"
tb_wait_log "$TB_DIR/greywall-dp.log" 'lists reloaded' 10 ||
	fail "greywall-dp did not take the published file"
tb_start_receiver
pools_scenario
echo "ok: an SPF pool's retry from another /24 delivered at once through greywall-dp"
