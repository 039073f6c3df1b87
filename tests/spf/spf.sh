#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The SPF source of sender pools (issue 17) against a real DNS server: unbound
# serves the synthetic zone tests/spf/zone.conf on 127.0.0.1:53 inside a network
# namespace of this script's own (no traffic leaves it), and each case compares
# the networks that greywall-spf, or the module's asynchronous driver
# spf_refresh, print with the set the zone implies.
#
# Usage: tests/spf/spf.sh CASE   (the cases are the functions named case_*)
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
SPF=$ROOT/$BUILD/tools/greywall-spf
DRIVER=$ROOT/$BUILD/tests/spf/spf_refresh
ZONE=$ROOT/tests/spf/zone.conf

if [ -z "${SPF_TEST_NETNS:-}" ]; then
	if ! command -v unbound >/dev/null; then
		echo "FAIL: unbound is not installed (make deps)"
		exit 1
	fi
	exec env SPF_TEST_NETNS=1 unshare --net "$0" "$@"
fi
ip link set lo up
DIR=$(mktemp -d /tmp/greywall-spf-test.XXXXXX)
SERVER_PID=

fail() {
	echo "FAIL: $*"
	echo "--- greywall-spf's standard error"
	cat "$DIR/stderr" 2>/dev/null
	echo "--- unbound's log"
	tail -20 "$DIR/unbound.log" 2>/dev/null
	exit 1
}

stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=
	return 0
}
trap 'stop_server; rm -rf "$DIR"' EXIT

start_server() { # ZONE_FILE
	cat >"$DIR/unbound.conf" <<CONF
server:
	interface: 127.0.0.1
	port: 53
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$DIR"
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 1
	do-ip6: no
	module-config: "iterator"
	access-control: 127.0.0.0/8 allow
remote-control:
	control-enable: no
include: "$1"
CONF
	: >"$DIR/unbound.log"
	unbound -c "$DIR/unbound.conf" >>"$DIR/unbound.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 100); do
		grep -q "start of service" "$DIR/unbound.log" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "unbound did not start"
}

# expect_networks ARGS...: greywall-spf ARGS exits 0 and prints exactly the lines on stdin
expect_networks() {
	local want got rc=0
	want=$(cat)
	got=$("$SPF" --server 127.0.0.1 --stats "$@" 2>"$DIR/stderr") || rc=$?
	[ "$rc" = 0 ] || fail "greywall-spf $* exited $rc"
	[ "$got" = "$want" ] ||
		fail "greywall-spf $*: the networks differ (- expected, + printed):
$(diff <(echo "$want") <(echo "$got") | grep '^[<>]' | sed 's/^</-/; s/^>/+/')"
	echo "ok: greywall-spf $*"
}

# expect_refusal REASON ARGS...: greywall-spf ARGS exits 1, prints no network and says REASON
expect_refusal() {
	local reason=$1 got rc=0
	shift
	got=$("$SPF" --server 127.0.0.1 --stats "$@" 2>"$DIR/stderr") || rc=$?
	[ "$rc" = 1 ] || fail "greywall-spf $* exited $rc, expected 1"
	[ -z "$got" ] || fail "greywall-spf $* printed networks of a failed target: $got"
	grep -qF -- "$reason" "$DIR/stderr" ||
		fail "greywall-spf $*: no '$reason' on standard error"
	echo "ok: greywall-spf $* refused: $reason"
}

# expect_stats TEXT: the last greywall-spf's --stats line says TEXT
expect_stats() {
	grep -qF -- "$1" "$DIR/stderr" || fail "--stats does not say '$1'"
	echo "ok: --stats says '$1'"
}

case_nested_includes() {
	start_server "$ZONE"
	expect_networks nested.spf.example <<-EOF
		nested.spf.example 192.0.2.0/24
		nested.spf.example 198.51.100.0/25
		nested.spf.example 203.0.113.7/32
		nested.spf.example 2001:db8:1::/48
	EOF
	# three includes deep: 4 records, 3 DNS terms; TTL 600 is l3's, the smallest of 3600..600
	expect_stats "4 networks, ttl 600 s (smallest seen 600 s), 3 DNS terms, 0 void lookups"
	expect_stats "4 records"
	grep -o '[0-9.]* ms$' "$DIR/stderr" | sed 's/^/resolution time of the 3-deep tree: /'
}

case_redirect() {
	start_server "$ZONE"
	expect_networks redirect.spf.example <<-EOF
		redirect.spf.example 10.1.0.0/16
		redirect.spf.example 192.0.2.10/32
	EOF
	expect_stats "1 DNS terms"
	# "all" anywhere voids redirect=: only the record's own network
	expect_networks redirect-all.spf.example <<-EOF
		redirect-all.spf.example 192.0.2.11/32
	EOF
	expect_stats "0 DNS terms"
}

