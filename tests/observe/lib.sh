#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Shared by the observability tests: greywalld on a private loopback (its own
# network namespace, fixed ports, nothing else listening), greywall-dp on
# net_pcap vdevs replaying one SMTP session (no interface needed), and a
# Postfix policy client. Each test sources this, then calls obs_start.
set -eu
OBS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$OBS_ROOT/build}
[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace)"; exit 77; }
[ -x "$BUILD/greywalld" ] && [ -x "$BUILD/greywall-dp" ] || { echo "build first: make"; exit 1; }
if [ -z "${GW_OBS_NS:-}" ]; then
	exec unshare --net -- env GW_OBS_NS=1 "$0" "$@"
fi
ip link set lo up
OBS_DIR=$(mktemp -d /tmp/greywall-obs.XXXXXX)
OBS_ID=obs$$
OBS_PID=
OBS_POLICY=127.0.0.1:10023
OBS_METRICS=127.0.0.1:9425
obs_cleanup() {
	set +e
	[ -n "$OBS_PID" ] && kill "$OBS_PID" 2>/dev/null && wait "$OBS_PID" 2>/dev/null
	rm -f /dev/shm/greywall-$OBS_ID-*
	rm -rf "$OBS_DIR" "/var/run/dpdk/$OBS_ID"
}
trap obs_cleanup EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

# greywall-dp replays tools/smtp_pcap's session (one unseen RCPT: one 450) into
# the shared table and its shared state, then exits. Its output: $OBS_DIR/dp.log.
obs_run_dp() {
	"$BUILD/tools/smtp_pcap" session "$OBS_DIR"
	# both directions come in on port 0 (one capture): no port pairs to check
	printf 'paired_ports = no\n' >"$OBS_DIR/dp.conf"
	timeout 60 "$BUILD/greywall-dp" -l 0 --no-huge -m 256 --no-pci --file-prefix "$OBS_ID" \
		--log-level=error \
		--vdev="net_pcap0,rx_pcap=$OBS_DIR/in.pcap,tx_pcap=$OBS_DIR/out0.pcap" \
		--vdev="net_pcap1,tx_pcap=$OBS_DIR/out1.pcap" -- -c "$OBS_DIR/dp.conf" \
		--protect 198.18.0.0/15 \
		--table "/dev/shm/greywall-$OBS_ID-triplets" --awl "/dev/shm/greywall-$OBS_ID-awl" \
		--capacity 65536 --max-flows 1024 --duration 2 --log-verdicts "$@" \
		>"$OBS_DIR/dp.log" 2>&1 || { cat "$OBS_DIR/dp.log"; fail "greywall-dp failed"; }
}

# obs_start [EXTRA CONFIG LINE...]: greywalld -f -v on the shared tables, its
# log (syslog's lines, as LOG_PERROR copies them) in $OBS_DIR/greywalld.log.
obs_start() {
	{
		# with relay_maps (OBS_RELAY set) the filter's maps are the tables
		[ -n "${OBS_RELAY:-}" ] || printf 'table_path = %s\nawl_path = %s\n' \
			"/dev/shm/greywall-$OBS_ID-triplets" "/dev/shm/greywall-$OBS_ID-awl"
		cat <<CONF
capacity = 65536
delay = 300
snapshot_path =
control_socket = $OBS_DIR/greywalld.sock
control_group = root
policy_listen = $OBS_POLICY
metrics_listen = $OBS_METRICS
whitelist_path = $OBS_DIR/whitelist
CONF
		printf '%s\n' "$@"
	} >"$OBS_DIR/greywall.conf"
	printf 'client 192.0.2.0/24\nrecipient abuse-desk@receiver.example\n' >"$OBS_DIR/whitelist"
	"$BUILD/greywalld" -c "$OBS_DIR/greywall.conf" -f -v >"$OBS_DIR/greywalld.log" 2>&1 &
	OBS_PID=$!
	local _
	for _ in $(seq 100); do
		grep -q 'policy server listening' "$OBS_DIR/greywalld.log" && return 0
		kill -0 "$OBS_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$OBS_DIR/greywalld.log"
	fail "greywalld did not start"
}

obs_stop() {
	[ -n "$OBS_PID" ] && kill "$OBS_PID" 2>/dev/null && wait "$OBS_PID" 2>/dev/null
	OBS_PID=
}

# obs_policy CLIENT SENDER RCPT [CLIENT_NAME]: one Postfix policy request; prints the action.
# SENDER is passed to printf %b, so "\xff" is one byte 0xff.
obs_policy() {
	python3 - "$OBS_POLICY" "$1" "$(printf '%b' "$2")" "$3" "${4:-unknown}" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
client, sender, rcpt, name = (a.encode("utf-8", "surrogateescape") for a in sys.argv[2:6])
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
          b"client_address=" + client + b"\nclient_name=" + name + b"\nhelo_name=mx.example\n"
          b"sender=" + sender + b"\nrecipient=" + rcpt + b"\n\n")
buf = b""
while not buf.endswith(b"\n\n"):
    b = s.recv(4096)
    if not b:
        break
    buf += b
sys.stdout.write(buf.decode("utf-8", "replace").strip() + "\n")
PY
}

# obs_metrics: greywalld's /metrics page body.
obs_metrics() {
	python3 -c 'import sys, urllib.request
page = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5)
sys.stdout.write(page.read().decode())' "$OBS_METRICS"
}

# obs_syslog FILE...: the syslog-shaped lines ("IDENT[PID]: MESSAGE", as LOG_PERROR
# copies them to stderr) of FILEs, as syslogd writes them to /var/log/mail.log.
obs_syslog() {
	grep -haE '^[^ :]+\[[0-9]+\]: ' "$@" | sed "s/^/$(LC_ALL=C date '+%b %e %T') mx /"
}

# obs_wait_log FILE ERE [SECONDS]
obs_wait_log() {
	local _
	for _ in $(seq $((${3:-5} * 10))); do
		grep -qaE "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}
