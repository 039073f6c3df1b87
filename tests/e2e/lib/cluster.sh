#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the scale-out tests: one network namespace of the test's own
# (loopback only), a real redis-server and a real PostgreSQL in it with their
# data under the test's temp dir, run as their own users, and greywalld nodes
# that answer the Postfix policy protocol. Source it, call cl_setup; cl_cleanup
# runs on exit and leaves nothing behind.

# CL_ROOT may name another build, e.g. one with sanitizers
CL_ROOT=${CL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
CL_ID=gwcl$$
CL_NS=$CL_ID
CL_DIR=
CL_REDIS_PID=
CL_PG_BIN=/usr/lib/postgresql/15/bin
CL_SECRET=00112233445566778899aabbccddeeff
declare -A CL_NODE_PID

# Namespaces and ports are shared with the other e2e tests: take their lock,
# unless we run under it already (flock /tmp/gw-e2e.lock SCRIPT, or a whole
# run.sh under it): a second flock of the file from under its holder would wait
# forever.
cl_under_lock() {
	local pid=$PPID
	while [ "$pid" -gt 1 ] 2>/dev/null; do
		if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = flock ] &&
			tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q /tmp/gw-e2e.lock; then
			return 0
		fi
		pid=$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
	done
	return 1
}
cl_lock() { # "$0" "$@"
	if [ -z "${GW_E2E_LOCKED:-}" ] && ! cl_under_lock; then
		exec env GW_E2E_LOCKED=1 flock /tmp/gw-e2e.lock "$@"
	fi
}