case_a_and_mx() {
	start_server "$ZONE"
	# a, a:/24, a:/28//64, mx (two names, one v6-only), mx:/30
	expect_networks amx.spf.example <<-EOF
		amx.spf.example 10.9.9.8/30
		amx.spf.example 192.0.2.50/32
		amx.spf.example 192.0.2.101/32
		amx.spf.example 198.51.100.0/24
		amx.spf.example 203.0.113.192/28
		amx.spf.example 2001:db8:50::1/128
		amx.spf.example 2001:db8:aa:bb::/64
		amx.spf.example 2001:db8:102::1/128
	EOF
	expect_stats "5 DNS terms, 0 void lookups"
	expect_refusal "mx manymx.spf.example: 11 MX names, more than 10" manymx.spf.example
}

case_loop() {
	start_server "$ZONE"
	expect_refusal \
		"include loop: loopa.spf.example includes loopb.spf.example includes loopa.spf.example" \
		loopa.spf.example
}

case_lookup_limit() {
	start_server "$ZONE"
	expect_networks ten.spf.example <<-EOF
		ten.spf.example 10.0.0.1/32
		ten.spf.example 10.0.0.2/32
		ten.spf.example 10.0.0.3/32
		ten.spf.example 10.0.0.4/32
		ten.spf.example 10.0.0.5/32
	EOF
	expect_stats "10 DNS terms"
	expect_refusal "more than 10 DNS-querying terms" twelve.spf.example
}

case_void_limit() {
	start_server "$ZONE"
	expect_networks twovoids.spf.example <<-EOF
		twovoids.spf.example 192.0.2.1/32
	EOF
	expect_stats "2 void lookups"
	expect_refusal "more than 2 void lookups" threevoids.spf.example
	expect_refusal "include txtonly.spf.example: no v=spf1 record" include-nospf.spf.example
	expect_refusal "target nx.spf.example: no such domain" nx.spf.example
}

case_two_records() {
	start_server "$ZONE"
	expect_refusal "tworecords.spf.example: more than one v=spf1 record" tworecords.spf.example
}

case_macros() {
	start_server "$ZONE"
	# exists:%{i}, include:%{d}, a:%{l} and ptr: only the ip4 term is left
	expect_networks macro.spf.example <<-EOF
		macro.spf.example 192.0.2.33/32
	EOF
	expect_stats "4 DNS terms, 0 void lookups, 2 macro terms skipped, 2 exists/ptr skipped"
}

case_names_and_split_records() {
	start_server "$ZONE"
	# a record in two strings is one; NAME= names the pool; a failed target leaves the others
	got=$("$SPF" --server 127.0.0.1 senders=spf:split.spf.example loopa.spf.example \
		redirect.spf.example 2>"$DIR/stderr") &&
		fail "a failed target did not make the exit 1"
	want="senders 192.0.2.0/28
senders 2001:db8:5::/64
redirect.spf.example 10.1.0.0/16
redirect.spf.example 192.0.2.10/32"
	[ "$got" = "$want" ] || fail "expected the two good targets' networks, got: $got"
	grep -qF "loopa.spf.example: include loop" "$DIR/stderr" ||
		fail "the failed target's error is missing"
	echo "ok: the good targets are printed in order beside a failed one"
	"$SPF" --server not-an-address split.spf.example >/dev/null 2>"$DIR/stderr" &&
		fail "a bad --server was taken"
	grep -qF "expected IP or IP@PORT" "$DIR/stderr" || fail "a bad --server is not explained"
	echo "ok: a bad --server is refused with the form it wants"
	# the pools file takes a network in one pool only: target's 10.1.0.0/16 stays redirect's
	expect_networks first=redirect.spf.example second=target.spf.example <<-EOF
		first 10.1.0.0/16
		first 192.0.2.10/32
	EOF
	grep -qF "10.1.0.0/16 is already in pool first" "$DIR/stderr" ||
		fail "the network left out is not named"
	"$SPF" --server 127.0.0.1 'two words=split.spf.example' >/dev/null 2>"$DIR/stderr" &&
		fail "a pool name the pools file refuses was taken"
	grep -qF "a pool name is 1 to 64 letters" "$DIR/stderr" || fail "a bad pool name is not explained"
	echo "ok: a pool name the pools file would refuse is refused first"
}

