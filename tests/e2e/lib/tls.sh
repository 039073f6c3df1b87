#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# STARTTLS on the namespace testbed (source after testbed.sh and assert.sh):
# a self-signed certificate for the receiver, TLS switched on and off in either
# Postfix with postconf and a reload, and a tcpdump capture of the sender's
# wire that is read back to see what travelled in cleartext.

TLS_CAP_PID=
TLS_CAP_FILE=

# tls_make_cert: a self-signed key and certificate for receiver.example under $TB_DIR/tls.
tls_make_cert() {
	local d=$TB_DIR/tls
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=receiver.example \
		-keyout "$d/key.pem" -out "$d/cert.pem" >"$d/openssl.log" 2>&1 || {
		cat "$d/openssl.log" >&2
		return 1
	}
	chmod 600 "$d/key.pem"
}

# tls_postconf WHO SETTING...: set main.cf lines in snd or rcv and reload that Postfix.
# tlsmgr (the TLS session cache and PRNG service) goes into master.cf the first time.
tls_postconf() {
	local who=$1 etc=$TB_DIR/$1/etc
	shift
	grep -q '^tlsmgr' "$etc/master.cf" ||
		echo 'tlsmgr    unix  -       -       n       1000?   1       tlsmgr' >>"$etc/master.cf"
	postconf -c "$etc" -e "$@" || return 1
	ip netns exec "$TB_ID-$who" postfix -c "$etc" reload >/dev/null 2>&1 || return 1
	sleep 1 # the master re-reads its files on SIGHUP, asynchronously
}

# tls_receiver on|off: the receiver offers STARTTLS with the test's certificate,
# logs its TLS sessions and says ESMTPS in its Received header; or offers nothing.
tls_receiver() {
	if [ "$1" = on ]; then
		[ -f "$TB_DIR/tls/cert.pem" ] || tls_make_cert || return 1
		tls_postconf rcv 'smtpd_tls_security_level = may' \
			"smtpd_tls_cert_file = $TB_DIR/tls/cert.pem" \
			"smtpd_tls_key_file = $TB_DIR/tls/key.pem" \
			'smtpd_tls_received_header = yes' 'smtpd_tls_loglevel = 1'
	else
		tls_postconf rcv 'smtpd_tls_security_level = none'
	fi
}

# tls_sender LEVEL: the sender's smtp_tls_security_level (may, none), TLS sessions logged.
tls_sender() {
	tls_postconf snd "smtp_tls_security_level = $1" 'smtp_tls_loglevel = 1'
}

# tls_capture_start NAME: capture the sender's port-25 traffic to $TB_DIR/NAME.pcap.
tls_capture_start() {
	TLS_CAP_FILE=$TB_DIR/$1.pcap
	# -Z root: tcpdump would otherwise drop to its own user before writing into $TB_DIR
	ip netns exec "$TB_NS_SND" tcpdump -i snd0 -U -s 0 -Z root -w "$TLS_CAP_FILE" \
		tcp port 25 >"$TB_DIR/$1.tcpdump.log" 2>&1 &
	TLS_CAP_PID=$!
	local _
	for _ in $(seq 50); do
		grep -q 'listening on' "$TB_DIR/$1.tcpdump.log" 2>/dev/null && return 0
		kill -0 "$TLS_CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	tb_log "tcpdump did not start:"
	cat "$TB_DIR/$1.tcpdump.log" >&2
	return 1
}

# tls_capture_stop: stop the capture with SIGINT (it flushes and closes the file).
tls_capture_stop() {
	[ -n "$TLS_CAP_PID" ] || return 0
	kill -INT "$TLS_CAP_PID" 2>/dev/null || true
	wait "$TLS_CAP_PID" 2>/dev/null || true
	TLS_CAP_PID=
	return 0
}

# tls_wire FILE: what an eavesdropper on the sender's wire reads, from the
# capture: one line per SMTP line in a TCP payload, "C: " from the client (to
# port 25), "S: " from the server, and "C: [N octets not text]" for a payload
# that is not text (TLS records).
tls_wire() {
	python3 -c 'import struct, sys
data = open(sys.argv[1], "rb").read()
end = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
off = 24
while off + 16 <= len(data):
	incl = struct.unpack(end + "IIII", data[off:off + 16])[2]
	frame = data[off + 16:off + 16 + incl]
	off += 16 + incl
	et, l3 = struct.unpack("!H", frame[12:14])[0], 14
	if et == 0x8100:
		et, l3 = struct.unpack("!H", frame[16:18])[0], 18
	if et == 0x0800 and frame[l3 + 9] == 6:
		l4, stop = l3 + (frame[l3] & 15) * 4, l3 + struct.unpack("!H", frame[l3 + 2:l3 + 4])[0]
	elif et == 0x86DD and frame[l3 + 6] == 6:
		l4, stop = l3 + 40, l3 + 40 + struct.unpack("!H", frame[l3 + 4:l3 + 6])[0]
	else:
		continue
	sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
	pay = frame[l4 + (frame[l4 + 12] >> 4) * 4:stop]
	if not pay:
		continue
	who = "C" if dport == 25 else "S"
	text = pay.decode("latin-1")
	if all(32 <= ord(c) < 127 or c in "\r\n\t" for c in text):
		for line in text.splitlines():
			print("%s: %s" % (who, line))
	else:
		print("%s: [%d octets not text]" % (who, len(pay)))' "$1"
}

