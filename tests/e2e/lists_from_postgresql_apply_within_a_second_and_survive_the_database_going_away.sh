#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greywalld takes its lists from a real PostgreSQL (issue 16), with the schema
# shipped in control/greywall_lists.sql, and answers Postfix from them:
#  - a row there before start is in force from the first request (initial read);
#  - a row inserted while it runs is honoured within a second (the trigger's NOTIFY),
#    and published for greywall-dp (published_lists);
#  - a bad row refuses that read, names the row, and the lists in force stay;
#  - a row added behind the trigger's back arrives with the periodic full read;
#  - PostgreSQL stopped: the last good lists stay in force, through a reload too,
#    and the stats say the database is away; started again, new rows arrive.
# Prints the figure: insert to honoured.
set -eu
. "$(dirname "$0")/lib/cluster.sh"
cl_lock "$0" "$@"
cl_setup
P=10041
cl_start_pg
cl_psql -f "$CL_ROOT/control/greywall_lists.sql" >/dev/null || cl_fail "the shipped schema does not load"
cl_psql -c "INSERT INTO greywall_lists (list, kind, value, comment) VALUES ('white', 'client', '203.0.113.0/24', 'partner relay')"
cl_start_node a $P "lists_pg = host=127.0.0.1 port=5432 user=postgres dbname=postgres
lists_pg_resync = 10
published_lists = $CL_DIR/published.txt"
ask() { cl_ask $P "$@"; }

# initial read
[ "$(ask 203.0.113.5 x@any.example)" = DUNNO ] || cl_fail "a row there before start was not in force"
[[ $(ask 198.51.100.20 x@any.example) == DEFER_IF_PERMIT* ]] || cl_fail "an unlisted client was not greylisted"
echo "ok: the initial read is in force from the first request"

# NOTIFY: a whitelisted sender domain, within a second
start=$(date +%s%N)
cl_psql -c "INSERT INTO greywall_lists (list, kind, value) VALUES ('white', 'sender', '@newcorp.example')"
white_now() { [ "$(ask 198.51.100.21 ceo@newcorp.example)" = DUNNO ]; }
cl_wait_for 1 white_now || cl_fail "an inserted whitelist row was not honoured within a second"
echo "figure: insert to honoured by the policy server in $((($(date +%s%N) - start) / 1000000)) ms"
cl_psql -c "INSERT INTO greywall_lists (list, kind, value) VALUES ('black', 'recipient', 'trap@receiver.example')"
black_now() { [[ $(ask 198.51.100.22 x@any.example trap@receiver.example) == "550 5.7.1"* ]]; }
cl_wait_for 1 black_now || cl_fail "an inserted blacklist row was not honoured within a second"
echo "ok: inserted rows are honoured within a second"
# greywall-dp's copy: what greywalld adds to the files, in published_lists
published() { grep -qx "black recipient trap@receiver.example" "$CL_DIR/published.txt" &&
	grep -qx "white sender @newcorp.example" "$CL_DIR/published.txt"; }
cl_wait_for 1 published || cl_fail "the rows were not published for greywall-dp: $(cat "$CL_DIR/published.txt" 2>&1)"
echo "ok: the rows in force are published for greywall-dp"

# a bad row: refused by name, the lists in force stay
cl_psql -c "INSERT INTO greywall_lists (list, kind, value) VALUES ('white', 'client', 'not-an-address')"
cl_wait_for 2 grep -q 'greywall_lists row id [0-9]*: client: not an IPv4' "$CL_DIR/a.log" ||
	cl_fail "a bad row was not refused by its id"
[ "$(ask 203.0.113.6 y@any.example)" = DUNNO ] || cl_fail "a bad row dropped the lists in force"
cl_psql -c "DELETE FROM greywall_lists WHERE value = 'not-an-address'"
# a value with a newline would publish a line greywall-dp cannot read: the shipped
# schema refuses it, and greywalld refuses it by id in a table without that check
cl_psql -c "INSERT INTO greywall_lists (list, kind, value) VALUES ('white', 'sender', E'\\nx@evil.example')" \
	2>/dev/null && cl_fail "the shipped schema took a value with a newline"
cl_psql -c "ALTER TABLE greywall_lists DROP CONSTRAINT greywall_lists_value_check"
cl_psql -c "INSERT INTO greywall_lists (list, kind, value) VALUES ('white', 'sender', E'\\nx@evil.example')"
cl_wait_for 2 grep -q 'greywall_lists row id [0-9]*: the value must be one word' "$CL_DIR/a.log" ||
	cl_fail "a row with a newline in its value was not refused by its id"
grep -q 'evil' "$CL_DIR/published.txt" && cl_fail "a row with a newline was published"
cl_psql -c "DELETE FROM greywall_lists WHERE value LIKE '%evil.example'"
echo "ok: a bad row is refused by its id and the lists in force stay"

# the periodic full read catches a change the trigger did not announce
cl_psql -c "ALTER TABLE greywall_lists DISABLE TRIGGER greywall_lists_changed;
	INSERT INTO greywall_lists (list, kind, value) VALUES ('white', 'client', '192.0.2.0/24');
	ALTER TABLE greywall_lists ENABLE TRIGGER greywall_lists_changed"
sleep 1
[[ $(ask 192.0.2.9 z@any.example) == DEFER_IF_PERMIT* ]] || cl_fail "a row arrived without a NOTIFY: the test is wrong"
resync_now() { [ "$(ask 192.0.2.9 z@any.example)" = DUNNO ]; }
cl_wait_for 12 resync_now || cl_fail "the periodic full read did not bring the row within lists_pg_resync"
echo "ok: the periodic full read brings a change made without a NOTIFY"

# the database goes away: the last good lists stay, a reload keeps them, the stats say so
cl_stop_pg
[ "$(ask 203.0.113.7 w@any.example)" = DUNNO ] || cl_fail "the lists were lost with the database"
cl_ctl a reload >/dev/null || cl_fail "a reload with the database down failed"
[ "$(ask 203.0.113.8 w@any.example)" = DUNNO ] || cl_fail "a reload with the database down lost its rows"
[[ $(ask 198.51.100.23 x@any.example trap@receiver.example) == "550 5.7.1"* ]] ||
	cl_fail "the blacklist was lost with the database"
down_said() { grep -q 'keeping the last good lists' "$CL_DIR/a.log"; }
cl_wait_for 5 down_said || cl_fail "greywalld did not say it keeps the last good lists"
[ "$(cl_ctl a stats | awk '$1 == "greywall_lists_pg_connected" { print $2 }')" = 0 ] ||
	cl_fail "the stats do not say the database is away: $(cl_ctl a stats)"
echo "ok: PostgreSQL going away keeps the lists (reload included) and the stats say so"

cl_start_pg
cl_psql -c "INSERT INTO greywall_lists (list, kind, value) VALUES ('white', 'sender', '@later.example')"
later_now() { [ "$(ask 198.51.100.24 a@later.example)" = DUNNO ]; }
cl_wait_for 40 later_now || cl_fail "rows inserted after the database came back never arrived"
echo "ok: the database back, new rows arrive"
