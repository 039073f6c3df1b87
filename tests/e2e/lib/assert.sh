#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Small assertion helpers for the end-to-end scripts: each failure names what was expected.
fail() {
	echo "FAIL: $*" >&2
	echo "--- greywall-dp log" >&2
	tail -30 "$TB_DIR/greywall-dp.log" >&2 2>/dev/null
	echo "--- sender log" >&2
	tail -20 "$TB_DIR/snd/maillog" >&2 2>/dev/null
	echo "--- receiver log" >&2
	tail -20 "$TB_DIR/rcv/maillog" >&2 2>/dev/null
	exit 1
}

# dp_counter NAME: a counter from greywall-dp's exit report
dp_counter() {
	grep -oE "(^| )$1=[0-9]+" "$TB_DIR/greywall-dp.log" | tail -1 | cut -d= -f2
}
