#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# pflogsumm, the report Postfix admins read, counts the RCPTs the data paths
# rejected: greywall-dp's own --log-verdicts lines and greywalld's lines for
# greywall-dp's verdict events, made by the real binaries, in syslog's file
# shape. The policy server's verdict lines are not counted: for those, Postfix
# logs its own reject, and pflogsumm would count it twice.
. "$(dirname "$0")/lib.sh"
obs_start
# the policy server: a new triplet (Postfix logs the reject itself) and a pass
obs_policy 203.0.113.5 alice@sender.example bob@receiver.example mail.sender.example |
	grep -q '^action=DEFER_IF_PERMIT' || fail "the policy server did not greylist"
obs_policy 192.0.2.7 carol@sender.example bob@receiver.example >/dev/null
# greywall-dp greylists the session's one unseen RCPT; greywalld logs its event too
obs_run_dp
obs_wait_log "$OBS_DIR/greywalld.log" \
	'RCPT from unknown\[198\.18\.1\.1\]: 450 .*\(greywall-dp\)' 5 ||
	{ cat "$OBS_DIR/greywalld.log"; fail "greywalld did not log greywall-dp's verdict"; }
obs_syslog "$OBS_DIR/greywalld.log" "$OBS_DIR/dp.log" >"$OBS_DIR/mail.log"
echo "== mail.log"
cat "$OBS_DIR/mail.log"
pflogsumm "$OBS_DIR/mail.log" >"$OBS_DIR/pflogsumm" 2>&1 ||
	{ cat "$OBS_DIR/pflogsumm"; fail "pflogsumm failed"; }
echo "== pflogsumm"
sed -n '/^Grand Totals/,/^Per-Hour/p; /^message reject detail/,/^message reject warning/p' \
	"$OBS_DIR/pflogsumm"
# one reject from greywall-dp's log, one from greywalld's log of the same event
rejected=$(awk '$2 == "rejected" { print $1 }' "$OBS_DIR/pflogsumm")
[ "$rejected" = 2 ] || fail "pflogsumm counted $rejected rejections, not 2"
sed -n '/^message reject detail/,$p' "$OBS_DIR/pflogsumm" |
	grep -qE '^ +Recipient address rejected: Greylisted.* \(total: 2\)$' ||
	fail "pflogsumm's reject detail does not list the 2 greylisted RCPTs"
echo "PASS"
