#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Packet in, packet out through the greywall-dp binary on real net_pcap vdevs:
# one SMTP session (both directions in port 0's capture) whose RCPT is unseen,
# then a frame to a web server, the client's QUIT and the server's 221. Out of
# port 0 must come exactly the 450 frame that tools/smtp_pcap builds on its
# own; out of port 1 every other frame, byte for byte: the web frame as it
# came, QUIT and 221 with seq and ack moved past the removed and inserted bytes.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
dir=$(mktemp -d)
id=gwpc$$
trap 'rm -rf "$dir" /dev/shm/$id-* /var/run/dpdk/$id' EXIT
"$BUILD/tools/smtp_pcap" session "$dir"
# both directions come in on port 0 here (one capture): no port pairs to check
printf 'paired_ports = no\n' >"$dir/greywall.conf"
timeout 60 "$BUILD/greywall-dp" -l 0 --no-huge -m 256 --no-pci --file-prefix "$id" --log-level=error \
	--vdev="net_pcap0,rx_pcap=$dir/in.pcap,tx_pcap=$dir/out0.pcap" \
	--vdev="net_pcap1,tx_pcap=$dir/out1.pcap" -- -c "$dir/greywall.conf" --protect 198.18.0.0/15 \
	--table "/dev/shm/$id-t" --awl "/dev/shm/$id-a" --capacity 65536 --max-flows 1024 --duration 2 \
	--control-socket none \
	>"$dir/dp.log" 2>&1 || { cat "$dir/dp.log"; exit 1; }
grep -q 'lines_removed=1 replies_injected=1' "$dir/dp.log" || { cat "$dir/dp.log"; exit 1; }
"$BUILD/tools/smtp_pcap" check "$dir"
