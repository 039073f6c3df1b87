#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A client that writes its RCPT line in two pieces, 50 ms apart (TCP_NODELAY,
# so two segments), through greywall-dp to real Postfix: greywall-dp holds the
# begun line back, cuts the whole line when the rest arrives, and the client
# reads greywall's 450; Postfix never sees that RCPT.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
tb_start_dp
tb_start_receiver
sleep 1
ip netns exec "$TB_NS_SND" python3 - "$TB_RCV4" >"$TB_DIR/client.log" 2>&1 <<'PY' || fail "client: $(cat "$TB_DIR/client.log")"
import socket, sys, time
s = socket.create_connection((sys.argv[1], 25), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.strip())
        if len(line) < 4 or line[3] != "-":
            return lines
print(reply())
s.sendall(b"EHLO client.example\r\n"); print(reply())
s.sendall(b"MAIL FROM:<alice@sender.example>\r\n"); print(reply())
s.sendall(b"RCPT TO:<dave@rec"); time.sleep(0.05)
s.sendall(b"eiver.example>\r\n"); print(reply())
s.sendall(b"QUIT\r\n"); print(reply())
PY
grep -q "450 4.7.1 <dave@receiver.example>: Recipient address rejected: Greylisted" "$TB_DIR/client.log" ||
	fail "the split RCPT was not greylisted: $(cat "$TB_DIR/client.log")"
tb_stop_dp
[ "$(dp_counter split_line)" -eq 0 ] || fail "split_line counted: the line was not held"
[ "$(dp_counter lines_removed)" -eq 1 ] || fail "lines_removed is not 1"
grep -q 'rcpt=' "$TB_DIR/rcv/maillog" && fail "Postfix saw the RCPT"
echo "ok: an RCPT in two segments was held, cut whole and answered with 450"
