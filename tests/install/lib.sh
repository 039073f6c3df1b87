# shellcheck shell=bash
# SPDX-License-Identifier: BSD-2-Clause
# Shared by the install and packaging tests: run from the repository root (tests/run.sh
# does), BUILD as the Makefile's, a scratch directory removed at exit.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/greywall-install.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# install_tree DIR [make arguments]: `make install` into DIR, quietly
install_tree() {
	local dir=$1
	shift
	make -s install BUILD="$BUILD" DESTDIR="$dir" "$@" >"$SCRATCH/install.log" 2>&1 ||
		{ cat "$SCRATCH/install.log" >&2; fail "make install DESTDIR=$dir $* failed"; }
}

# tree_listing DIR: one "type mode path" line per file or directory under DIR
tree_listing() {
	(cd "$1" && find . -mindepth 1 -printf '%y %m /%P\n' | sort -k3)
}
