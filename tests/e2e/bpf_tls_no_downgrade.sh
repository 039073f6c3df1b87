#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The relay filter never leads a TLS sender into cleartext (issue 13). Real
# Postfix -> bridge -> real Postfix whose veth carries the relay filter; the
# receiver offers STARTTLS with a self-signed certificate the test makes, the
# sender uses opportunistic TLS (smtp_tls_security_level = may), and tcpdump
# records the sender's wire. Each case attaches the filter afresh (empty maps,
# delay TB_DELAY):
#  - a triplet that passed over plaintext before the receiver offered TLS has
#    its next mail delivered over TLS, never in cleartext;
#  - a mail to an exempt recipient (postmaster@) is delivered with ESMTPS after
#    the delay, and no MAIL FROM or RCPT TO crosses the sender's wire in cleartext;
#  - a mail from a whitelisted sender (greyctl, no daemon): the same;
#  - a mail to an ordinary recipient: the same;
#  - with tls_mode = pass (greywalld on the filter's maps), STARTTLS goes through
#    ungreylisted: delivered with ESMTPS on the first attempt, nothing in cleartext;
#  - a plaintext-only sender (smtp_tls_security_level = none) is greylisted by
#    triplet as before: the filter's 450, delivered after the delay, no STARTTLS
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
tb_start_bpf || fail "the loader script could not attach the filter"
tb_start_receiver
tb_start_sender
# every delivery attempt is a session of its own, none kept open across cases
tls_postconf snd 'smtp_connection_cache_on_demand = no' || fail "postconf on the sender failed"
tls_sender may || fail "could not give the sender opportunistic TLS"
tls_receiver on || fail "could not make the receiver offer STARTTLS"
CONF=$TB_DIR/greywall.conf

# bpf_fresh NAME: the filter re-attached on empty maps (delay TB_DELAY), and a capture NAME.
bpf_fresh() {
	tb_stop_greywalld
	"$TB_ROOT/tools/greywall-bpf.sh" detach rcv0 --netns "$TB_NS_RCV" --pin "$TB_BPF_PIN" \
		>/dev/null 2>&1 || true
	rm -rf "$TB_BPF_PIN"
	"$TB_ROOT/tools/greywall-bpf.sh" attach rcv0 --netns "$TB_NS_RCV" --pin "$TB_BPF_PIN" \
		>/dev/null || fail "$1: the filter could not be attached again"
	"$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" delay="$TB_DELAY" >/dev/null ||
		fail "$1: could not set the delay"
	cat >"$CONF" <<CONF
relay_maps = $TB_BPF_PIN/maps
delay = $TB_DELAY
whitelist_path = $TB_DIR/whitelist
snapshot_path =
control_socket = $TB_DIR/greywalld.sock
policy_listen =
metrics_listen =
user = nobody
CONF
	: >"$TB_DIR/whitelist"
	tls_capture_start "$1" || fail "$1: tcpdump did not start"
}

# bpf_done NAME: stop the capture, print the wire and the filter's counters.
bpf_done() {
	sleep 1 # the session's QUIT
	tls_capture_stop
	tls_report "$1" "$TB_DIR/$1.pcap"
	echo "    relay filter: $("$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" |
		grep -E '^(verdict_|tls_|replies_injected)' | grep -v ' 0$' | tr -s ' \n' '= ' | sed 's/= \([a-z]\)/ \1/g')"
}

# tls_case NAME FROM LOCAL: a TLS sender's message, greylisted at STARTTLS, then
# delivered over TLS after the delay with nothing in cleartext.
tls_case() {
	local name=$1 from=$2 local=$3 mark
	mark=$(tls_mark)
	tb_send "$from" "$local@receiver.example" "$name"
	tls_wait_message "$local" "$name" 45 || {
		bpf_done "$name"
		fail "$name: not delivered within 45 s"
	}
	bpf_done "$name"
	tls_assert_tls_delivery "$name" "$local" "$name" "$mark" "$TB_DIR/$name.pcap"
	# greylisted, not let through: the first attempt was deferred
	tls_since "$mark" | grep -qE "to=<$local@receiver.example>.*status=deferred" ||
		fail "$name: delivered on the first attempt, not greylisted until the delay"
	[ "$(relay_counter tls_greylisted)" -ge 1 ] || fail "$name: no STARTTLS greylisted"
	echo "ok: $name: delivered with ESMTPS after the delay, no envelope in cleartext"
}

