#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The user's CFLAGS, CPPFLAGS and LDFLAGS (dpkg-buildflags) reach every compile and link
# line without taking the flags the code needs away; -Werror comes only with WERROR=1,
# which `make test` sets; a header change rebuilds the objects that include it.
# shellcheck source=tests/install/lib.sh
. "$(dirname "$0")/lib.sh"
# "plain make" means no WERROR, whatever `make test WERROR=...` passed down to us
unset WERROR MAKEFLAGS MFLAGS MAKELEVEL
b=$SCRATCH/build
make -s -j2 BUILD="$b" CFLAGS="-g -O2" CPPFLAGS="-D_FORTIFY_SOURCE=2" \
	LDFLAGS="-Wl,-z,relro -Wl,-z,now" all >"$SCRATCH/make.log" 2>&1 ||
	{ tail -20 "$SCRATCH/make.log"; fail 'make CFLAGS="-g -O2" ... failed'; }
echo 'make CFLAGS="-g -O2" CPPFLAGS=-D_FORTIFY_SOURCE=2 LDFLAGS="-Wl,-z,relro -Wl,-z,now": built'
for bin in greywalld greyctl greywall-dp; do
	readelf -d "$b/$bin" | grep -q 'BIND_NOW' || fail "$bin linked without LDFLAGS (-z now)"
	nm -D "$b/$bin" | grep -q '__.*_chk' || fail "$bin compiled without CPPFLAGS (fortify)"
done
echo "greywalld, greyctl, greywall-dp: BIND_NOW (LDFLAGS) and _chk calls (CPPFLAGS)"
flags() { make -n -B BUILD="$SCRATCH/n" "$@" "$SCRATCH/n/control/admin.o" | grep -- ' -c '; }
flags | grep -q -- '-Werror\b' && fail "plain make compiles with -Werror"
flags WERROR=1 | grep -q -- '-Werror\b' || fail "make WERROR=1 compiles without -Werror"
# -n still runs the recursive make (with -n); BUILD keeps its flags stamp out of build/
make -n test BUILD="$SCRATCH/t" >"$SCRATCH/test.log" 2>&1
grep -q 'WERROR=1' "$SCRATCH/test.log" || fail "make test does not build with WERROR=1"
flags CFLAGS=-O1 | grep -q -- '-Iinclude .*-std=gnu11.* -O1' ||
	fail "make CFLAGS=-O1 drops the flags the code needs: $(flags CFLAGS=-O1)"
echo "-Werror only with WERROR=1 (make test sets it); CFLAGS=-O1 keeps -Iinclude and -std=gnu11"
# -W: as if control/admin.h were newer than every object
make -n -W control/admin.h BUILD="$b" CFLAGS="-g -O2" CPPFLAGS="-D_FORTIFY_SOURCE=2" \
	LDFLAGS="-Wl,-z,relro -Wl,-z,now" "$b/control/admin.o" "$b/lib/lists.o" >"$SCRATCH/n.log"
grep -q 'control/admin.c' "$SCRATCH/n.log" || fail "a change to control/admin.h rebuilds no admin.o"
grep -q 'lib/lists.c' "$SCRATCH/n.log" && fail "a change to control/admin.h rebuilds lib/lists.o"
echo "a changed header rebuilds what includes it, and only that"