case_ttl() {
	start_server "$ZONE"
	echo "nested.spf.example 203.0.113.7/32" >"$DIR/want"
	"$SPF" -s 127.0.0.1 -v nested.spf.example 2>"$DIR/stderr" | grep -qxF -f "$DIR/want" ||
		fail "nested.spf.example lost a network"
	expect_stats "ttl 600 s (smallest seen 600 s)"
	expect_networks short.spf.example <<-EOF
		short.spf.example 192.0.2.99/32
	EOF
	expect_stats "ttl 300 s (smallest seen 60 s)"
	expect_networks --ttl-cap 1000 long.spf.example <<-EOF
		long.spf.example 192.0.2.98/32
	EOF
	expect_stats "ttl 1000 s (smallest seen 7200 s)"
	expect_networks --ttl-floor 900 nested.spf.example <<-EOF
		nested.spf.example 192.0.2.0/24
		nested.spf.example 198.51.100.0/25
		nested.spf.example 203.0.113.7/32
		nested.spf.example 2001:db8:1::/48
	EOF
	expect_stats "ttl 900 s (smallest seen 600 s)"
}

case_network_cap() {
	start_server "$ZONE"
	# 8 networks, all held by 10.0.0.0/16
	expect_networks big.spf.example <<-EOF
		big.spf.example 10.0.0.0/16
	EOF
	expect_refusal "more than 5 networks" --max-cidrs 5 big.spf.example
	# /1, /3 and a/4 would make a pool of a large part of the Internet: dropped, counted
	expect_networks wide.spf.example <<-EOF
		wide.spf.example 10.0.0.0/8
		wide.spf.example 192.0.2.5/32
		wide.spf.example 2001::/16
	EOF
	expect_stats "3 too wide dropped"
	# 1794 characters: truncated over UDP, read whole over TCP; 120 networks, in address order
	expect_networks large.spf.example <<-EOF
		$(for i in $(seq 0 119); do
			echo "large.spf.example 10.77.$((i / 100)).$((i % 100 + 1))/32"
		done)
	EOF
	expect_refusal "more than 100 networks" --max-cidrs 100 large.spf.example
}

case_server_gone() {
	start_server "$ZONE"
	stop_server
	expect_refusal "temporary error: no answer within 1500 ms" --timeout 1500 nested.spf.example
	# a server that takes the query and never answers
	python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
time.sleep(30)' &
	SERVER_PID=$!
	sleep 0.3
	expect_refusal "temporary error: no answer within 1000 ms" --timeout 1000 nested.spf.example
}

# the module's event-loop API through spf_refresh: the last good set outlives the server
case_refresh_keeps_last_good_set() {
	local out=$DIR/rounds
	start_server "$ZONE"
	mkfifo "$DIR/go"
	"$DRIVER" 127.0.0.1 refresh.spf.example 3 2000 <"$DIR/go" >"$out" 2>&1 &
	local driver=$!
	exec 3>"$DIR/go"
	wait_round() {
		for _ in $(seq 100); do
			grep -q "^round $1 max_call_us" "$out" && return 0
			sleep 0.05
		done
		cat "$out"
		fail "round $1 did not end"
	}
	wait_round 1
	stop_server
	# the records' TTL is 1 s; libunbound counts whole seconds: by 2.5 s its cache has let go
	sleep 2.5
	echo go >&3
	wait_round 2
	# the server comes back with another address for the target
	sed 's/192\.0\.2\.200/192.0.2.201/' "$ZONE" >"$DIR/zone-changed.conf"
	start_server "$DIR/zone-changed.conf"
	echo go >&3
	wait_round 3
	exec 3>&-
	wait "$driver" || fail "spf_refresh exited non-zero"
	cat "$out"
	want="round 1 status=ok networks=2 refresh_after=1 error=-
round 1 192.0.2.200/32
round 1 2001:db8:200::/48
round 2 status=temperror networks=2 refresh_after=1 error=no answer within 2000 ms (is the DNS server up?)
round 2 192.0.2.200/32
round 2 2001:db8:200::/48
round 3 status=ok networks=2 refresh_after=1 error=-
round 3 192.0.2.201/32
round 3 2001:db8:200::/48"
	[ "$(grep -v max_call_us "$out")" = "$want" ] ||
		fail "expected the set kept through the outage and replaced after it"
	# the module never holds the loop: each call returns within 100 ms, a query's worst case
	awk -F= '/max_call_us/ { if ($2 > 100000) bad = 1 } END { exit bad }' "$out" ||
		fail "a module call held the event loop for more than 100 ms"
	echo "ok: last good set kept through the outage, replaced after it"
}

