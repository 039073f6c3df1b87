#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Namespace testbed shared by `make demo` and the end-to-end tests:
#
#   [ns snd: Postfix sender ]--veth--[ns gw: greywall-dp, 2 AF_PACKET ports]--veth--[ns rcv: Postfix receiver]
#     198.18.0.1, fd00:18::1            gw-c <-> gw-s (L2 bridge)                 198.18.0.2, fd00:18::2
#
# Only 198.18.0.0/15 and fd00::/8 are used, inside namespaces this script
# makes and removes. Source it; call tb_setup, then tb_* helpers; tb_cleanup
# runs on exit.

TB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
TB_ID=${TB_ID:-gw$$}
TB_DIR=${TB_DIR:-/tmp/greywall-$TB_ID}
TB_NS_SND=$TB_ID-snd
TB_NS_GW=$TB_ID-gw
TB_NS_RCV=$TB_ID-rcv
TB_SND4=198.18.0.1
TB_RCV4=198.18.0.2
TB_SND6=fd00:18::1
TB_RCV6=fd00:18::2
TB_DP_PID=
TB_DP_SOCK=${TB_DP_SOCK-$TB_DIR/greywall-dp.sock}
TB_BPF_PIN=
TB_BPF_MOUNTED=
TB_DAEMON_PID=
TB_DELAY=${TB_DELAY:-10}
TB_PROTECT=${TB_PROTECT:---protect 198.18.0.0/15 --protect fd00::/8}

tb_log() { printf '%s\n' "$*" >&2; }

tb_cleanup() {
	set +e
	[ -n "$TB_DP_PID" ] && kill -INT "$TB_DP_PID" 2>/dev/null && wait "$TB_DP_PID" 2>/dev/null
	tb_stop_greywalld
	tb_stop_bpf
	for who in snd rcv; do
		[ -f "$TB_DIR/$who/etc/main.cf" ] &&
			ip netns exec "$TB_ID-$who" postfix -c "$TB_DIR/$who/etc" stop >/dev/null 2>&1
	done
	sleep 0.5
	for ns in "$TB_NS_SND" "$TB_NS_GW" "$TB_NS_RCV"; do
		# anything left in the namespace goes with it
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			disown "$pid" 2>/dev/null
			kill -9 "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "/dev/shm/greywall-$TB_ID-triplets" "/dev/shm/greywall-$TB_ID-awl" \
		"/dev/shm/greywall-$TB_ID-triplets.dp"
	rm -rf /var/run/dpdk/"$TB_ID"* 2>/dev/null
	[ -z "${TB_KEEP:-}" ] && rm -rf "$TB_DIR"
	return 0
}

