#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywalld's admin surfaces, with greywalld dropped to user nobody after start-up
# (its snapshot directory made for that user): the control socket is 0660 and group greywall; root's
# greyctl reloads, snapshots and pings through it and hears a refused reload; an
# unprivileged caller gets a clear "permission denied" and changes nothing; the
# Prometheus page counts the policy verdicts it served. Runs in its own namespace.
set -eu
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
NS=$TB_NS_RCV
CONF=$TB_DIR/greywall.conf
MADE_GROUP=
if ! getent group greywall >/dev/null; then
	groupadd --system greywall
	MADE_GROUP=1
fi
drop_group() { [ -n "$MADE_GROUP" ] && groupdel greywall; tb_cleanup; }
trap drop_group EXIT
: >"$TB_DIR/whitelist"
cat >"$CONF" <<CONF
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
snapshot_path = $TB_DIR/state/triplets.snap
whitelist_path = $TB_DIR/whitelist
control_socket = $TB_DIR/run/greywalld.sock
policy_listen = 127.0.0.1:10023
metrics_listen = 127.0.0.1:9425
user = nobody
CONF
chmod 755 "$TB_DIR"
chmod 644 "$CONF" "$TB_DIR/whitelist"
ip netns exec "$NS" "$TB_ROOT/build/greywalld" -c "$CONF" -f >"$TB_DIR/greywalld.log" 2>&1 &
tb_wait_log "$TB_DIR/greywalld.log" 'policy server listening' 10 || fail "greywalld did not start"
ctl() { ip netns exec "$NS" "$TB_ROOT/build/greyctl" -c "$CONF" "$@"; }
pid=$(pgrep -f "greywalld -c $CONF" | head -1)
[ "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" = "65534 65534 65534 65534" ] ||
	fail "greywalld did not drop to nobody: $(grep -E '^(Uid|CapEff)' "/proc/$pid/status")"
[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" = 0000000000000000 ] ||
	fail "greywalld kept capabilities it does not need"
grep -q 'running as user nobody' "$TB_DIR/greywalld.log" || fail "the drop was not logged"
sock=$TB_DIR/run/greywalld.sock

[ -S "$sock" ] || fail "no control socket at $sock"
[ "$(stat -c '%a %G' "$sock")" = "660 greywall" ] ||
	fail "control socket is $(stat -c '%a %G' "$sock"), not 660 greywall"

ctl ping | grep -q 'greywalld' || fail "root's ping got no answer"
echo 'client 198.18.7.0/24' >"$TB_DIR/whitelist"
ctl reload | grep -q 'lists reloaded: 1 entries' || fail "reload over the socket did not report 1 entry"
ctl snapshot | grep -q "snapshot written to $TB_DIR/state/triplets.snap" || fail "snapshot not confirmed"
[ -s "$TB_DIR/state/triplets.snap" ] || fail "snapshot file missing"

# a bad list file: greywalld refuses, says why, keeps the old lists, greyctl exits 1
echo 'client not-an-address' >"$TB_DIR/whitelist"
if ctl reload 2>"$TB_DIR/bad.err"; then fail "a refused reload exited 0"; fi
grep -q 'whitelist:1' "$TB_DIR/bad.err" || fail "refused reload did not name file:line: $(cat "$TB_DIR/bad.err")"
echo 'client 198.18.7.0/24' >"$TB_DIR/whitelist"

# an unprivileged caller is told why, and nothing happens
reloads_before=$(grep -c 'lists reloaded' "$TB_DIR/greywalld.log")
set +e
ip netns exec "$NS" runuser -u nobody -- "$TB_ROOT/build/greyctl" -c "$CONF" reload \
	>"$TB_DIR/nobody.out" 2>"$TB_DIR/nobody.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "unprivileged reload exited $rc, not 1"
grep -q "permission denied on the control socket $sock" "$TB_DIR/nobody.err" ||
	fail "no clear permission error: $(cat "$TB_DIR/nobody.err")"
sleep 0.5
[ "$(grep -c 'lists reloaded' "$TB_DIR/greywalld.log")" = "$reloads_before" ] ||
	fail "an unprivileged caller made greywalld reload"

# unknown commands get an error line, not silence
answer=$(tb_control "$sock" frobnicate)
[[ "$answer" == "error: unknown command 'frobnicate'"* ]] || fail "unknown command answered: $answer"

# metrics: one deferred and one whitelisted request show up by verdict
ask() { tb_policy_ask "$NS" "$1" a@sender.example; } # client -> action line
[[ "$(ask 198.18.0.1)" == action=DEFER_IF_PERMIT* ]] || fail "first attempt not deferred"
[[ "$(ask 198.18.7.9)" == action=DUNNO* ]] || fail "whitelisted client not passed"
ip netns exec "$NS" python3 -c '
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9425/metrics", timeout=5).read().decode())' \
	>"$TB_DIR/metrics" || fail "GET /metrics failed"
grep -qx 'greywall_policy_verdicts_total{verdict="greylist"} 1' "$TB_DIR/metrics" || fail "greylist verdict not counted"
grep -qx 'greywall_policy_verdicts_total{verdict="pass_whitelist"} 1' "$TB_DIR/metrics" || fail "whitelist verdict not counted"
grep -qx 'greywall_policy_requests_total 2' "$TB_DIR/metrics" || fail "requests not counted"
grep -qx 'greywall_table_inserts_total{table="triplets"} 1' "$TB_DIR/metrics" || fail "table insert not counted"
grep -qx 'greywall_list_reload_failures_total 1' "$TB_DIR/metrics" || fail "refused reload not counted"
grep -q '^# TYPE greywall_policy_verdicts_total counter$' "$TB_DIR/metrics" || fail "no TYPE lines"
code=$(ip netns exec "$NS" python3 -c '
import urllib.request, urllib.error
try: urllib.request.urlopen("http://127.0.0.1:9425/nope", timeout=5)
except urllib.error.HTTPError as e: print(e.code)')
[ "$code" = 404 ] || fail "unknown path answered $code, not 404"
# a user that does not exist: greywalld refuses to start and says how to make it
# tables of its own: the running greywalld holds the lock on the test's tables
cat >"$TB_DIR/bad-user.conf" <<CONF
table_path = $TB_DIR/bad-user-triplets
awl_path = $TB_DIR/bad-user-awl
snapshot_path =
control_socket =
policy_listen =
metrics_listen =
user = gw-no-such-user
CONF
if ip netns exec "$NS" timeout 10 "$TB_ROOT/build/greywalld" -c "$TB_DIR/bad-user.conf" \
	>"$TB_DIR/bad-user.out" 2>&1; then fail "greywalld ran with a user that does not exist"; fi
grep -q "user 'gw-no-such-user' does not exist (create it: useradd --system" "$TB_DIR/bad-user.out" ||
	fail "unclear error for a missing user: $(cat "$TB_DIR/bad-user.out")"
echo "ok: runs as nobody; control socket 0660 greywall, unprivileged caller refused, metrics count verdicts; a missing user refused"
