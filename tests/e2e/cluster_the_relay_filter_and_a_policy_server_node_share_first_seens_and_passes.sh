#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A cluster of two different data paths through a real Redis (issue 16): node A
# is the XDP/TC relay filter on a receiving Postfix's veth with greywalld on its
# maps, node B a greywalld policy server with a table of its own.
#  - real Postfix's first attempt is deferred by the filter at A (its 450 in the
#    flow); the same triplet asked at B after the delay passes at B: the filter's
#    verdict event reached B's table;
#  - a triplet that passed at B (asked, then retried after the delay) is
#    delivered through the filter at A at the first attempt: B's pass was merged
#    into the filter's map.
set -eu
TB_DELAY=4
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/cluster.sh" # cl_lock: the e2e lock, unless held already
cl_lock "$0" "$@"
SECRET=00112233445566778899aabbccddeeff
stop_all() {
	set +e
	pkill -TERM -xf "$TB_ROOT/build/greywalld -c $TB_DIR/b.conf -f -v"
	ip netns exec "$TB_NS_RCV" redis-cli shutdown nosave >/dev/null 2>&1
	sleep 0.3
	rm -f /dev/shm/greywall-"$TB_ID"-b-*
	tb_cleanup
}
tb_setup
trap stop_all EXIT
chmod 755 "$TB_DIR"
mkdir -p "$TB_DIR/redis"
chown redis: "$TB_DIR/redis"
ip netns exec "$TB_NS_RCV" ip link set lo up
ip netns exec "$TB_NS_RCV" runuser -u redis -- redis-server --bind 127.0.0.1 --port 6379 \
	--dir "$TB_DIR/redis" --appendonly yes --appendfsync always --save '' >"$TB_DIR/redis.log" 2>&1 &
for _ in $(seq 50); do ip netns exec "$TB_NS_RCV" redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
TB_BACKSTOP_EXTRA="cluster_redis = 127.0.0.1:6379
cluster_name = relay-e2e
cluster_node = a
cluster_secret = $SECRET"
tb_start_backstop || fail "node A (the relay filter and greywalld on its maps) did not start: $(tail -3 "$TB_DIR/greywalld.log")"
cat >"$TB_DIR/b.conf" <<CONF
delay = $TB_DELAY
table_path = /dev/shm/greywall-$TB_ID-b-triplets
awl_path = /dev/shm/greywall-$TB_ID-b-awl
snapshot_path =
policy_listen = 127.0.0.1:10024
metrics_listen =
control_socket = $TB_DIR/b.sock
cluster_redis = 127.0.0.1:6379
cluster_name = relay-e2e
cluster_node = b
cluster_secret = $SECRET
CONF
ip netns exec "$TB_NS_RCV" "$TB_ROOT/build/greywalld" -c "$TB_DIR/b.conf" -f -v >"$TB_DIR/b.log" 2>&1 &
tb_wait_log "$TB_DIR/b.log" 'policy server listening' 10 || fail "node B did not start"
askb() { # sender rcpt: node B's action
	echo "$TB_SND4 $1 $2" | ip netns exec "$TB_NS_RCV" python3 "$TB_ROOT/tests/e2e/lib/policy_ask.py" 127.0.0.1:10024
}
tb_start_receiver
tb_start_sender

# 1. the filter's first seen at A lets the retry pass at B
tb_send alice@sender.example bob@receiver.example
tb_wait_log "$TB_DIR/snd/maillog" 'to=<bob@receiver.example>.*status=deferred.*450 4.7.1' 30 ||
	fail "the filter at A did not defer the first attempt"
sleep $((TB_DELAY + 1))
got=$(askb alice@sender.example bob@receiver.example)
[ "$got" = DUNNO ] || fail "B did not pass the triplet first seen by the filter at A: $got"
echo "ok: first seen by the relay filter at A, passed at B after the delay"

# 2. a pass at B is honoured by the filter at A at the first attempt
[[ $(askb alice@sender.example carol@receiver.example) == DEFER_IF_PERMIT* ]] ||
	fail "B did not greylist carol's first attempt"
sleep $((TB_DELAY + 1))
[ "$(askb alice@sender.example carol@receiver.example)" = DUNNO ] || fail "B did not pass carol's retry"
sleep 1
tb_send alice@sender.example carol@receiver.example
tb_wait_mailbox carol 1 20 || fail "carol's mail was not delivered through the filter"
! grep -q 'to=<carol@receiver.example>.*status=deferred' "$TB_DIR/snd/maillog" ||
	fail "the filter at A deferred a triplet that passed at B: $(grep 'carol.*deferred' "$TB_DIR/snd/maillog")"
echo "ok: passed at B, delivered through the relay filter at A at the first attempt"