tb_netns() {
	ip netns add "$TB_NS_SND"
	ip netns add "$TB_NS_GW"
	ip netns add "$TB_NS_RCV"
	ip link add snd0 netns "$TB_NS_SND" type veth peer name gw-c netns "$TB_NS_GW"
	ip link add rcv0 netns "$TB_NS_RCV" type veth peer name gw-s netns "$TB_NS_GW"
	ip -n "$TB_NS_SND" addr add $TB_SND4/24 dev snd0
	ip -n "$TB_NS_SND" addr add $TB_SND6/64 dev snd0 nodad
	ip -n "$TB_NS_RCV" addr add $TB_RCV4/24 dev rcv0
	ip -n "$TB_NS_RCV" addr add $TB_RCV6/64 dev rcv0 nodad
	for ns_dev in "$TB_NS_SND:snd0" "$TB_NS_RCV:rcv0" "$TB_NS_GW:gw-c" "$TB_NS_GW:gw-s"; do
		local ns=${ns_dev%%:*} dev=${ns_dev##*:}
		ip -n "$ns" link set lo up
		ip -n "$ns" link set "$dev" up
		# AF_PACKET forwards frames as they are: checksums must be complete on the
		# wire, and no GSO/GRO super-frames may reach a 2 KiB mbuf.
		ip netns exec "$ns" ethtool -K "$dev" tx off tso off gso off gro off >/dev/null 2>&1
	done
}

# The vdev for one side: AF_PACKET (default) or AF_XDP with TB_DP_VDEV=af_xdp.
tb_dp_vdev() { # index iface
	if [ "${TB_DP_VDEV:-af_packet}" = af_xdp ]; then
		echo "--vdev=net_af_xdp$1,iface=$2,start_queue=0,queue_count=${TB_DP_QPAIRS:-1}"
	else
		echo "--vdev=net_af_packet$1,iface=$2${TB_DP_QPAIRS:+,qpairs=$TB_DP_QPAIRS}"
	fi
}

# Start greywall-dp bridging gw-c and gw-s; extra arguments go to greywall-dp. Its
# control socket is TB_DP_SOCK (default $TB_DIR/greywall-dp.sock; empty = the flag is
# not given, for a test whose greywall.conf names it).
tb_start_dp() {
	tb_run_dp $TB_PROTECT --delay "$TB_DELAY" --log-verdicts \
		--table "/dev/shm/greywall-$TB_ID-triplets" --awl "/dev/shm/greywall-$TB_ID-awl" \
		--capacity 65536 --max-flows 1024 ${TB_DP_SOCK:+"--control-socket=$TB_DP_SOCK"} "$@"
}

# tb_start_dp_conf CONF [ARGS]: greywall-dp bridging gw-c and gw-s with only -c CONF
# (and ARGS) after EAL's options: everything else comes from the file.
tb_start_dp_conf() {
	tb_run_dp -c "$@"
}

# greywall-dp with EAL's options for the testbed and the given application arguments,
# up when it says it is bridging.
tb_run_dp() {
	mkdir -p "$TB_DIR"
	# a second start must not find the first one's "bridging" before its own log begins
	rm -f "$TB_DIR/greywall-dp.log"
	ip netns exec "$TB_NS_GW" "$TB_ROOT/build/greywall-dp" -l "${TB_DP_LCORES:-0}" --no-huge -m 512 --no-pci \
		--file-prefix "$TB_ID" --log-level=error \
		$(tb_dp_vdev 0 gw-c) \
		$(tb_dp_vdev 1 gw-s) -- \
		"$@" >"$TB_DIR/greywall-dp.log" 2>&1 &
	TB_DP_PID=$!
	local i
	for i in $(seq 50); do
		grep -q "bridging" "$TB_DIR/greywall-dp.log" 2>/dev/null && return 0
		kill -0 "$TB_DP_PID" 2>/dev/null || break
		sleep 0.2
	done
	tb_log "greywall-dp did not start:"
	cat "$TB_DIR/greywall-dp.log" >&2
	return 1
}

# Wire the two sides with a plain Linux bridge instead of greywall-dp.
tb_bridge() {
	ip -n "$TB_NS_GW" link add br0 type bridge
	ip -n "$TB_NS_GW" link set gw-c master br0
	ip -n "$TB_NS_GW" link set gw-s master br0
	ip -n "$TB_NS_GW" link set br0 up
}

# Wire the sides with a bridge and put the relay filter on the receiver's
# veth (XDP ingress, TC egress) with tools/greywall-bpf.sh, maps pinned
# under TB_BPF_PIN. The delay is TB_DELAY.
tb_start_bpf() {
	TB_BPF_PIN=/sys/fs/bpf/greywall-$TB_ID
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || return 1
		TB_BPF_MOUNTED=1
	fi
	tb_bridge
	# frames sent back with XDP_TX leave rcv0 for gw-s: veth delivers them only to a peer with XDP
	ip -n "$TB_NS_GW" link set dev gw-s xdp obj "$TB_ROOT/build/tests/bpf/xdp_pass.bpf.o" sec xdp
	"$TB_ROOT/tools/greywall-bpf.sh" attach rcv0 --netns "$TB_NS_RCV" --pin "$TB_BPF_PIN" ||
		return 1
	"$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" delay="$TB_DELAY" >/dev/null
}

# Detach the relay filter and remove its pins (and bpffs, if we mounted it).
tb_stop_bpf() {
	[ -n "$TB_BPF_PIN" ] || return 0
	[ -e "$TB_BPF_PIN" ] && "$TB_ROOT/tools/greywall-bpf.sh" detach rcv0 --netns "$TB_NS_RCV" \
		--pin "$TB_BPF_PIN" >/dev/null 2>&1
	rm -rf "$TB_BPF_PIN"
	[ -n "$TB_BPF_MOUNTED" ] && umount /sys/fs/bpf
	TB_BPF_PIN=
	TB_BPF_MOUNTED=
	return 0
}

# tb_start_greywalld CONF LOG READY [NETNS]: greywalld in the root namespace, or
# in network namespace NETNS (nsenter: only the network changes, so the pinned
# maps under /sys/fs/bpf stay in sight), with TB_GREYWALLD_FLAGS, up within 10 s
# when the extended regex READY shows in LOG; tb_cleanup stops it.
tb_start_greywalld() {
	local run=()
	[ -n "${4:-}" ] && run=(nsenter --net="/run/netns/$4")
	# nsenter execs greywalld (no pid namespace), so the pid is greywalld's
	"${run[@]}" "$TB_ROOT/build/greywalld" -c "$1" -f ${TB_GREYWALLD_FLAGS:-} >"$2" 2>&1 &
	TB_DAEMON_PID=$!
	tb_wait_log "$2" "$3" 10 && return 0
	tb_log "greywalld did not start:"
	tail -5 "$2" >&2
	return 1
}

# Stop greywalld with SIGTERM (it writes its snapshot). Runs from the EXIT
# trap too, where set -e may still hold: nothing here may fail.
tb_stop_greywalld() {
	[ -n "$TB_DAEMON_PID" ] || return 0
	kill "$TB_DAEMON_PID" 2>/dev/null || true
	wait "$TB_DAEMON_PID" 2>/dev/null || true
	TB_DAEMON_PID=
	return 0
}

# The backstop deployment: the relay filter on the receiver's veth (tb_start_bpf)
# and greywalld on its pinned maps, serving Postfix's policy protocol on
# 127.0.0.1:10023 in the receiver's namespace, so whatever the filter lets through
# un-judged is judged by Postfix's check_policy_service against the same triplets.
# Writes TB_BACKSTOP_CONF (extra greywall.conf lines from TB_BACKSTOP_EXTRA), logs
# verdicts to TB_BACKSTOP_LOG, and sets TB_RCV_EXTRA for tb_start_receiver. Call
# it before tb_start_receiver.
tb_start_backstop() {
	tb_start_bpf || return 1
	TB_BACKSTOP_CONF=$TB_DIR/greywall.conf
	TB_BACKSTOP_LOG=$TB_DIR/greywalld.log
	cat >"$TB_BACKSTOP_CONF" <<CONF
relay_maps = $TB_BPF_PIN/maps
delay = $TB_DELAY
policy_listen = 127.0.0.1:10023
snapshot_path =
control_socket = $TB_DIR/greywalld.sock
metrics_listen =
user = nobody
${TB_BACKSTOP_EXTRA:-}
CONF
	TB_GREYWALLD_FLAGS=-v tb_start_greywalld "$TB_BACKSTOP_CONF" "$TB_BACKSTOP_LOG" \
		'policy server listening' "$TB_NS_RCV" || return 1
	TB_RCV_EXTRA="smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10023
${TB_RCV_EXTRA:-}"
}

# greyctl on the backstop's configuration (its control socket and the filter's maps).
tb_greyctl() { "$TB_ROOT/build/greyctl" -c "$TB_BACKSTOP_CONF" "$@"; }

# tb_control SOCKET COMMAND: greywalld's whole answer on its control socket.
tb_control() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(b"".join(iter(lambda: s.recv(65536), b"")).decode())' "$1" "$2"
}

