#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The man pages render without a warning (groff -ww, mandoc -T lint), have the sections
# an admin looks for, and document every greywall.conf key and every long option the
# binaries accept: a key or option added without its documentation fails here.
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
d=$SCRATCH/tree
install_tree "$d" PREFIX=/usr
m=$d/usr/share/man
pages="$m/man8/greywalld.8 $m/man8/greyctl.8 $m/man8/greywall-dp.8 $m/man5/greywall.conf.5"
for p in $pages; do
	n=$(basename "$p")
	out=$(groff -man -Tutf8 -ww -z "$p" 2>&1) || fail "groff $n: $out"
	[ -z "$out" ] || fail "groff -ww $n warns: $out"
	out=$(mandoc -T lint -W warning "$p" 2>&1) || fail "mandoc -T lint $n: $out"
	[ -z "$out" ] || fail "mandoc -T lint $n: $out"
	grep -q '@[A-Z]*@' "$p" && fail "$n keeps an unsubstituted @PLACEHOLDER@"
	sections=(NAME SYNOPSIS DESCRIPTION FILES EXAMPLES "SEE ALSO")
	case $n in *.8) sections+=(OPTIONS "EXIT STATUS") ;; esac
	for s in "${sections[@]}"; do
		grep -q "^\.SH \"\{0,1\}$s\"\{0,1\}\$" "$p" || fail "$n has no $s section"
	done
	case $n in greywalld.8 | greywall-dp.8)
		grep -q '^\.SH SIGNALS' "$p" || fail "$n has no SIGNALS section" ;;
	esac
	echo "$n: renders clean with groff -ww and mandoc -T lint; all sections there"
done

# every key greywall.conf accepts (lib/conf.c) is a .TP entry of greywall.conf(5)
keys=$(sed -n -e '/#define/d' \
	-e 's/.*PNUM(\([a-z0-9_]*\),.*/\1/p' -e 's/.*SKEY(\([a-z0-9_]*\),.*/\1/p' \
	-e 's/^[[:space:]]*{"\([a-z0-9_]*\)", [0-9].*/\1/p' \
	-e 's/.*strcmp(k, "\([a-z0-9_]*\)").*/\1/p' lib/conf.c | sort -u)
[ "$(echo "$keys" | wc -l)" -ge 30 ] || fail "found only $(echo "$keys" | wc -l) keys in config.c"
documented=$(awk 'prev == ".TP" { print } { prev = $0 }' "$m/man5/greywall.conf.5" |
	sed -e 's/^\.B //' -e 's/\\f[RPBI]//g' -e 's/, */\n/g')
for k in $keys; do
	echo "$documented" | grep -qx "$k" || fail "greywall.conf(5) does not document key '$k'"
done
# and each key's paragraph gives its default
undefaulted=$(awk '/^\.(TP|SH)/ { if (key != "" && !dflt) print key; key = ""; dflt = 0 }
	prev == ".TP" && /^\.B [a-z]/ { key = $2 } /^Default/ { dflt = 1 } { prev = $0 }
	END { if (key != "" && !dflt) print key }' "$m/man5/greywall.conf.5")
[ -z "$undefaulted" ] || fail "greywall.conf(5) gives no default for: $undefaulted"
echo "greywall.conf(5): all $(echo "$keys" | wc -l) keys of lib/conf.c, with defaults"

# every long option of a binary is in its page (the dash written \- in roff)
long_opts() {
	sed -n 's/^[[:space:]]*{"\([a-z][a-z0-9-]*\)", *[a-z]*_argument.*/\1/p' "$@"
}
check_opts() { # page source...
	local page=$1 o
	shift
	for o in $(long_opts "$@"); do
		grep -q -- "\\\\-\\\\-${o//-/\\\\-}\\b" "$page" ||
			fail "$(basename "$page") does not document --$o"
	done
	echo "$(basename "$page"): all $(long_opts "$@" | wc -l) long options documented"
}
check_opts "$m/man8/greywalld.8" control/greywalld.c
check_opts "$m/man8/greyctl.8" control/greyctl/*.c
check_opts "$m/man8/greywall-dp.8" dataplane/options.c
