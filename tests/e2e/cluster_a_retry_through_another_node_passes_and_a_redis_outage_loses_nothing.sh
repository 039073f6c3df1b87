#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Two greywalld nodes with their own tables judge as one through a real Redis
# (issue 16), driven as Postfix drives a policy server:
#  - a sender's first attempt at node A, its retry after the delay at node B:
#    the retry passes at B;
#  - the pass at B auto-whitelists its client network at A too (awl_clients = 1);
#  - a pass at A reads as passed in B's table within a second;
#  - Redis is killed (SIGKILL) in the middle of traffic at A and started again:
#    every triplet A saw, before, during and after the outage, reaches B's table;
#  - a wrong Redis password is named (and not quoted); a node with another
#    cluster_secret is refused by Redis's check value, and says why; a table
#    made with another secret is refused at start.
# Prints the figures: pass propagation (A to B) and catch-up after the outage.
set -eu
. "$(dirname "$0")/lib/cluster.sh"
cl_lock "$0" "$@"
CL_REDIS_PASS=e2e-redis-pass
cl_setup
PA=10031 PB=10032
CLUSTER="cluster_redis = 127.0.0.1:6379
cluster_redis_password = $CL_REDIS_PASS
cluster_name = e2e
cluster_secret = $CL_SECRET
awl_clients = 1"

cl_start_redis
cl_start_node a $PA "$CLUSTER
cluster_node = a"
cl_start_node b $PB "$CLUSTER
cluster_node = b"
cl_wait_for 5 sh -c "[ \"\$($CL_ROOT/build/greyctl -c $CL_DIR/b.conf stats 2>/dev/null | awk '\$1 == \"greywall_cluster_connected\" { print \$2 }')\" = 1 ]" ||
	cl_fail "node b never reported itself connected to Redis"

# 1. first attempt at A, retry after the delay (2 s) at B
[[ $(cl_ask $PA 198.51.100.7 first@sender.example) == DEFER_IF_PERMIT* ]] ||
	cl_fail "A did not greylist a first attempt"
sleep 2.3
got=$(cl_ask $PB 198.51.100.7 first@sender.example)
[ "$got" = DUNNO ] || cl_fail "the retry after the delay at B was not passed: $got"
echo "ok: first attempt at A, retry at B after the delay passes at B"

# the pass at B credited its client network's auto-whitelist entry (awl_clients = 1): A has it
awl_at_a() { [ "$(cl_ask $PA 198.51.100.50 other@elsewhere.example)" = DUNNO ]; }
cl_wait_for 1 awl_at_a || cl_fail "B's auto-whitelisted network was not honoured at A"
echo "ok: a network auto-whitelisted at B is honoured at A"

# 2. a pass at A is honoured by B's table within a second
[[ $(cl_ask $PA 203.0.113.8 second@sender.example) == DEFER_IF_PERMIT* ]] ||
	cl_fail "A did not greylist the second sender"
sleep 2.3
fp=$(cl_ctl a triplets list | awk '/second@sender.example/ { print $1; exit }')
[ -n "$fp" ] || cl_fail "A's table has no second@sender.example"
start=$(date +%s%N)
[ "$(cl_ask $PA 203.0.113.8 second@sender.example)" = DUNNO ] || cl_fail "A did not pass the retry"
passed_at_b() { cl_ctl b triplets show "$fp" | grep -q passed; }
cl_wait_for 1 passed_at_b || cl_fail "B's table did not read passed within a second: $(cl_ctl b triplets show "$fp")"
echo "figure: a pass at A read as passed in B's table after $((($(date +%s%N) - start) / 1000000)) ms (greyctl polling included)"
echo "figure: B's own lag for that batch, verdict drained at A to merged at B: $(cl_stat b greywall_cluster_lag_seconds) s"