# tls_cleartext_envelope FILE: every MAIL FROM / RCPT TO command readable anywhere
# in the capture file's bytes (no parsing to get wrong: TLS leaves none readable).
tls_cleartext_envelope() {
	grep -aoiE '(MAIL FROM|RCPT TO):<[^>]*>' "$1" || true
}

# tls_count FILE REGEX: how many lines of the readable capture match the extended REGEX.
tls_count() {
	tls_wire "$1" | grep -cE "$2" || true
}

# tls_wire_brief FILE: tls_wire with each run of payloads that are not text, and each
# run of message lines, folded into one line.
tls_wire_brief() {
	tls_wire "$1" | awk '
		function flush() {
			if (n) printf "   [%d payloads not text: TLS]\n", n
			if (m) printf "C: [%d lines of message text]\n", m
			n = m = 0
		}
		/octets not text\]$/ { if (m) flush(); n++; next }
		/^C: / && !/^C: (EHLO|HELO|STARTTLS|MAIL FROM|RCPT TO|DATA|RSET|QUIT|NOOP|BDAT|\.$)/ { if (n) flush(); m++; next }
		{ flush(); print }
		END { flush() }'
}

# tls_mark: how many lines the sender's log has now (for tls_since).
tls_mark() {
	if [ -f "$TB_DIR/snd/maillog" ]; then wc -l <"$TB_DIR/snd/maillog"; else echo 0; fi
}

# tls_since MARK: the sender's log after the line tls_mark counted.
tls_since() {
	tail -n +"$(($1 + 1))" "$TB_DIR/snd/maillog" 2>/dev/null
}

# tls_message LOCAL SUBJECT: the file in LOCAL's mailbox holding the message with SUBJECT.
tls_message() {
	local f
	for f in $(tb_mailbox "$1"); do
		grep -qx "Subject: $2" "$f" && { echo "$f"; return 0; }
	done
	return 1
}

# tls_wait_message LOCAL SUBJECT SECONDS
tls_wait_message() {
	local _
	for _ in $(seq $(($3 * 5))); do
		tls_message "$1" "$2" >/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# tls_received LOCAL SUBJECT: the "with ..." protocol of the receiver's Received header
# (ESMTPS when the message came over TLS, ESMTP when in cleartext).
tls_received() {
	grep -oE 'with E?SMTPS?A?' "$(tls_message "$1" "$2")" | head -1 | cut -d' ' -f2
}

# tls_report NAME PCAP: what the sender's wire showed in cleartext, for the record.
tls_report() {
	echo "--- $1: the sender's wire, as readable text (C client, S server)"
	tls_wire_brief "$2" | grep -vE '^S: 250-' | sed 's/^/    /'
	echo "    = sessions (EHLO/HELO) $(tls_count "$2" '^C: (EHLO|HELO) ')," \
		"STARTTLS $(tls_count "$2" '^C: STARTTLS')," \
		"421 $(tls_count "$2" '^S: 421 ')," \
		"450 $(tls_count "$2" '^S: 450 ')," \
		"cleartext MAIL FROM/RCPT TO $(tls_cleartext_envelope "$2" | wc -l)"
}

# tls_assert_no_cleartext WHAT PCAP: no MAIL FROM or RCPT TO crossed the wire in cleartext.
tls_assert_no_cleartext() {
	local clear
	clear=$(tls_cleartext_envelope "$2")
	[ -z "$clear" ] ||
		fail "$1: the envelope crossed the sender's wire in cleartext ($(echo "$clear" | sort | uniq -c | tr -s ' \n' ' '))"
}

# tls_assert_tls_delivery WHAT LOCAL SUBJECT MARK PCAP: the message reached LOCAL's
# mailbox over TLS (Received says ESMTPS, the sender logged a TLS session), and
# nothing of the envelope travelled in cleartext.
tls_assert_tls_delivery() {
	tls_assert_no_cleartext "$1" "$5"
	tls_message "$2" "$3" >/dev/null || fail "$1: not delivered to $2"
	[ "$(tls_received "$2" "$3")" = ESMTPS ] ||
		fail "$1: delivered 'with $(tls_received "$2" "$3")', not over TLS (ESMTPS)"
	tls_since "$4" | grep -qE "(Anonymous|Untrusted|Trusted|Verified) TLS connection established to" ||
		fail "$1: the sender logged no TLS session"
	tls_since "$4" | grep -qE "to=<$2@receiver.example>.*status=sent" ||
		fail "$1: the sender did not log the delivery"
}