if want passed_plain; then
	# the receiver does not offer TLS yet: the triplet is greylisted and passes in plaintext
	tls_receiver off || fail "could not switch the receiver's TLS off"
	bpf_fresh passed_plain
	mark=$(tls_mark)
	tb_send alice@sender.example dave@receiver.example "passed_plain 1"
	tls_wait_message dave "passed_plain 1" 45 || fail "passed_plain: the plaintext mail was not delivered"
	tls_since "$mark" | grep -qE 'to=<dave@receiver.example>.*status=deferred.*450 4.7.1' ||
		fail "passed_plain: the plaintext mail was not greylisted first"
	bpf_done "passed_plain"
	# then the receiver offers TLS: the same triplet's next mail goes over TLS
	tls_receiver on || fail "could not switch the receiver's TLS on"
	tls_capture_start passed_plain2 || fail "tcpdump did not start"
	mark=$(tls_mark)
	tb_send alice@sender.example dave@receiver.example "passed_plain 2"
	tls_wait_message dave "passed_plain 2" 45 || fail "passed_plain: the mail after TLS came was not delivered"
	bpf_done passed_plain2
	tls_assert_tls_delivery passed_plain dave "passed_plain 2" "$mark" "$TB_DIR/passed_plain2.pcap"
	echo "ok: passed_plain: a triplet passed in plaintext sends its next mail over TLS, nothing in cleartext"
fi

if want exempt; then
	bpf_fresh exempt
	tls_case exempt alice@sender.example postmaster
fi

if want whitelisted_sender; then
	bpf_fresh whitelisted_sender
	"$TB_ROOT/build/greyctl" -c "$CONF" whitelist add 'sender alice@sender.example' >/dev/null ||
		fail "whitelisted_sender: greyctl whitelist add failed"
	tls_case whitelisted_sender alice@sender.example carol
fi

if want ordinary; then
	bpf_fresh ordinary
	tls_case ordinary alice@sender.example bob
fi

if want tls_mode_pass; then
	bpf_fresh tls_mode_pass
	echo 'tls_mode = pass' >>"$CONF"
	tb_start_greywalld "$CONF" "$TB_DIR/greywalld.log" 'relay filter: policy and lists pushed' ||
		fail "tls_mode_pass: greywalld did not start on the filter's maps"
	mark=$(tls_mark)
	tb_send alice@sender.example erin@receiver.example tls_mode_pass
	tls_wait_message erin tls_mode_pass 20 || {
		bpf_done tls_mode_pass
		fail "tls_mode_pass: not delivered within 20 s"
	}
	bpf_done tls_mode_pass
	tls_assert_tls_delivery tls_mode_pass erin tls_mode_pass "$mark" "$TB_DIR/tls_mode_pass.pcap"
	tls_since "$mark" | grep -q 'status=deferred' && fail "tls_mode_pass: a deferral with tls_mode = pass"
	[ "$(relay_counter tls_greylisted)" = 0 ] || fail "tls_mode_pass: STARTTLS greylisted with tls_mode = pass"
	tb_stop_greywalld
	echo "ok: tls_mode_pass: delivered with ESMTPS on the first attempt, no envelope in cleartext"
fi

if want plaintext_sender; then
	tls_sender none || fail "could not take TLS from the sender"
	bpf_fresh plaintext_sender
	mark=$(tls_mark)
	tb_send alice@sender.example frank@receiver.example "greywall test"
	assert_greylisted_then_delivered frank
	bpf_done plaintext_sender
	pcap=$TB_DIR/plaintext_sender.pcap
	[ "$(tls_count "$pcap" '^C: STARTTLS')" = 0 ] || fail "plaintext_sender: STARTTLS on the wire"
	[ "$(tls_count "$pcap" '^S: 421 ')" = 0 ] || fail "plaintext_sender: a 421 on the wire"
	[ "$(tls_count "$pcap" '^S: 450 4.7.1 <frank@receiver.example>')" -ge 1 ] ||
		fail "plaintext_sender: the filter's 450 is not on the wire"
	tls_since "$mark" | grep -q ' 421 ' && fail "plaintext_sender: the sender logged a 421"
	[ "$(tls_received frank "greywall test")" = ESMTP ] ||
		fail "plaintext_sender: delivered 'with $(tls_received frank "greywall test")', not ESMTP"
	[ "$(relay_counter verdict_greylist)" -ge 1 ] || fail "plaintext_sender: no greylist verdict"
	[ "$(relay_counter verdict_pass)" -ge 1 ] || fail "plaintext_sender: no pass verdict"
	[ "$(relay_counter tls_greylisted)" = 0 ] || fail "plaintext_sender: a STARTTLS greylisted"
	echo "ok: plaintext_sender: greylisted by triplet (450), delivered after the delay, no STARTTLS, no 421"
fi
