#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywall-dp never leads a TLS sender into cleartext (issue 13). Real Postfix ->
# greywall-dp -> real Postfix; the receiver offers STARTTLS with a self-signed
# certificate the test makes, the sender uses opportunistic TLS
# (smtp_tls_security_level = may), and tcpdump records the sender's wire. Each
# case starts greywall-dp on empty tables (delay TB_DELAY):
#  - a triplet that passed over plaintext before the receiver offered TLS has
#    its next mail delivered over TLS, never in cleartext;
#  - a mail to an exempt recipient (postmaster@) is delivered with ESMTPS after
#    the delay, and no MAIL FROM or RCPT TO crosses the sender's wire in cleartext;
#  - a mail from a whitelisted sender: the same;
#  - a mail to an ordinary recipient: the same;
#  - with --tls-mode pass, STARTTLS goes through ungreylisted: delivered with
#    ESMTPS on the first attempt, nothing in cleartext;
#  - a plaintext-only sender (smtp_tls_security_level = none) is greylisted by
#    triplet as before: greywall's 450, delivered after the delay, no STARTTLS
#    and no 421 on its wire.
# TLS_CASES="exempt ordinary ..." runs only the named cases (passed_plain,
# exempt, whitelisted_sender, ordinary, tls_mode_pass, plaintext_sender).
set -eu
TB_DELAY=${TB_DELAY:-6}
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/tls.sh"
TLS_CASES=${TLS_CASES:-passed_plain exempt whitelisted_sender ordinary tls_mode_pass plaintext_sender}
want() { [[ " $TLS_CASES " == *" $1 "* ]]; }

tb_setup
trap 'tls_capture_stop; tb_cleanup' EXIT
tls_make_cert || fail "openssl could not make the receiver's certificate"
tb_start_receiver
tb_start_sender
# every delivery attempt is a session of its own, none kept open across cases
tls_postconf snd 'smtp_connection_cache_on_demand = no' || fail "postconf on the sender failed"
tls_sender may || fail "could not give the sender opportunistic TLS"
tls_receiver on || fail "could not make the receiver offer STARTTLS"

# dp_fresh NAME [greywall-dp options]: greywall-dp on empty tables, and a capture NAME.
dp_fresh() {
	local name=$1
	shift
	tb_stop_dp
	rm -f "/dev/shm/greywall-$TB_ID-triplets" "/dev/shm/greywall-$TB_ID-awl" \
		"/dev/shm/greywall-$TB_ID-triplets.dp"
	tb_start_dp "$@" || fail "$name: greywall-dp did not start"
	tls_capture_start "$name" || fail "$name: tcpdump did not start"
}

# dp_done NAME: stop the capture and greywall-dp (its counters go to NAME.dp.log), print the wire.
dp_done() {
	sleep 1 # the session's QUIT
	tls_capture_stop
	tb_stop_dp
	cp "$TB_DIR/greywall-dp.log" "$TB_DIR/$1.dp.log"
	tls_report "$1" "$TB_DIR/$1.pcap"
	echo "    greywall-dp: $(grep -oE '(greylisted|passed[a-z_]*|lines_removed|replies_injected)=[0-9]+' \
		"$TB_DIR/greywall-dp.log" | sort -u | tr '\n' ' ')"
}

# tls_case NAME FROM LOCAL [greywall-dp options]: a TLS sender's message, greylisted at
# STARTTLS, then delivered over TLS after the delay with nothing in cleartext.
tls_case() {
	local name=$1 from=$2 local=$3 mark
	shift 3
	dp_fresh "$name" "$@"
	mark=$(tls_mark)
	tb_send "$from" "$local@receiver.example" "$name"
	tls_wait_message "$local" "$name" 45 || {
		dp_done "$name"
		fail "$name: not delivered within 45 s"
	}
	dp_done "$name"
	tls_assert_tls_delivery "$name" "$local" "$name" "$mark" "$TB_DIR/$name.pcap"
	# greylisted, not let through: the first attempt was deferred
	tls_since "$mark" | grep -qE "to=<$local@receiver.example>.*status=deferred" ||
		fail "$name: delivered on the first attempt, not greylisted until the delay"
	echo "ok: $name: delivered with ESMTPS after the delay, no envelope in cleartext"
}

