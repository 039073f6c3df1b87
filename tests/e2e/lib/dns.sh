# SPDX-License-Identifier: BSD-2-Clause
# A real DNS server for a test: unbound answering a zone of local-data lines on
# 127.0.0.1:53 inside one of the testbed's namespaces (no traffic leaves it).

DNS_PID=

# dns_start NS ZONE_FILE: unbound in namespace NS, serving ZONE_FILE's local-data
dns_start() {
	cat >"$TB_DIR/unbound.conf" <<CONF
server:
	interface: 127.0.0.1
	port: 53
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$TB_DIR"
	pidfile: ""
	use-syslog: no
	logfile: ""
	do-ip6: no
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
remote-control:
	control-enable: no
include: "$2"
CONF
	: >"$TB_DIR/unbound.log"
	ip netns exec "$1" unbound -c "$TB_DIR/unbound.conf" >>"$TB_DIR/unbound.log" 2>&1 &
	DNS_PID=$!
	tb_wait_log "$TB_DIR/unbound.log" "start of service" 10
}

dns_stop() {
	[ -n "$DNS_PID" ] || return 0
	kill "$DNS_PID" 2>/dev/null
	wait "$DNS_PID" 2>/dev/null || true
	DNS_PID=
}