# relay_counter NAME: one of the relay filter's counters, summed over CPUs
relay_counter() {
	"$TB_ROOT/build/greyctl" relay --maps "$TB_BPF_PIN/maps" | awk -v k="$1" '$1 == k { print $2 }'
}

tb_stop_dp() {
	[ -n "$TB_DP_PID" ] || return 0
	kill -INT "$TB_DP_PID" 2>/dev/null
	wait "$TB_DP_PID" 2>/dev/null
	TB_DP_PID=
}

_tb_master_cf() { # with_smtpd
	if [ "$1" = yes ]; then
		echo "smtp      inet  n       -       n       -       -       smtpd"
	fi
	cat <<'MASTER'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTER
}

# Postfix writes fatal errors to stderr only when it is a terminal: give it one.
_tb_postfix_start() { # ns dir
	if ! script -qec "ip netns exec $1 postfix -c $2/etc start" /dev/null >"$2/start.log" 2>&1; then
		tb_log "postfix in $1 did not start:"
		cat "$2/start.log" >&2
		return 1
	fi
}

_tb_common_main_cf() { # who hostname
	cat <<MAIN
compatibility_level = 3.6
queue_directory = $TB_DIR/$1/spool
data_directory = $TB_DIR/$1/data
maillog_file = $TB_DIR/$1/maillog
maillog_file_prefixes = $TB_DIR
myhostname = $2
mydomain = $2
myorigin = $2
inet_protocols = all
smtp_tls_security_level = none
smtpd_tls_security_level = none
alias_maps =
alias_database =
biff = no
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
smtp_connect_timeout = 10s
MAIN
}

