#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# greyctl --json is strict JSON when a client sent bytes that are not UTF-8:
# a sender with a 0xff byte, named by greywalld, listed by greyctl, parsed by
# Python's json (after a strict UTF-8 decode) and by jq, the byte read back as
# U+00FF. GREYCTL overrides the binary (to show an old one failing).
. "$(dirname "$0")/lib.sh"
GREYCTL=${GREYCTL:-$BUILD/greyctl}
obs_start
obs_policy 203.0.113.5 'al\xffice@sender.example' bob@receiver.example >/dev/null
"$GREYCTL" -c "$OBS_DIR/greywall.conf" --json triplets list >"$OBS_DIR/list.json" ||
	fail "greyctl triplets list failed"
"$GREYCTL" -c "$OBS_DIR/greywall.conf" --json report >"$OBS_DIR/report.json" ||
	fail "greyctl report failed"
cat "$OBS_DIR/list.json"
python3 - "$OBS_DIR/list.json" "$OBS_DIR/report.json" <<'PY' || fail "Python's json refused it"
import json, sys
for path in sys.argv[1:]:
    data = json.loads(open(path, "rb").read().decode("utf-8", "strict"))
got = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", "strict"))
senders = [t.get("sender") for t in got]
assert senders == ["al\u00ffice@sender.example"], senders
PY
jq -e 'length == 1 and .[0].sender == "al\u00ffice@sender.example"' "$OBS_DIR/list.json" ||
	fail "jq refused it, or the sender is not U+00FF in its place"
jq -e . "$OBS_DIR/report.json" >/dev/null || fail "jq refused the report"
# greywalld's answer line and the list entries are strings from outside too
"$GREYCTL" -c "$OBS_DIR/greywall.conf" --json reload | jq -e '.reloaded == true' >/dev/null ||
	fail "greyctl --json reload: not JSON"
"$GREYCTL" -c "$OBS_DIR/greywall.conf" --json whitelist list |
	jq -e '.whitelist | index("client 192.0.2.0/24") != null' >/dev/null ||
	fail "greyctl --json whitelist list: not JSON, or the entry is missing"
echo "PASS"
