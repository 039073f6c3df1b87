#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywalld as the receiving Postfix's policy service, with a sender pool
# (lib/pools.sh): a big sender's retry from another /24 of its pool is
# delivered by its first session; one from outside the pool after the pool's
# delay is greylisted again, by the same pools the data paths use.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/pools.sh"
tb_setup
POOLS=$(pools_wire)
tb_bridge
cat >"$TB_DIR/greywall.conf" <<CONF
delay = $TB_DELAY
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
pools_path = $POOLS
policy_listen = 127.0.0.1:10023
metrics_listen =
snapshot_path = $TB_DIR/snap
control_socket = $TB_DIR/greywalld.sock
CONF
tb_start_greywalld "$TB_DIR/greywall.conf" "$TB_DIR/greywalld.log" 'policy server listening' \
	"$TB_NS_RCV" || fail "greywalld did not start"
TB_RCV_EXTRA="smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10023"
tb_start_receiver
POOLS_IN_MTA=1 pools_scenario
echo "ok: the policy server keys a pool's retry from another /24 by the pool"