cl_fail() {
	set +e
	echo "FAIL: $*" >&2
	for f in "$CL_DIR"/*.log; do
		[ -f "$f" ] || continue
		echo "--- $(basename "$f")" >&2
		tail -25 "$f" >&2
	done
	exit 1
}

cl_in() { ip netns exec "$CL_NS" "$@"; }

cl_cleanup() {
	set +e
	local n
	for n in "${!CL_NODE_PID[@]}"; do cl_stop_node "$n"; done
	cl_stop_redis
	cl_stop_pg
	for pid in $(ip netns pids "$CL_NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	ip netns del "$CL_NS" 2>/dev/null
	rm -f /dev/shm/greywall-"$CL_ID"-*
	[ -n "$CL_DIR" ] && [ -z "${CL_KEEP:-}" ] && rm -rf "$CL_DIR"
	return 0
}

cl_setup() {
	[ "$(id -u)" = 0 ] || { echo "needs root (a network namespace)" >&2; exit 77; }
	[ -x "$CL_ROOT/build/greywalld" ] || { echo "build first: make" >&2; exit 1; }
	trap cl_cleanup EXIT
	trap 'exit 130' INT TERM
	CL_DIR=$(mktemp -d /tmp/greywall-cluster.XXXXXX)
	chmod 755 "$CL_DIR" # redis and postgres reach their data dirs through it
	ip netns add "$CL_NS"
	cl_in ip link set lo up
}

# cl_wait_for SECONDS COMMAND...: until COMMAND succeeds; 1 if it never does.
cl_wait_for() {
	local until=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$until" ] || return 1
		sleep 0.05
	done
}

# CL_REDIS_PASS set: Redis requires it (requirepass), as a cluster's Redis should.
CL_REDIS_PASS=${CL_REDIS_PASS:-}
cl_redis_cli() { cl_in env REDISCLI_AUTH="$CL_REDIS_PASS" redis-cli -p 6379 "$@"; }

# Redis with an append-only file synced at every write: a killed Redis loses
# nothing it acknowledged, which is how a cluster's Redis should run.
cl_start_redis() {
	mkdir -p "$CL_DIR/redis"
	chown redis: "$CL_DIR/redis"
	cl_in runuser -u redis -- redis-server --bind 127.0.0.1 --port 6379 --dir "$CL_DIR/redis" \
		--appendonly yes --appendfsync always --save '' --protected-mode no \
		${CL_REDIS_PASS:+--requirepass "$CL_REDIS_PASS"} >>"$CL_DIR/redis.log" 2>&1 &
	CL_REDIS_PID=$!
	cl_wait_for 10 cl_redis_cli ping || cl_fail "redis-server did not start"
}

cl_kill_redis() {
	# SIGKILL to redis-server itself (under ip netns exec and runuser): no chance to flush
	local pid
	[ -n "$CL_REDIS_PID" ] || return 0
	pid=$(cl_redis_cli info server | awk -F: '/^process_id:/ { print $2 }' | tr -d '\r')
	[ -n "$pid" ] && kill -9 "$pid"
	wait "$CL_REDIS_PID" 2>/dev/null || true
	CL_REDIS_PID=
}

cl_stop_redis() {
	[ -n "$CL_REDIS_PID" ] || return 0
	cl_redis_cli shutdown nosave >/dev/null 2>&1
	wait "$CL_REDIS_PID" 2>/dev/null || true
	CL_REDIS_PID=
}

cl_psql() { cl_in runuser -u postgres -- psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 "$@"; }

cl_start_pg() {
	if [ ! -d "$CL_DIR/pg" ]; then
		mkdir -p "$CL_DIR/pg" "$CL_DIR/pgsock"
		chown postgres: "$CL_DIR/pg" "$CL_DIR/pgsock"
		cl_in runuser -u postgres -- "$CL_PG_BIN/initdb" -D "$CL_DIR/pg" -A trust -U postgres \
			>>"$CL_DIR/pg.log" 2>&1 || cl_fail "initdb failed"
	fi
	touch "$CL_DIR/pg.log"
	chown postgres: "$CL_DIR/pg.log"
	cl_in runuser -u postgres -- "$CL_PG_BIN/pg_ctl" -D "$CL_DIR/pg" -l "$CL_DIR/pg.log" -w \
		-o "-c listen_addresses=127.0.0.1 -p 5432 -k $CL_DIR/pgsock" start >/dev/null ||
		cl_fail "PostgreSQL did not start"
}

cl_stop_pg() {
	[ -f "$CL_DIR/pg/postmaster.pid" ] || return 0
	cl_in runuser -u postgres -- "$CL_PG_BIN/pg_ctl" -D "$CL_DIR/pg" -m fast -w stop >/dev/null 2>&1
}

# cl_start_node NAME PORT [EXTRA CONFIG LINES]: greywalld NAME, policy server on 127.0.0.1:PORT.
cl_start_node() {
	local name=$1 port=$2 conf=$CL_DIR/$1.conf
	: >"$CL_DIR/whitelist"
	cat >"$conf" <<CONF
table_path = /dev/shm/greywall-$CL_ID-$name-triplets
awl_path = /dev/shm/greywall-$CL_ID-$name-awl
snapshot_path =
whitelist_path = $CL_DIR/whitelist
control_socket = $CL_DIR/$name.sock
policy_listen = 127.0.0.1:$port
metrics_listen =
delay = 2
${3:-}
CONF
	cl_in "$CL_ROOT/build/greywalld" -c "$conf" -f >>"$CL_DIR/$name.log" 2>&1 &
	CL_NODE_PID[$name]=$!
	cl_wait_for 10 grep -q 'policy server listening' "$CL_DIR/$name.log" ||
		cl_fail "greywalld $name did not start"
}

cl_stop_node() {
	local pid=${CL_NODE_PID[$1]:-}
	[ -n "$pid" ] || return 0
	# SIGTERM to greywalld itself, not to the ip netns exec that waits for it
	pkill -TERM -xf "$CL_ROOT/build/greywalld -c $CL_DIR/$1.conf -f" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	unset "CL_NODE_PID[$1]"
}

# cl_ask PORT CLIENT SENDER [RCPT]: the node's action for one RCPT.
cl_ask() {
	echo "$2 $3 ${4:-bob@receiver.example}" | cl_in python3 "$CL_ROOT/tests/e2e/lib/policy_ask.py" "127.0.0.1:$1"
}

cl_ctl() { "$CL_ROOT/build/greyctl" -c "$CL_DIR/$1.conf" "${@:2}"; }

# cl_stat NAME METRIC: one figure from the node's stats.
cl_stat() {
	cl_ctl "$1" stats 2>/dev/null | awk -v m="$2" '$1 == m { print $2 }'
}
