#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The policy server logs each verdict as postgrey does (mylog_action in
# /usr/sbin/postgrey), with postgrey's words for the reasons, so the log
# watchers written for postgrey keep working: no "verdict N" for a pass.
. "$(dirname "$0")/lib.sh"
obs_start
expect() { # ERE: one line of greywalld's log matches it whole (after "IDENT[PID]: ")
	grep -qaE "^[^ ]+\[[0-9]+\]: $1\$" "$OBS_DIR/greywalld.log" ||
		{ cat "$OBS_DIR/greywalld.log"; fail "no line: $1"; }
}
obs_policy 203.0.113.5 alice@sender.example bob@receiver.example mail.sender.example >/dev/null
sleep 1.2 # a retry a second later is early, and says how long it still has to wait
obs_policy 203.0.113.5 alice@sender.example bob@receiver.example mail.sender.example >/dev/null
obs_policy 192.0.2.7 carol@sender.example bob@receiver.example >/dev/null
obs_policy 203.0.113.9 '' abuse-desk@receiver.example >/dev/null
obs_policy 203.0.113.9 dave@sender.example postmaster@receiver.example >/dev/null
alice='client_name=mail\.sender\.example, client_address=203\.0\.113\.5, '
alice+='sender=alice@sender\.example'
bob='recipient=bob@receiver\.example'
other='client_name=unknown, client_address=203\.0\.113\.9'
expect "action=greylist, reason=new, $alice, $bob"
expect "action=greylist, reason=early-retry \\((298|299)s missing\\), $alice, $bob"
expect "action=pass, reason=client whitelist, client_name=unknown, client_address=192\\.0\\.2\\.7, \
sender=carol@sender\\.example, $bob"
# postgrey leaves out the null sender's empty attribute
expect "action=pass, reason=recipient whitelist, $other, recipient=abuse-desk@receiver\\.example"
expect "action=pass, reason=recipient whitelist, $other, sender=dave@sender\\.example, \
recipient=postmaster@receiver\\.example"
if grep -aE 'verdict [0-9]|DEFER_IF_PERMIT' "$OBS_DIR/greywalld.log"; then
	fail "a verdict logged as a number or as the action sent to Postfix"
fi
echo "PASS"
