#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greyctl reaches the greywall-dp its configuration names, and only that one. Two
# configurations on one host: A names the running greywall-dp's control socket, B
# names another. A decoy process called greywall-dp (a copy of sleep, which SIGHUP
# ends) stands for every other greywall-dp on the host. `greyctl -c B` must leave the
# decoy and A's greywall-dp alone; `greyctl -c A` is answered with the entry count,
# and with the reason when A's whitelist does not parse.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
: >"$TB_DIR/whitelist-a"
: >"$TB_DIR/whitelist-b"
for who in a b; do
	cat >"$TB_DIR/$who.conf" <<CONF
table_path = /dev/shm/greywall-$TB_ID-triplets
awl_path = /dev/shm/greywall-$TB_ID-awl
whitelist_path = $TB_DIR/whitelist-$who
snapshot_path =
control_socket = $TB_DIR/greywalld-$who.sock
policy_listen =
metrics_listen =
CONF
done
echo "dp_control_socket = $TB_DIR/greywall-dp.sock" >>"$TB_DIR/a.conf"
echo "dp_control_socket = $TB_DIR/greywall-dp-b.sock" >>"$TB_DIR/b.conf"
ctl() { "$TB_ROOT/build/greyctl" -c "$TB_DIR/$1.conf" "${@:2}"; }

tb_start_dp --whitelist "$TB_DIR/whitelist-a"
cp /bin/sleep "$TB_DIR/greywall-dp"
"$TB_DIR/greywall-dp" 600 &
decoy=$!
trap 'kill "$decoy" 2>/dev/null; tb_cleanup' EXIT
sleep 0.2
[ "$(cat "/proc/$decoy/comm")" = greywall-dp ] || fail "the decoy is not named greywall-dp"

ctl b whitelist add 'client 198.51.100.0/24' >"$TB_DIR/out-b" 2>&1 ||
	fail "greyctl -c B failed: $(cat "$TB_DIR/out-b")"
sleep 0.5
kill -0 "$decoy" 2>/dev/null || fail "greyctl -c B signalled a greywall-dp no configuration of it names"
! grep -q 'lists reloaded' "$TB_DIR/greywall-dp.log" ||
	fail "greyctl -c B made A's greywall-dp reload"
grep -q "no greywall-dp on $TB_DIR/greywall-dp-b.sock" "$TB_DIR/out-b" ||
	fail "greyctl -c B did not say its greywall-dp is not there: $(cat "$TB_DIR/out-b")"

out=$(ctl a whitelist add 'client 198.18.0.0/24') || fail "greyctl -c A failed: $out"
grep -qx 'greyctl: greywall-dp: lists reloaded: 1 entries' <<<"$out" ||
	fail "greyctl -c A was not told the entry count: $out"
tb_wait_log "$TB_DIR/greywall-dp.log" 'lists reloaded: 1 entries' 5 || fail "A did not reload"
kill -0 "$decoy" 2>/dev/null || fail "greyctl -c A signalled the decoy"
[ "$(ctl a --json reload)" = '{"reloaded": true, "greywall-dp": "lists reloaded: 1 entries"}' ] ||
	fail "json reload: $(ctl a --json reload)"

# a file the data path refuses: greyctl says why and fails; the old lists stay
echo 'client 198.18.0.0/33' >>"$TB_DIR/whitelist-a"
if ctl a reload >"$TB_DIR/out-a" 2>&1; then fail "a refused reload was reported as done"; fi
grep -q "greyctl: greywall-dp: error: .*(the old lists stay in force)" "$TB_DIR/out-a" ||
	fail "the refusal was not passed on: $(cat "$TB_DIR/out-a")"
tb_wait_log "$TB_DIR/greywall-dp.log" 'reload refused, keeping the current lists' 5 ||
	fail "greywall-dp did not log the refusal"
echo "ok: greyctl -c B reached neither A's greywall-dp nor the decoy; -c A got the count and the refusal"
