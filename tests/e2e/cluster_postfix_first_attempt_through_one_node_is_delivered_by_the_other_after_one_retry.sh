#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Real Postfix -> real Postfix, two greywalld nodes sharing through a real Redis
# (issue 16): the receiver asks node A (check_policy_service) at the first
# attempt and node B at the retry, as two MX relays or two ECMP paths would.
# The first attempt is deferred by A; the sender's queue is held past the delay
# and the receiver switched to B; the one retry is delivered, and B never
# greylisted it (it knew the first seen from A).
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
. "$(dirname "$0")/lib/cluster.sh" # cl_lock: the e2e lock, unless held already
cl_lock "$0" "$@"
tb_setup
tb_bridge
chmod 755 "$TB_DIR"
REDIS_PID=
stop_all() {
	set +e
	pkill -TERM -xf "$TB_ROOT/build/greywalld -c $TB_DIR/a.conf -f -v"
	pkill -TERM -xf "$TB_ROOT/build/greywalld -c $TB_DIR/b.conf -f -v"
	[ -n "$REDIS_PID" ] && ip netns exec "$TB_NS_RCV" redis-cli shutdown nosave >/dev/null 2>&1
	sleep 0.5
	rm -f /dev/shm/greywall-"$TB_ID"-[ab]-*
	tb_cleanup
}
trap stop_all EXIT
mkdir -p "$TB_DIR/redis"
chown redis: "$TB_DIR/redis"
ip netns exec "$TB_NS_RCV" runuser -u redis -- redis-server --bind 127.0.0.1 --port 6379 \
	--dir "$TB_DIR/redis" --appendonly yes --appendfsync always --save '' >"$TB_DIR/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 50); do ip netns exec "$TB_NS_RCV" redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
for n in a b; do
	port=$([ $n = a ] && echo 10023 || echo 10024)
	cat >"$TB_DIR/$n.conf" <<CONF
delay = 5
table_path = /dev/shm/greywall-$TB_ID-$n-triplets
awl_path = /dev/shm/greywall-$TB_ID-$n-awl
snapshot_path =
policy_listen = 127.0.0.1:$port
metrics_listen =
control_socket = $TB_DIR/$n.sock
cluster_redis = 127.0.0.1:6379
cluster_name = postfix-e2e
cluster_node = $n
cluster_secret = 00112233445566778899aabbccddeeff
CONF
	ip netns exec "$TB_NS_RCV" "$TB_ROOT/build/greywalld" -c "$TB_DIR/$n.conf" -f -v \
		>"$TB_DIR/$n.log" 2>&1 &
	tb_wait_log "$TB_DIR/$n.log" 'policy server listening' 10 || fail "greywalld $n did not start"
done
TB_RCV_EXTRA="smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service inet:127.0.0.1:10023"
tb_start_receiver
tb_start_sender
tb_send alice@sender.example frank@receiver.example
tb_wait_log "$TB_DIR/snd/maillog" \
	'to=<frank@receiver.example>.*status=deferred.*450 4.7.1 <frank@receiver.example>: Recipient address rejected: Greylisted' 30 ||
	fail "node A did not defer the first attempt"
grep -q 'action=greylist, reason=new, .*recipient=frank@receiver.example' "$TB_DIR/a.log" ||
	fail "node A logged no deferral"
# one retry, through B, after the delay
postsuper -c "$TB_DIR/snd/etc" -h ALL >/dev/null 2>&1
sed -i 's/inet:127.0.0.1:10023/inet:127.0.0.1:10024/' "$TB_DIR/rcv/etc/main.cf"
ip netns exec "$TB_NS_RCV" postfix -c "$TB_DIR/rcv/etc" reload >/dev/null 2>&1
sleep 6
postsuper -c "$TB_DIR/snd/etc" -H ALL >/dev/null 2>&1
postqueue -c "$TB_DIR/snd/etc" -f
tb_wait_mailbox frank 1 30 || fail "the retry through node B was not delivered: $(tail -3 "$TB_DIR/b.log")"
! grep -q 'action=greylist' "$TB_DIR/b.log" ||
	fail "node B greylisted the retry: $(grep 'action=greylist' "$TB_DIR/b.log")"
grep -q 'action=pass, reason=triplet found, .*recipient=frank@receiver.example' "$TB_DIR/b.log" ||
	fail "node B did not judge the retry: $(tail -3 "$TB_DIR/b.log")"
[ "$(grep -c 'to=<frank@receiver.example>.*status=deferred' "$TB_DIR/snd/maillog")" = 1 ] ||
	fail "the mail took more than one retry"
echo "ok: first attempt deferred by node A, the one retry through node B delivered"
