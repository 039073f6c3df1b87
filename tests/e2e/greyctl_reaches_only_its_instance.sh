#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greyctl reaches the greywall-dp and greywalld its configuration names, and only
# those. Two configurations on one host: A names the running greywall-dp's and
# greywalld's control sockets, B names others. A decoy process called greywall-dp (a
# copy of sleep, which SIGHUP ends) stands for every other greywall-dp on the host.
# `greyctl -c B` must leave the decoy and A's daemons alone; `greyctl -c A` is
# answered with the entry count, and with the reason when A's whitelist does not
# parse. A configuration without a greywalld socket signals the greywalld holding its
# table's lock, and no other.
set -eu
TB_DELAY=300
. "$(dirname "$0")/lib/testbed.sh"
. "$(dirname "$0")/lib/assert.sh"
tb_setup
: >"$TB_DIR/whitelist-a"
: >"$TB_DIR/whitelist-b"
for who in a b; do
	tables=/dev/shm/greywall-$TB_ID
	[ $who = a ] || tables=/dev/shm/greywall-$TB_ID-$who # never made: nothing runs on B
	cat >"$TB_DIR/$who.conf" <<CONF
table_path = $tables-triplets
awl_path = $tables-awl
capacity = 65536
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
tb_start_greywalld "$TB_DIR/a.conf" "$TB_DIR/greywalld.log" "control socket" ||
	fail "greywalld on A did not start"
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
! grep -q 'lists reloaded' "$TB_DIR/greywalld.log" || fail "greyctl -c B made A's greywalld reload"
grep -q "no greywall-dp on $TB_DIR/greywall-dp-b.sock" "$TB_DIR/out-b" ||
	fail "greyctl -c B did not say its greywall-dp is not there: $(cat "$TB_DIR/out-b")"

out=$(ctl a whitelist add 'client 198.18.0.0/24') || fail "greyctl -c A failed: $out"
grep -qx 'greyctl: greywall-dp: lists reloaded: 1 entries' <<<"$out" ||
	fail "greyctl -c A was not told the entry count: $out"
grep -qx 'greyctl: greywalld: lists reloaded: 1 entries' <<<"$out" ||
	fail "greyctl -c A was not told greywalld's entry count: $out"
tb_wait_log "$TB_DIR/greywall-dp.log" 'lists reloaded: 1 entries' 5 || fail "A did not reload"
kill -0 "$decoy" 2>/dev/null || fail "greyctl -c A signalled the decoy"
[ "$(ctl a --json reload)" = '{"reloaded": true, "greywalld": "lists reloaded: 1 entries", "greywall-dp": "lists reloaded: 1 entries"}' ] ||
	fail "json reload: $(ctl a --json reload)"

# no greywalld socket in the configuration: the greywalld holding its table is signalled
sed -e '/^control_socket/d' -e '/^dp_control_socket/d' "$TB_DIR/a.conf" >"$TB_DIR/c.conf"
printf 'control_socket =\ndp_control_socket =\n' >>"$TB_DIR/c.conf"
cp "$TB_DIR/greywalld.log" "$TB_DIR/greywalld.log.before"
out=$(ctl c reload) || fail "greyctl -c C failed: $out"
grep -qx "greyctl: greywalld (pid $TB_DAEMON_PID, holding /dev/shm/greywall-$TB_ID-triplets) told to reload" <<<"$out" ||
	fail "greyctl -c C did not signal the greywalld holding the table: $out"
sleep 1.5 # the loop takes SIGHUP's flag within a second
[ "$(grep -c 'lists reloaded: 1 entries' "$TB_DIR/greywalld.log")" -gt \
	"$(grep -c 'lists reloaded: 1 entries' "$TB_DIR/greywalld.log.before")" ] ||
	fail "greywalld did not reload on SIGHUP: $(tail -3 "$TB_DIR/greywalld.log")"
kill -0 "$decoy" 2>/dev/null || fail "greyctl -c C signalled the decoy"

# a file the data path refuses: greyctl says why and fails; the old lists stay
echo 'client 198.18.0.0/33' >>"$TB_DIR/whitelist-a"
if ctl a reload >"$TB_DIR/out-a" 2>&1; then fail "a refused reload was reported as done"; fi
grep -q "greyctl: greywall-dp: error: .*(the old lists stay in force)" "$TB_DIR/out-a" ||
	fail "the refusal was not passed on: $(cat "$TB_DIR/out-a")"
tb_wait_log "$TB_DIR/greywall-dp.log" 'reload refused, keeping the current lists' 5 ||
	fail "greywall-dp did not log the refusal"
ctl a --json reload 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d["reloaded"] is False and d["greywall-dp"].startswith("error: "), d' ||
	fail "the refusal is not one JSON document: $(ctl a --json reload 2>&1)"
echo "ok: greyctl -c B reached neither A's daemons nor the decoy; -c A got the counts and the refusal; -c C signalled only the greywalld holding its table"