# the tool's output is a pools file greywall takes: greywalld --check loads it, and the
# pools give the networks the zone implies (a stranger's address in none)
case_pools_file_loads() {
	local conf=$DIR/greywall.conf out
	start_server "$ZONE"
	"$SPF" --server 127.0.0.1 bigsender=nested.spf.example redirect.spf.example \
		>"$DIR/pools.txt" 2>"$DIR/stderr" || fail "greywall-spf failed"
	chmod 644 "$DIR/pools.txt"
	printf 'pools_path = %s\npolicy_listen =\nmetrics_listen =\n' "$DIR/pools.txt" >"$conf"
	out=$("$ROOT/$BUILD/greywalld" -c "$conf" --check 2>&1) ||
		fail "greywalld --check refused the tool's pools file: $out"
	echo "ok: greywalld --check takes the tool's pools file ($(wc -l <"$DIR/pools.txt") networks)"
	grep -qx 'bigsender 198.51.100.0/25' "$DIR/pools.txt" ||
		fail "the pool lacks 198.51.100.0/25: $(cat "$DIR/pools.txt")"
}

# greywalld resolves pools_spf through the zone and keys triplets by the pool: a retry
# after the delay from another /24 of the SPF pool passes at its policy server, one
# from outside the pool does not; with the DNS server gone, a reload keeps the pools
case_greywalld_keys_retries_by_spf_pool() {
	local conf=$DIR/greywall.conf log=$DIR/greywalld.log out
	start_server "$ZONE"
	cat >"$conf" <<-CONF
		delay = 2
		table_path = /dev/shm/greywall-spftest-$$-triplets
		awl_path = /dev/shm/greywall-spftest-$$-awl
		snapshot_path =
		control_socket = $DIR/greywalld.sock
		policy_listen = 127.0.0.1:10023
		metrics_listen =
		pools_spf = bigsender=spf:nested.spf.example
		spf_server = 127.0.0.1
	CONF
	"$ROOT/$BUILD/greywalld" -c "$conf" -f >"$log" 2>&1 &
	GREYWALLD_PID=$!
	trap 'kill $GREYWALLD_PID 2>/dev/null; wait $GREYWALLD_PID 2>/dev/null || true
		rm -f /dev/shm/greywall-spftest-$$-*; stop_server; rm -rf "$DIR"' EXIT
	for _ in $(seq 100); do
		"$ROOT/$BUILD/greyctl" -c "$conf" pools 2>/dev/null | grep -q '^pool	bigsender	4 networks' &&
			break
		sleep 0.1
	done
	out=$("$ROOT/$BUILD/greyctl" -c "$conf" pools) || fail "greyctl pools failed"
	grep -q '^pool	bigsender	4 networks' <<<"$out" || fail "no SPF pool in force: $out"
	grep -qE '^spf	bigsender	spf:nested.spf.example	4 networks	ok	' <<<"$out" ||
		fail "greyctl pools does not give the SPF target's state: $out"
	echo "ok: greyctl pools shows the SPF pool, its source and state"
	"$ROOT/$BUILD/greyctl" -c "$conf" pools 198.51.100.20 | grep -q 'pool bigsender' ||
		fail "greyctl pools ADDRESS does not name the pool"
	"$ROOT/$BUILD/greyctl" -c "$conf" pools 203.0.113.99 | grep -q 'in no pool' ||
		fail "greyctl pools ADDRESS puts an outsider in a pool"
	ask() { # CLIENT SENDER: the policy server's action
		python3 - "$1" "$2" <<-'PY'
			import socket, sys
			s = socket.create_connection(("127.0.0.1", 10023), timeout=2)
			s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\n"
			           "client_address=%s\nclient_name=unknown\nsender=%s\n"
			           "recipient=bob@rcpt.example\n\n" % (sys.argv[1], sys.argv[2])).encode())
			print(s.recv(4096).decode().split("\n")[0])
		PY
	}
	ask 192.0.2.10 a@big.example | grep -q DEFER || fail "the first attempt was not deferred"
	sleep 3
	ask 203.0.113.99 a@big.example | grep -q DEFER ||
		fail "a retry from outside the SPF pool passed"
	ask 198.51.100.20 a@big.example | grep -q DUNNO ||
		fail "the retry from the SPF pool's other network was deferred"
	echo "ok: the retry from another network of the SPF pool passes, an outsider's does not"
	stop_server
	"$ROOT/$BUILD/greyctl" -c "$conf" reload >/dev/null || fail "reload failed with DNS gone"
	ask 192.0.2.20 b@big.example | grep -q DEFER || fail "a new first attempt passed"
	sleep 3
	ask 198.51.100.30 b@big.example | grep -q DUNNO ||
		fail "with the DNS server gone, the SPF pool was lost at a reload"
	echo "ok: with the DNS server gone, a reload keeps the SPF pool"
}

[ $# = 1 ] && declare -F "case_$1" >/dev/null || { echo "usage: $0 CASE"; exit 2; }
"case_$1"
