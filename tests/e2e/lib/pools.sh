# SPDX-License-Identifier: BSD-2-Clause
# Sender pools end to end (issue 17), for either data path: real Postfix sends
# from 198.18.24.1, in pool "bigsender" with 198.18.25.0/24. Its first attempt
# is greylisted; a retry after the delay from 198.18.26.1 (in no pool) is
# greylisted again; the next retry, from 198.18.25.1 (the pool's other /24),
# is delivered by its first session. Postfix's source address is its
# smtp_bind_address, changed between attempts with a reload.

POOL_FIRST=198.18.24.1
POOL_OTHER=198.18.25.1
POOL_STRANGER=198.18.26.1

# pools_wire: the sender's extra addresses, the receiver's routes back to them,
# and the pools file; prints its path
pools_wire() {
	local a
	for a in $POOL_FIRST $POOL_OTHER $POOL_STRANGER; do
		ip -n "$TB_NS_SND" addr add "$a/24" dev snd0
		ip -n "$TB_NS_RCV" route add "${a%.1}.0/24" dev rcv0
	done
	printf '# a big sender: its outbound servers\nbigsender %s %s\n' \
		"${POOL_FIRST%.1}.0/24" "${POOL_OTHER%.1}.0/24" >"$TB_DIR/pools.txt"
	echo "$TB_DIR/pools.txt"
}

_pools_bind() { # ADDRESS: the sender's next sessions come from ADDRESS
	postconf -c "$TB_DIR/snd/etc" -e "smtp_bind_address = $1"
	ip netns exec "$TB_NS_SND" postfix -c "$TB_DIR/snd/etc" reload >/dev/null 2>&1
}

_pools_deferrals() {
	grep -cE 'to=<bob@receiver.example>.*status=deferred.*Greylisted' "$TB_DIR/snd/maillog" \
		2>/dev/null || true
}

# the receiver's session-end line for the first session from ADDRESS ("" if none yet)
_pools_first_session() {
	grep -E "disconnect from [^ ]*\\[$1\\]" "$TB_DIR/rcv/maillog" 2>/dev/null | head -1
}

_pools_hold() { postsuper -c "$TB_DIR/snd/etc" -h ALL >/dev/null 2>&1; }
_pools_release() {
	postsuper -c "$TB_DIR/snd/etc" -H ALL >/dev/null 2>&1
	ip netns exec "$TB_NS_SND" postqueue -c "$TB_DIR/snd/etc" -f
}

# _pools_wait_session ADDRESS: until a session from ADDRESS has ended at the receiver
_pools_wait_session() {
	local i
	for i in $(seq 150); do
		[ -n "$(_pools_first_session "$1")" ] && return 0
		sleep 0.2
	done
	return 1
}

# pools_scenario: run it against whichever data path the caller started. The
# queue is held between attempts, so each attempt comes from the address
# meant and when meant: the stranger's only after the pool's delay has run
# out, the pool's other network's right after the stranger's.
pools_scenario() {
	local line
	TB_SND_EXTRA="smtp_bind_address = $POOL_FIRST" tb_start_sender
	tb_send alice@sender.example bob@receiver.example
	tb_wait_log "$TB_DIR/snd/maillog" 'to=<bob@receiver.example>.*status=deferred.*Greylisted' 30 ||
		fail "the first attempt (from $POOL_FIRST) was not greylisted"
	_pools_hold
	grep -q "disconnect from [^ ]*\\[$POOL_FIRST\\]" "$TB_DIR/rcv/maillog" ||
		fail "the first attempt did not come from $POOL_FIRST"
	sleep $((TB_DELAY + 1))
	_pools_bind $POOL_STRANGER
	_pools_release
	_pools_wait_session $POOL_STRANGER || fail "no retry came from $POOL_STRANGER"
	_pools_hold
	line=$(_pools_first_session $POOL_STRANGER)
	grep -q 'rcpt=1 ' <<<"$line" &&
		fail "a retry from outside the pool got its RCPT through: $line"
	[ -z "$(tb_mailbox bob)" ] || fail "delivered before the pool's other network retried"
	_pools_bind $POOL_OTHER
	_pools_release
	tb_wait_mailbox bob 1 40 || fail "the retry from $POOL_OTHER was not delivered"
	line=$(_pools_first_session $POOL_OTHER)
	grep -q 'rcpt=1 data=1' <<<"$line" ||
		fail "the first session from the pool's other /24 was not the delivering one: $line"
	# in the data paths the receiver never sees a greylisted RCPT; as its policy
	# service (POOLS_IN_MTA=1), greywalld has the MTA answer it
	if [ -z "${POOLS_IN_MTA:-}" ] && grep -qE 'NOQUEUE: reject' "$TB_DIR/rcv/maillog"; then
		fail "the receiver rejected something itself"
	fi
	return 0
}