# Recipients the receiver accepts; each gets a maildir named after its local part.
TB_USERS="bob carol dave erin frank postmaster"
_tb_mailboxes() {
	local u
	for u in $TB_USERS; do printf '{%s@receiver.example=%s/} ' "$u" "$u"; done
}

# Start the receiving MTA: virtual maildirs under $TB_DIR/rcv/mail/<local part>/.
tb_start_receiver() {
	local d=$TB_DIR/rcv
	mkdir -p "$d/etc" "$d/spool" "$d/data" "$d/mail"
	chown 65534:65534 "$d/mail"
	chown postfix "$d/data"
	_tb_master_cf yes >"$d/etc/master.cf"
	{
		_tb_common_main_cf rcv receiver.example
		cat <<MAIN
inet_interfaces = all
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = receiver.example
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = inline:{ $(_tb_mailboxes) }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_recipient_restrictions = reject_unauth_destination
smtpd_banner = \$myhostname ESMTP
${TB_RCV_EXTRA:-}
MAIN
	} >"$d/etc/main.cf"
	_tb_postfix_start "$TB_NS_RCV" "$d"
}

# Start the sending MTA, relaying everything to the receiver (IPv4, or IPv6 with "6").
tb_start_sender() {
	local d=$TB_DIR/snd relay="[$TB_RCV4]:25"
	[ "${1:-4}" = 6 ] && relay="[$TB_RCV6]:25"
	mkdir -p "$d/etc" "$d/spool" "$d/data"
	chown postfix "$d/data"
	_tb_master_cf no >"$d/etc/master.cf"
	{
		_tb_common_main_cf snd sender.example
		cat <<MAIN
inet_interfaces = loopback-only
mydestination =
relayhost = $relay
${TB_SND_EXTRA:-}
MAIN
	} >"$d/etc/main.cf"
	_tb_postfix_start "$TB_NS_SND" "$d"
}

# tb_send FROM TO [SUBJECT]: submit a message to the sender's queue.
tb_send() {
	local subject=${3:-greywall test}
	printf 'From: <%s>\nTo: <%s>\nSubject: %s\n\nHello from the greywall testbed.\n' \
		"$1" "$2" "$subject" |
		sendmail -C "$TB_DIR/snd/etc" -f "$1" "$2"
}

# tb_wait_log FILE PATTERN SECONDS: wait for an extended regex in a log.
tb_wait_log() {
	local i
	for i in $(seq $(($3 * 5))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# Files delivered to a receiver mailbox (local part).
tb_mailbox() {
	find "$TB_DIR/rcv/mail/$1" -type f -path '*/new/*' 2>/dev/null
}

tb_wait_mailbox() { # local_part count seconds
	local i
	for i in $(seq $(($3 * 5))); do
		[ "$(tb_mailbox "$1" | wc -l)" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# tb_policy_ask NS CLIENT SENDER: one Postfix policy request (RCPT for
# bob@receiver.example) to greywalld on NS's 127.0.0.1:10023; prints the action line.
tb_policy_ask() {
	ip netns exec "$1" bash -c '
		exec 3<>/dev/tcp/127.0.0.1/10023
		printf "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\nsender=%s\nrecipient=bob@receiver.example\n\n" "$1" "$2" >&3
		head -1 <&3' _ "$2" "$3"
}

tb_setup() {
	[ "$(id -u)" = 0 ] || { tb_log "the testbed needs root (network namespaces)"; return 1; }
	[ -x "$TB_ROOT/build/greywall-dp" ] || { tb_log "build first: make"; return 1; }
	trap tb_cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$TB_DIR"
	tb_netns
}
