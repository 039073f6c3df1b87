#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Every binary answers --version with "NAME VERSION", VERSION from the one VERSION file
# (plus the commit in a git checkout), and the Debian package has that version too.
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
version=$(cat VERSION)
pattern="^[a-z-]+ ${version//./\\.}(\\+g[0-9a-f]+(\\.dirty)?)?\$"
for cmd in greywalld greyctl greywall-dp "greywall-dp --"; do
	name=${cmd%% *}
	# shellcheck disable=SC2086 # "greywall-dp --" is the binary and its separator
	out=$("$BUILD"/$cmd --version 2>&1) || fail "$cmd --version exited with $?: $out"
	echo "$cmd --version: $out"
	[[ $out =~ $pattern ]] || fail "$cmd --version printed '$out', not '$name $version...'"
	[ "${out%% *}" = "$name" ] || fail "$cmd --version names '${out%% *}', not $name"
done
deb=$(sed -n '1s/^greywall (\([^)]*\)).*/\1/p' debian/changelog)
[ "$deb" = "$version" ] || fail "debian/changelog says $deb, VERSION says $version"
