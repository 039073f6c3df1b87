#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Attach or detach the greywall relay filter with plain bpftool and tc; the
# same commands the README spells out, in one line.
set -eu

usage() {
	cat <<'EOF'
Usage: greywall-bpf.sh attach DEV [options]
       greywall-bpf.sh detach DEV [options]

Loads build/bpf/greywall.bpf.o with bpftool, pins its programs and maps
under the pin directory, attaches greywall_xdp to DEV's ingress (XDP) and
greywall_tc_egress to DEV's egress (tc clsact). detach undoes all of it,
including the pins: the triplet table goes with them.

Options:
  --pin DIR      pin directory on bpffs (default /sys/fs/bpf/greywall)
  --obj FILE     the BPF object (default build/bpf/greywall.bpf.o)
  --netns NAME   DEV lives in network namespace NAME (entered with nsenter,
                 so the pins under /sys/fs/bpf stay visible)
  --xdp-mode M   native (default), generic or offload

Exit status: 0 on success, 1 on failure, 2 on a usage error.
EOF
}

[ $# -ge 2 ] || { usage >&2; exit 2; }
case $1 in -h | --help) usage; exit 0 ;; esac
cmd=$1 dev=$2
shift 2
pin=/sys/fs/bpf/greywall
obj=$(cd "$(dirname "$0")/.." && pwd)/build/bpf/greywall.bpf.o
netns= mode=xdp
while [ $# -gt 0 ]; do
	case $1 in
	--pin) pin=$2; shift 2 ;;
	--obj) obj=$2; shift 2 ;;
	--netns) netns=$2; shift 2 ;;
	--xdp-mode)
		case $2 in native) mode=xdpdrv ;; generic) mode=xdpgeneric ;; offload) mode=xdpoffload ;;
		*) echo "greywall-bpf.sh: unknown XDP mode '$2'" >&2; exit 2 ;; esac
		shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "greywall-bpf.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

in_ns() {
	if [ -n "$netns" ]; then nsenter --net="/run/netns/$netns" "$@"; else "$@"; fi
}

case $cmd in
attach)
	[ -f "$obj" ] || { echo "greywall-bpf.sh: $obj not found: run make" >&2; exit 1; }
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	if [ -e "$pin/progs" ]; then
		echo "greywall-bpf.sh: $pin is in use: detach first" >&2
		exit 1
	fi
	mkdir -p "$pin"
	bpftool prog loadall "$obj" "$pin/progs" pinmaps "$pin/maps"
	if ! in_ns bpftool net attach "$mode" pinned "$pin/progs/greywall_xdp" dev "$dev"; then
		rm -rf "$pin"
		exit 1
	fi
	in_ns tc qdisc add dev "$dev" clsact 2>/dev/null || true
	if ! in_ns tc filter add dev "$dev" egress bpf direct-action \
		pinned "$pin/progs/greywall_tc_egress"; then
		in_ns bpftool net detach "$mode" dev "$dev"
		rm -rf "$pin"
		exit 1
	fi
	echo "greywall relay filter attached to $dev; maps in $pin/maps"
	;;
detach)
	rc=0
	in_ns bpftool net detach "$mode" dev "$dev" || rc=1
	in_ns tc filter del dev "$dev" egress 2>/dev/null || true
	in_ns tc qdisc del dev "$dev" clsact 2>/dev/null || true
	rm -rf "$pin"
	[ $rc = 0 ] && echo "greywall relay filter detached from $dev"
	exit $rc
	;;
*)
	echo "greywall-bpf.sh: unknown command '$cmd'" >&2
	usage >&2
	exit 2
	;;
esac
