#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Everything that is not SMTP to a protected server crosses greywall-dp byte for
# byte: a 4 MiB TCP transfer (checked by SHA-256 on both ends), SMTP to an
# unprotected address, ICMP echo over IPv4 and IPv6.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
# 198.19.7.0/24 is outside the protected prefix: SMTP there is not ours to touch
TB_PROTECT="--protect 198.18.0.0/16 --protect fd00::/8"
tb_start_dp
ip -n "$TB_NS_RCV" addr add 198.19.7.2/24 dev rcv0
ip -n "$TB_NS_SND" addr add 198.19.7.1/24 dev snd0

ip netns exec "$TB_NS_SND" ping -c 3 -i 0.2 -W 2 $TB_RCV4 >/dev/null || fail "IPv4 ping lost"
ip netns exec "$TB_NS_SND" ping -6 -c 3 -i 0.2 -W 2 $TB_RCV6 >/dev/null || fail "IPv6 ping lost"

# A 4 MiB TCP stream to port 8080, and one to port 25 of the unprotected address.
head -c 4194304 /dev/urandom >"$TB_DIR/blob"
want=$(sha256sum <"$TB_DIR/blob" | cut -d' ' -f1)
sink() { # addr port
	ip netns exec "$TB_NS_RCV" timeout 30 python3 -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256()
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b)
print(h.hexdigest())' "$1" "$2"
}
for target in "$TB_RCV4 8080" "198.19.7.2 25"; do
	set -- $target
	sink "$1" "$2" >"$TB_DIR/sink.out" &
	spid=$!
	sleep 0.5
	ip netns exec "$TB_NS_SND" timeout 30 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(open(sys.argv[3], "rb").read()); s.close()' "$1" "$2" "$TB_DIR/blob" || fail "send to $1:$2 failed"
	wait $spid || fail "sink on $1:$2 failed"
	[ "$(cat "$TB_DIR/sink.out")" = "$want" ] || fail "bytes changed on the way to $1:$2"
done
tb_stop_dp
[ "$(dp_counter smtp_packets)" -eq 0 ] || fail "greywall-dp treated unprotected traffic as SMTP"
echo "ok: TCP (4 MiB, two ways), ICMP v4/v6 forwarded unchanged"
