#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywalld as Postfix's check_policy_service (the postgrey drop-in): the receiving
# Postfix asks greywalld at RCPT; the first attempt is deferred with greywalld's
# text, the retry after the delay is delivered; a bad config line is refused
# with file:line; SIGHUP with a broken list file keeps the old lists. greywalld
# logs its verdicts as postgrey does, and pflogsumm counts each deferral once.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_bridge
cat >"$TB_DIR/greywall.conf" <<CONF
delay = 6
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
whitelist_path = $TB_DIR/whitelist
policy_listen = 127.0.0.1:10023
snapshot_path = $TB_DIR/snap
control_socket = $TB_DIR/greywalld.sock
CONF
printf 'recipient erin@receiver.example\n' >"$TB_DIR/whitelist"

# a bad line is refused, naming file and line, before anything starts
printf 'delay = 6\ndelay_seconds = 5\n' >"$TB_DIR/bad.conf"
if "$TB_ROOT/build/greywalld" -c "$TB_DIR/bad.conf" --check 2>"$TB_DIR/bad.err"; then
	fail "greywalld accepted an unknown key"
fi
grep -q "bad.conf:2: unknown key 'delay_seconds'" "$TB_DIR/bad.err" || fail "bad config message: $(cat "$TB_DIR/bad.err")"

ip netns exec "$TB_NS_RCV" "$TB_ROOT/build/greywalld" -c "$TB_DIR/greywall.conf" -f -v \
	>"$TB_DIR/greywalld.log" 2>&1 &
tb_wait_log "$TB_DIR/greywalld.log" 'policy server listening' 10 || fail "greywalld did not start"
TB_RCV_EXTRA="smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10023"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example frank@receiver.example
tb_send alice@sender.example erin@receiver.example
tb_wait_mailbox erin 1 20 || fail "whitelisted recipient not delivered at once"
tb_wait_log "$TB_DIR/snd/maillog" \
	'to=<frank@receiver.example>.*status=deferred.*450 4.7.1 <frank@receiver.example>: Recipient address rejected: Greylisted, retry in [0-9]+ seconds' 30 ||
	fail "no deferral with greywalld's text"
tb_wait_mailbox frank 1 40 || fail "retry not delivered"

# the log: greywalld in postgrey's words, Postfix's own reject for each deferral, and
# pflogsumm over both counts each deferred RCPT once (greywalld's lines add none)
n=$(grep -c 'postfix/smtpd\[[0-9]*\]: NOQUEUE: reject: RCPT .*to=<frank@receiver.example>' "$TB_DIR/rcv/maillog" || true)
[ "$n" -ge 1 ] || fail "the receiving Postfix logged no reject"
[ "$(grep -c 'action=greylist, reason=\(new\|early-retry ([0-9]*s missing)\), client_name=[^,]*, client_address=198\.18\.0\.1, sender=alice@sender\.example, recipient=frank@receiver\.example$' "$TB_DIR/greywalld.log")" = "$n" ] ||
	fail "not $n postgrey-shaped greylist lines: $(grep -a 'action=' "$TB_DIR/greywalld.log")"
{
	cat "$TB_DIR/rcv/maillog"
	grep -aE '^[^ :]+\[[0-9]+\]: ' "$TB_DIR/greywalld.log" | sed "s/^/$(LC_ALL=C date '+%b %e %T') receiver /"
} >"$TB_DIR/mail.log"
rejected=$(pflogsumm "$TB_DIR/mail.log" | awk '$2 == "rejected" { print $1 }')
[ "$rejected" = "$n" ] || fail "pflogsumm counted $rejected rejections for $n deferrals"
echo "pflogsumm: $rejected rejected, as many as Postfix deferred"

# SIGHUP with a broken list keeps serving the old lists
printf 'recipient erin@receiver.example\nclient not-a-network\n' >"$TB_DIR/whitelist"
pkill -HUP -f "greywalld -c $TB_DIR/greywall.conf"
tb_wait_log "$TB_DIR/greywalld.log" 'reload refused, keeping the current lists: .*whitelist:2:' 10 ||
	fail "broken reload was not refused"
kill -0 "$(pgrep -f "greywalld -c $TB_DIR/greywall.conf")" || fail "greywalld died on a bad reload"
echo "ok: Postfix check_policy_service -> greywalld: deferred, retried, delivered"
