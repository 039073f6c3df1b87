#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real Postfix -> greywall-dp -> real Postfix with a sender pool (lib/pools.sh):
# a big sender's retry from another /24 of its pool is delivered by its first
# session; one from outside the pool is greylisted again.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/pools.sh"
tb_setup
POOLS=$(pools_wire)
tb_start_dp --pools "$POOLS"
tb_start_receiver
pools_scenario
tb_stop_dp
[ "$(dp_counter passed)" = 1 ] || fail "passed counter is $(dp_counter passed), not 1"
echo "ok: the pool's retry from another /24 delivered at once; a stranger's greylisted"
