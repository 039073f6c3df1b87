#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# systemd-analyze verify passes, without a word, on every unit make install installs.
# PID 1 need not be systemd: the units are verified in a root made of the installed tree
# and this host's own units (sysinit.target, postfix.service and the like), so each
# ExecStart= binary and each Documentation= man page is checked where it was installed.
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (make deps)"
root=$SCRATCH/root
mkdir -p "$root/lib/systemd/system" "$root/bin"
cp -r /lib/systemd/system/. "$root/lib/systemd/system/"
cp /bin/kill "$root/bin/" # ExecReload=
install_tree "$root" PREFIX=/usr
units=$(cd "$root/lib/systemd/system" && ls greywall*.service)
[ "$(echo "$units" | wc -l)" = 3 ] || fail "expected 3 units, installed: $units"
for u in $units; do
	# the man pages of Documentation= are looked up by man(1), in the installed tree
	if ! MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" \
		"/lib/systemd/system/$u" >"$SCRATCH/verify.log" 2>&1 ||
		[ -s "$SCRATCH/verify.log" ]; then
		cat "$SCRATCH/verify.log" >&2
		fail "systemd-analyze verify $u"
	fi
	echo "systemd-analyze verify $u: clean"
done
# what boot relies on: greywalld is ready (Type=notify) before Postfix and greywall-dp
# start, and after the relay filter pinned the maps it opens
s=$root/lib/systemd/system
grep -qx 'Type=notify' "$s/greywalld.service" || fail "greywalld.service is not Type=notify"
grep -qx 'User=greywall' "$s/greywalld.service" || fail "greywalld.service runs as root"
grep -q '^Before=.*postfix.service' "$s/greywalld.service" || fail "greywalld after Postfix"
grep -q '^After=.*greywall-relay.service' "$s/greywalld.service" ||
	fail "greywalld.service may start before the relay filter pinned its maps"
grep -q '^After=.*greywalld.service' "$s/greywall-dp@.service" ||
	fail "greywall-dp@.service may start before greywalld restored the tables"
grep -q '^Before=.*postfix.service' "$s/greywall-relay.service" || fail "relay filter after Postfix"
echo "ordering: greywall-relay, then greywalld (Type=notify), then greywall-dp@ and Postfix"