if want passed_plain; then
	# the receiver does not offer TLS yet: the triplet is greylisted and passes in plaintext
	tls_receiver off || fail "could not switch the receiver's TLS off"
	dp_fresh passed_plain
	mark=$(tls_mark)
	tb_send alice@sender.example dave@receiver.example "passed_plain 1"
	tls_wait_message dave "passed_plain 1" 45 || fail "passed_plain: the plaintext mail was not delivered"
	tls_since "$mark" | grep -qE 'to=<dave@receiver.example>.*status=deferred.*450 4.7.1' ||
		fail "passed_plain: the plaintext mail was not greylisted first"
	sleep 1
	tls_capture_stop
	tls_report "passed_plain (receiver without TLS)" "$TB_DIR/passed_plain.pcap"
	# then the receiver offers TLS: the same triplet's next mail goes over TLS
	tls_receiver on || fail "could not switch the receiver's TLS on"
	tls_capture_start passed_plain2 || fail "tcpdump did not start"
	mark=$(tls_mark)
	tb_send alice@sender.example dave@receiver.example "passed_plain 2"
	tls_wait_message dave "passed_plain 2" 45 || fail "passed_plain: the mail after TLS came was not delivered"
	dp_done passed_plain2
	tls_assert_tls_delivery passed_plain dave "passed_plain 2" "$mark" "$TB_DIR/passed_plain2.pcap"
	echo "ok: passed_plain: a triplet passed in plaintext sends its next mail over TLS, nothing in cleartext"
fi

want exempt && tls_case exempt alice@sender.example postmaster

if want whitelisted_sender; then
	printf 'sender alice@sender.example\n' >"$TB_DIR/whitelist"
	tls_case whitelisted_sender alice@sender.example carol --whitelist "$TB_DIR/whitelist"
fi

want ordinary && tls_case ordinary alice@sender.example bob

if want tls_mode_pass; then
	dp_fresh tls_mode_pass --tls-mode pass
	mark=$(tls_mark)
	tb_send alice@sender.example erin@receiver.example tls_mode_pass
	tls_wait_message erin tls_mode_pass 20 || {
		dp_done tls_mode_pass
		fail "tls_mode_pass: not delivered within 20 s"
	}
	dp_done tls_mode_pass
	tls_assert_tls_delivery tls_mode_pass erin tls_mode_pass "$mark" "$TB_DIR/tls_mode_pass.pcap"
	tls_since "$mark" | grep -q 'status=deferred' && fail "tls_mode_pass: a deferral with --tls-mode pass"
	echo "ok: tls_mode_pass: delivered with ESMTPS on the first attempt, no envelope in cleartext"
fi

if want plaintext_sender; then
	tls_sender none || fail "could not take TLS from the sender"
	dp_fresh plaintext_sender
	mark=$(tls_mark)
	tb_send alice@sender.example frank@receiver.example "greywall test"
	assert_greylisted_then_delivered frank
	dp_done plaintext_sender
	pcap=$TB_DIR/plaintext_sender.pcap
	[ "$(tls_count "$pcap" '^C: STARTTLS')" = 0 ] || fail "plaintext_sender: STARTTLS on the wire"
	[ "$(tls_count "$pcap" '^S: 421 ')" = 0 ] || fail "plaintext_sender: a 421 on the wire"
	[ "$(tls_count "$pcap" '^S: 450 4.7.1 <frank@receiver.example>')" -ge 1 ] ||
		fail "plaintext_sender: greywall's 450 is not on the wire"
	tls_since "$mark" | grep -q ' 421 ' && fail "plaintext_sender: the sender logged a 421"
	[ "$(tls_received frank "greywall test")" = ESMTP ] ||
		fail "plaintext_sender: delivered 'with $(tls_received frank "greywall test")', not ESMTP"
	[ "$(dp_counter greylisted)" -ge 1 ] || fail "plaintext_sender: greylisted counter is 0"
	[ "$(dp_counter passed)" -ge 1 ] || fail "plaintext_sender: passed counter is 0"
	echo "ok: plaintext_sender: greylisted by triplet (450), delivered after the delay, no STARTTLS, no 421"
fi
