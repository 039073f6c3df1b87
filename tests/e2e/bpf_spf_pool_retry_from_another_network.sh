#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Sender pools from SPF through the relay filter (issue 17): a real unbound
# serves the big sender's SPF record (its two /24s); greywalld resolves
# pools_spf and publishes the pool into the filter's client tries with the
# lists; real Postfix's retry from the pool's other /24 is delivered by its
# first session, one from outside is greylisted again (lib/pools.sh).
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/pools.sh"
. "$(dirname "$0")/lib/dns.sh"
tb_setup
pools_wire >/dev/null
cat >"$TB_DIR/zone.conf" <<ZONE
server:
	local-zone: "sender.example." static
	local-data: 'sender.example. 300 IN TXT "v=spf1 ip4:${POOL_FIRST%.1}.0/24 ip4:${POOL_OTHER%.1}.0/24 -all"'
ZONE
tb_start_bpf || fail "the loader script could not attach the filter"
dns_start "$TB_NS_RCV" "$TB_DIR/zone.conf" || fail "unbound did not start"
cat >"$TB_DIR/greywall.conf" <<CONF
relay_maps = $TB_BPF_PIN/maps
delay = $TB_DELAY
pools_spf = bigsender=spf:sender.example
spf_server = 127.0.0.1
snapshot_path =
control_socket = $TB_DIR/greywalld.sock
policy_listen =
metrics_listen =
CONF
tb_start_greywalld "$TB_DIR/greywall.conf" "$TB_DIR/greywalld.log" \
	'sender pools from SPF refreshed' "$TB_NS_RCV" ||
	fail "greywalld did not resolve the SPF pool"
"$TB_ROOT/build/greyctl" -c "$TB_DIR/greywall.conf" pools "${POOL_OTHER}" | grep -q 'pool bigsender' ||
	fail "greyctl pools does not put $POOL_OTHER in the SPF pool"
tb_start_receiver
pools_scenario
echo "ok: an SPF pool's retry from another /24 delivered at once through the relay filter"
