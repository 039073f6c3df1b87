// SPDX-License-Identifier: BSD-2-Clause
/*
 * Envelope addresses longer than the triplet stores (GW_ADDR_MAX). Their
 * length must not decide whether they are judged: a recipient padded with a
 * +extension is still a recipient. So a long path is reduced the way the
 * normaliser would reduce it (the +extension goes when that option is on);
 * what is still too long keeps its domain, for the lists, and stands in for
 * its local part with a fingerprint of it. The same path always gives the
 * same key, and two different long local parts give different keys.
 */
#include <stdio.h>
#include <string.h>

#include "greywall/normalize.h"
#include "greywall/siphash.h"

/* A fixed key: the fingerprint only shortens; the triplet key is keyed by the table's secret. */
#define GW_LONG_K0 0x6772657977616c6cULL /* "greywall" */
#define GW_LONG_K1 0x6c6f6e6770617468ULL /* "longpath" */

/* "~" and the 16 hex digits of bytes' fingerprint at out: 17 bytes. */
static u32 put_fingerprint(u8 *out, const u8 *bytes, u32 len)
{
	static const char hex[] = "0123456789abcdef";
	u64 fp = gw_siphash24(GW_LONG_K0, GW_LONG_K1, bytes, len);
	u32 i;

	out[0] = '~';
	for (i = 0; i < 16; i++)
		out[1 + i] = (u8)hex[(fp >> (60 - 4 * i)) & 15];
	return 17;
}

int gw_normalize_long(const u8 *in, u32 in_len, u8 *out, const struct gw_norm_opts *o,
		      bool is_sender)
{
	u8 buf[GW_PATH_LONG_MAX];
	u32 i, at = in_len, local_end, dom_len, reduced_len, n;

	if (in_len > sizeof(buf))
		return GW_NORM_TOO_LONG;
	for (i = 0; i < in_len; i++) {
		if (in[i] < 0x20 || in[i] == 0x7f)
			return GW_NORM_BAD_CHAR;
		buf[i] = gw_ascii_lower(in[i]);
		if (in[i] == '@')
			at = i;
	}
	local_end = at;
	if (o->strip_extension && !is_sender) {
		const u8 *plus = memchr(buf + 1, '+', local_end > 1 ? local_end - 1 : 0);

		if (plus)
			local_end = (u32)(plus - buf);
	}
	dom_len = at < in_len ? in_len - at - 1 : 0;
	reduced_len = local_end + (at < in_len ? 1 + dom_len : 0);
	if (reduced_len <= GW_ADDR_MAX) {
		/* short enough once reduced: the ordinary normaliser, on the reduced form */
		u8 reduced[GW_ADDR_MAX];

		memcpy(reduced, buf, local_end);
		if (at < in_len) {
			reduced[local_end] = '@';
			memcpy(reduced + local_end + 1, buf + at + 1, dom_len);
		}
		return gw_normalize_address(reduced, reduced_len, out, o, is_sender);
	}
	/* the local part's fingerprint, then "@domain" if it fits, else its fingerprint too */
	n = put_fingerprint(out, buf, local_end);
	if (at < in_len) {
		out[n++] = '@';
		if (n + dom_len <= GW_ADDR_MAX) {
			memcpy(out + n, buf + at + 1, dom_len);
			n += dom_len;
		} else {
			n += put_fingerprint(out + n, buf + at + 1, dom_len);
		}
	}
	return (int)n;
}
