#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# `make install DESTDIR=... PREFIX=...` puts every file where the units, the man pages
# and the daemons expect it, nothing else, and never overwrites a configuration.
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
d=$SCRATCH/usr-tree
install_tree "$d" PREFIX=/usr
tree_listing "$d" >"$SCRATCH/got"
cat >"$SCRATCH/want" <<'LIST'
d 755 /etc
d 755 /etc/greywall
f 644 /etc/greywall/greywall.conf
f 644 /etc/greywall/relay.env
d 755 /lib
d 755 /lib/systemd
d 755 /lib/systemd/system
f 644 /lib/systemd/system/greywall-dp@.service
f 644 /lib/systemd/system/greywall-relay.service
f 644 /lib/systemd/system/greywalld.service
d 755 /usr
d 755 /usr/lib
d 755 /usr/lib/greywall
f 755 /usr/lib/greywall/greywall-relay-attach
f 644 /usr/lib/greywall/greywall.bpf.o
d 755 /usr/lib/sysusers.d
f 644 /usr/lib/sysusers.d/greywall.conf
d 755 /usr/lib/tmpfiles.d
f 644 /usr/lib/tmpfiles.d/greywall.conf
d 755 /usr/sbin
f 755 /usr/sbin/greyctl
f 755 /usr/sbin/greywall-dp
f 755 /usr/sbin/greywalld
d 755 /usr/share
d 755 /usr/share/man
d 755 /usr/share/man/man5
f 644 /usr/share/man/man5/greywall.conf.5
d 755 /usr/share/man/man8
f 644 /usr/share/man/man8/greyctl.8
f 644 /usr/share/man/man8/greywall-dp.8
f 644 /usr/share/man/man8/greywalld.8
LIST
diff -u "$SCRATCH/want" "$SCRATCH/got" || fail "PREFIX=/usr installs a different tree"
echo "PREFIX=/usr: $(grep -c '^f' "$SCRATCH/got") files where expected"
cmp -s "$d/usr/lib/greywall/greywall.bpf.o" "$BUILD/bpf/greywall.bpf.o" ||
	fail "the installed BPF object is not the one built"
# every path a unit runs or reads is in the tree
for unit in "$d"/lib/systemd/system/*.service; do
	paths=$(sed -n 's/^\(Exec[A-Za-z]*\|EnvironmentFile\)=-\{0,1\}\([^ ]*\).*/\2/p' "$unit")
	for p in $paths; do
		case $p in /bin/kill) continue ;; esac
		p=${p/\%i/NAME}
		case $p in */dp-NAME.env) continue ;; esac # the admin writes one per instance
		[ -e "$d$p" ] || fail "$(basename "$unit") names $p, which is not installed"
	done
done
echo "every ExecStart/ExecStop/EnvironmentFile path of the units is installed"
grep -q '^ExecStart=/usr/sbin/greywalld$' "$d/lib/systemd/system/greywalld.service" ||
	fail "greywalld.service does not run /usr/sbin/greywalld"

# the configuration an admin edited stays as it is
echo "delay = 42 # the admin's" >>"$d/etc/greywall/greywall.conf"
echo "GREYWALL_RELAY_DEVICES=eth9" >>"$d/etc/greywall/relay.env"
install_tree "$d" PREFIX=/usr
grep -q 'the admin' "$d/etc/greywall/greywall.conf" || fail "make install overwrote greywall.conf"
grep -q 'eth9' "$d/etc/greywall/relay.env" || fail "make install overwrote relay.env"
grep -q "kept $d/etc/greywall/greywall.conf" "$SCRATCH/install.log" ||
	fail "make install did not say it kept greywall.conf"
echo "a second install keeps the edited greywall.conf and relay.env"

# the default prefix is /usr/local, for the binaries and for the paths in the units
l=$SCRATCH/local-tree
install_tree "$l"
for f in /usr/local/sbin/greywalld /usr/local/sbin/greyctl /usr/local/sbin/greywall-dp \
	/usr/local/lib/greywall/greywall.bpf.o /usr/local/lib/systemd/system/greywalld.service \
	/usr/local/share/man/man8/greywalld.8 /etc/greywall/greywall.conf; do
	[ -e "$l$f" ] || fail "the default install has no $f"
done
grep -q '^ExecStart=/usr/local/sbin/greywalld$' \
	"$l/usr/local/lib/systemd/system/greywalld.service" ||
	fail "with PREFIX=/usr/local, greywalld.service does not run /usr/local/sbin/greywalld"
grep -q '/usr/local/lib/greywall/greywall-relay-attach' \
	"$l/usr/local/lib/systemd/system/greywall-relay.service" ||
	fail "with PREFIX=/usr/local, greywall-relay.service does not run its attach script"
echo "the default PREFIX=/usr/local: binaries, units and their paths under /usr/local"
