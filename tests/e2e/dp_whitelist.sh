#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A whitelisted client network is delivered on the first attempt, untouched.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
printf '# the sender lab network\nclient 198.18.0.0/24\n' >"$TB_DIR/whitelist"
tb_start_dp --whitelist "$TB_DIR/whitelist"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example carol@receiver.example
tb_wait_mailbox carol 1 20 || fail "whitelisted client was not delivered at once"
grep -q 'status=deferred' "$TB_DIR/snd/maillog" && fail "a whitelisted client was deferred"
tb_stop_dp
[ "$(dp_counter passed_whitelist)" -eq 1 ] || fail "passed_whitelist counter is not 1"
[ "$(dp_counter lines_removed)" -eq 0 ] || fail "a line was removed"
echo "ok: whitelisted client delivered on the first attempt"
