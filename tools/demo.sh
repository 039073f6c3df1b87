#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# `make demo`: a real Postfix sender, greywall-dp in the wire, a real Postfix
# receiver, each in its own network namespace. One message is greylisted by
# greywall's 450, retried by Postfix after the (demo-short) delay, and delivered.
set -eu
TB_DELAY=${DEMO_DELAY:-10}
# shellcheck source=../tests/e2e/lib/testbed.sh
. "$(dirname "$0")/../tests/e2e/lib/testbed.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

tb_setup
step "testbed: sender 198.18.0.1 -- greywall-dp (net_af_packet x2) -- receiver 198.18.0.2"
tb_start_dp
tb_start_receiver
tb_start_sender
step "sending alice@sender.example -> bob@receiver.example (greylist delay ${TB_DELAY}s)"
tb_send alice@sender.example bob@receiver.example "greywall demo"

if ! tb_wait_log "$TB_DIR/snd/maillog" 'status=deferred.*Greylisted' 30; then
	echo "demo: no deferral seen; sender log:" >&2
	cat "$TB_DIR/snd/maillog" >&2
	exit 1
fi
step "first attempt: deferred by greywall's 450 (sender's Postfix log)"
grep -E 'status=deferred' "$TB_DIR/snd/maillog" | head -1

if ! tb_wait_mailbox bob 1 $((TB_DELAY + 50)); then
	echo "demo: the retry was not delivered; logs:" >&2
	cat "$TB_DIR/snd/maillog" "$TB_DIR/greywall-dp.log" >&2
	exit 1
fi
step "retry after the delay: delivered (sender's Postfix log)"
grep -E 'status=sent' "$TB_DIR/snd/maillog" | head -1
step "greywall-dp's decisions"
grep -E 'reject: |action=' "$TB_DIR/greywall-dp.log"
step "in bob's mailbox at the receiver"
cat "$(tb_mailbox bob | head -1)" | grep -E '^(Received: from|From:|To:|Subject:)' | head -5
tb_stop_dp
step "greywall-dp counters"
grep -E '^greywall-dp: (rx|flows|verdicts|fail-open)' "$TB_DIR/greywall-dp.log"
echo
echo "demo: greylisted, retried and delivered."
