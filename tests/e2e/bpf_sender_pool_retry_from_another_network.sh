#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real Postfix -> the relay filter -> real Postfix with a sender pool
# (lib/pools.sh), published into the filter's client tries by greywalld: a big
# sender's retry from another /24 of its pool is delivered by its first
# session; one from outside the pool is greylisted again.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/pools.sh"
tb_setup
POOLS=$(pools_wire)
tb_start_bpf || fail "the loader script could not attach the filter"
cat >"$TB_DIR/greywall.conf" <<CONF
relay_maps = $TB_BPF_PIN/maps
delay = $TB_DELAY
pools_path = $POOLS
snapshot_path = $TB_DIR/state/triplets.snap
control_socket = $TB_DIR/greywalld.sock
policy_listen =
metrics_listen =
CONF
tb_start_greywalld "$TB_DIR/greywall.conf" "$TB_DIR/greywalld.log" \
	'relay filter: policy and lists pushed' || fail "greywalld did not start"
tb_start_receiver
pools_scenario
echo "ok: the pool's retry from another /24 delivered at once; a stranger's greylisted"
