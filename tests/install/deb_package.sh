#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# dpkg-buildpackage -b -us -uc builds the greywall package from a copy of this tree, and
# the package holds exactly what `make install DESTDIR=... PREFIX=/usr` installs (plus
# the copyright and changelog Debian adds, and man pages gzipped), at its version, with
# its configuration as conffiles and greywall's user created on install.
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
for t in dpkg-buildpackage dh fakeroot; do
	command -v $t >/dev/null || fail "$t missing (make deps)"
done
# the files git knows and the new ones it does not ignore: no build/, no stray debs
src=$SCRATCH/greywall
mkdir -p "$src"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$src"
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$SCRATCH/build.log" 2>&1 ||
	{ tail -30 "$SCRATCH/build.log"; fail "dpkg-buildpackage -b -us -uc"; }
echo "dpkg-buildpackage -b -us -uc: $(($(date +%s) - start)) s"
grep -E '(warning|error):' "$SCRATCH/build.log" && fail "the package build warns"
version=$(cat VERSION)
deb=$(ls "$SCRATCH"/greywall_"${version}"_*.deb 2>/dev/null) ||
	fail "no greywall_${version}_*.deb: $(ls "$SCRATCH")"
echo "built $(basename "$deb")"

# what the package holds, in tree_listing's form
dpkg-deb -c "$deb" >"$SCRATCH/contents"
awk '{ t = substr($1, 1, 1); p = $6; sub(/^\./, "", p); sub(/\/$/, "", p)
	if (p == "") next; print (t == "-" ? "f" : t), $1, p }' "$SCRATCH/contents" |
	sed -e 's|\(/usr/share/man/.*\)\.gz$|\1|' |
	grep -v -e ' /usr/share/doc$' -e ' /usr/share/doc/greywall' | sort -k3 >"$SCRATCH/deb"
install_tree "$SCRATCH/tree" PREFIX=/usr
(cd "$SCRATCH/tree" && find . -mindepth 1 -printf '%y %M /%P\n') | sort -k3 >"$SCRATCH/tree.list"
diff -u "$SCRATCH/tree.list" "$SCRATCH/deb" || fail "the package differs from make install's tree"
echo "the package holds make install's tree: $(grep -c '^f' "$SCRATCH/deb") files, same modes"
for f in copyright changelog.gz; do
	grep -q "/usr/share/doc/greywall/$f\$" "$SCRATCH/contents" ||
		fail "no /usr/share/doc/greywall/$f"
done

[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "package version is not $version"
dpkg-deb -f "$deb" Depends | grep -q 'libbpf' || fail "Depends lacks libbpf: shlibs not computed"
dpkg-deb -e "$deb" "$SCRATCH/control"
for f in /etc/greywall/greywall.conf /etc/greywall/relay.env; do
	grep -qx "$f" "$SCRATCH/control/conffiles" || fail "$f is not a conffile"
done
grep -q 'systemd-sysusers.*greywall.conf' "$SCRATCH/control/postinst" ||
	fail "postinst does not create greywall's user"
grep -q "deb-systemd-helper enable 'greywalld.service'" "$SCRATCH/control/postinst" ||
	fail "postinst does not enable greywalld.service"
echo "version $version, conffiles, the user made and greywalld.service enabled by postinst"
