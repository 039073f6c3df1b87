#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The relay filter over IPv6 (fd00:18::/64): real Postfix to real Postfix,
# the first attempt deferred with the 450 the filter wrote, the retry
# delivered.
set -eu
TB_DELAY=6
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_bpf || fail "the loader script could not attach the filter"
tb_start_receiver
tb_start_sender 6
tb_send alice@sender.example dave@receiver.example
assert_greylisted_then_delivered dave
grep -qE 'relay=fd00:18::2.*status=deferred' "$TB_DIR/snd/maillog" ||
	fail "the deferral did not come over IPv6"
[ "$(relay_counter replies_injected)" -ge 1 ] || fail "no reply injected"
echo "ok: IPv6 deferred by the relay filter, retried, delivered"