# 3. Redis killed during traffic at A, then started again: B catches up, nothing lost
traffic() { # first last [pace]
	# distinct recipients: digits in a sender's local part fold (VERP), a /24 is one client
	for i in $(seq "$1" "$2"); do echo "192.0.2.9 bulk@sender.example r$i@receiver.example"; done |
		cl_in python3 "$CL_ROOT/tests/e2e/lib/policy_ask.py" 127.0.0.1:$PA ${3:-} >"$CL_DIR/traffic.out"
	# every request answered, while Redis was down too: the data path does not wait on it
	[ "$(grep -c . "$CL_DIR/traffic.out")" = $(($2 - $1 + 1)) ] || cl_fail "A left requests unanswered"
}
traffic 1 600 0.004 & # about 2.4 s of traffic, Redis killed in the middle of it
sleep 1
cl_kill_redis
wait $! || cl_fail "the traffic during the outage failed"
out_down=$(cl_stat a greywall_cluster_queued)
[ "${out_down:-0}" -gt 0 ] || cl_fail "A queued nothing while Redis was down"
echo "figure: A held $out_down entries for Redis while it was down"
connected=$(cl_stat a greywall_cluster_connected)
[ "$connected" = 0 ] || cl_fail "A says it is connected while Redis is down"
cl_ctl a stats | grep -q 'last_error="[^"]' || cl_fail "A's stats name no error while Redis is down"
sleep 1
cl_start_redis
restart=$(date +%s%N)
traffic 601 900
want=$(cl_ctl a triplets list | awk '/bulk@sender.example/ { print $1 }' | sort -u)
[ "$(echo "$want" | wc -l)" = 900 ] || cl_fail "A's table holds $(echo "$want" | wc -l) of the 900 bulk triplets"
all_at_b() {
	cl_ctl b triplets list --limit 100000 | awk '{ print $1 }' | sort -u >"$CL_DIR/b.fps"
	[ -z "$(comm -23 <(echo "$want") "$CL_DIR/b.fps")" ]
}
cl_wait_for 20 all_at_b || cl_fail "B lacks $(comm -23 <(echo "$want") "$CL_DIR/b.fps" | wc -l) of A's 900 triplets after Redis came back"
echo "figure: B held all 900 triplets $((($(date +%s%N) - restart) / 1000000)) ms after Redis restarted"
[ "$(cl_stat a greywall_cluster_dropped_total)" = 0 ] || cl_fail "A dropped events"
echo "ok: Redis killed during traffic and restarted: B caught up with nothing lost"

# 4. a wrong Redis password is named; a node with another secret is refused by the check
# value, and told why
cl_start_node d 10034 "cluster_redis = 127.0.0.1:6379
cluster_redis_password = not-it
cluster_node = d
cluster_secret = $CL_SECRET"
cl_wait_for 5 grep -q 'Redis refused AUTH' "$CL_DIR/d.log" || cl_fail "a wrong Redis password was not named"
! grep -q 'not-it' "$CL_DIR/d.log" || cl_fail "the log quotes the password"
cl_stop_node d
cl_start_node c 10033 "cluster_redis = 127.0.0.1:6379
cluster_redis_password = $CL_REDIS_PASS
cluster_name = e2e
cluster_node = c
cluster_secret = ffeeddccbbaa99887766554433221100"
cl_wait_for 5 grep -q 'cluster_secret differs' "$CL_DIR/c.log" ||
	cl_fail "a node with another secret was not told why it cannot sync"
[ "$(cl_stat c greywall_cluster_events_in_total)" = 0 ] || cl_fail "a node with another secret merged events"
cl_stop_node c
sed -i 's/^cluster_secret = .*/cluster_secret = 0123456789abcdef0123456789abcdef/' "$CL_DIR/c.conf"
if cl_in "$CL_ROOT/build/greywalld" -c "$CL_DIR/c.conf" -f >"$CL_DIR/c2.out" 2>&1; then
	cl_fail "greywalld started on a table made with another secret"
fi
grep -q 'made with another secret than cluster_secret' "$CL_DIR/c2.out" ||
	cl_fail "the refusal does not say why: $(cat "$CL_DIR/c2.out")"
echo "ok: another secret is refused, with the reason"
