#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# SMTP messages per second, smtp-source -> smtp-sink, through greywall-dp (every
# triplet already passed, so each RCPT is a full table decision) against the same
# namespaces wired by a Linux bridge in place of greywall-dp. Same run, same veths.
set -eu
TB_DELAY=0
MSGS=${SMTP_BENCH_MSGS:-3000}
SESS=${SMTP_BENCH_SESSIONS:-8}
. "$(dirname "$0")/../../tests/e2e/lib/testbed.sh"
tb_setup >/dev/null
ip netns exec "$TB_NS_RCV" smtp-sink -u nobody 198.18.0.2:25 512 >/dev/null 2>&1 &
sleep 0.5
src() { ip netns exec "$TB_NS_SND" timeout 300 smtp-source "$@" 198.18.0.2:25 >/dev/null 2>&1; }
rate() { # label
	local s e
	s=$(date +%s.%N)
	src -s "$SESS" -m "$MSGS" -l 1024 -f alice@sender.example -t bob@receiver.example ||
		{ echo "smtp-source failed ($1)" >&2; exit 1; }
	e=$(date +%s.%N)
	awk -v n="$MSGS" -v s="$s" -v e="$e" 'BEGIN { printf "%.0f\n", n / (e - s) }'
}
tb_start_dp
src -s 1 -m 1 -f alice@sender.example -t bob@receiver.example || true # first attempt: 450
gw=$(rate greywall)
tb_stop_dp
# the same AF_PACKET ports bridged by testpmd io-forward: the cost of any DPDK bump here.
# testpmd quits at EOF on stdin, so it reads a FIFO we hold open (read-write: no EOF)
# and close afterwards; no helper process is left holding our stdout or stderr.
mkfifo "$TB_DIR/testpmd.in"
exec 9<>"$TB_DIR/testpmd.in"
ip netns exec "$TB_NS_GW" dpdk-testpmd -l 0,1 --no-huge -m 1024 --no-pci \
	--file-prefix "${TB_ID}tp" --log-level=error --vdev=net_af_packet0,iface=gw-c \
	--vdev=net_af_packet1,iface=gw-s -- --forward-mode=io --auto-start --no-mlockall \
	--total-num-mbufs=32768 <&9 >"$TB_DIR/testpmd.log" 2>&1 &
sleep 3
tp=$(rate testpmd)
pkill -INT -f "file-prefix ${TB_ID}tp" || true
exec 9>&-
sleep 1
tb_bridge
br=$(rate bridge)
# the bridge again while a process spins on one core: what giving a polling core away
# costs on this machine, whatever polls it
timeout 600 taskset -c 0 sh -c 'while :; do :; done' >/dev/null 2>&1 &
spinner=$!
sleep 0.2
brs=$(rate bridge-with-spinner)
kill "$spinner"
echo "SMTP through the wire, $SESS sessions x $MSGS messages of 1 KiB, smtp-source -> smtp-sink:"
echo "  greywall-dp (AF_PACKET)       $gw msgs/s"
echo "  dpdk-testpmd io (AF_PACKET)   $tp msgs/s"
echo "  Linux bridge (direct)         $br msgs/s"
echo "  Linux bridge, one core spun   $brs msgs/s"
awk -v g="$gw" -v b="$br" -v t="$tp" -v s="$brs" 'BEGIN {
	printf "  ratio vs bridge               %.2fx (goal >= 0.90x)\n", g / b
	printf "  ratio vs testpmd              %.2fx (greywall logic alone)\n", g / t
	printf "  ratio vs bridge, core spun    %.2fx (the same CPU left to the endpoints)\n", g / s }'
