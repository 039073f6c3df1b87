/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Envelope address normalisation. Senders rewrite their envelope per message
 * (BATV tags, SRS forwarding, VERP bounce addresses, +extensions); greylisting
 * on the raw address would greylist every retry of such a sender again.
 */
#ifndef GREYWALL_NORMALIZE_H
#define GREYWALL_NORMALIZE_H

#include "compiler.h"

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets including the brackets. */
#define GW_ADDR_MAX 256

struct gw_norm_opts {
	bool strip_extension; /* user+ext@dom -> user@dom */
	bool verp_fold;	      /* sender local part digit runs -> '#' */
};

enum gw_norm_error {
	GW_NORM_TOO_LONG = -1,
	GW_NORM_BAD_CHAR = -2,
};

/* Index of the '@' that separates local part and domain, or -1. */
GW_INLINE int gw_addr_at(const u8 *a, u32 len)
{
	int i, at = -1;

	for (i = 0; i < (int)len && i < GW_ADDR_MAX; i++)
		if (a[i] == '@')
			at = i;
	return at;
}

GW_INLINE bool gw_has_prefix(const u8 *s, u32 len, const char *prefix)
{
	u32 i;

	for (i = 0; prefix[i]; i++)
		if (i >= len || s[i] != (u8)prefix[i])
			return false;
	return true;
}

/* BATV tag: one key digit, three day digits, six hex digits (RFC draft-levine-smtp-batv). */
GW_INLINE bool gw_is_batv_tag(const u8 *s, u32 len)
{
	u32 i;

	if (len != 10)
		return false;
	for (i = 0; i < 4; i++)
		if (!gw_is_digit(s[i]))
			return false;
	for (i = 4; i < 10; i++)
		if (!gw_is_hex(s[i]))
			return false;
	return true;
}

GW_INLINE int gw_find_char(const u8 *s, u32 from, u32 to, u8 c)
{
	u32 i;

	for (i = from; i < to && i < GW_ADDR_MAX; i++)
		if (s[i] == c)
			return (int)i;
	return -1;
}

/*
 * SRS0=HHH=TT=domain=local@fwd and SRS1=HHH=fwd==HHH=TT=domain=local@fwd2
 * carry the original address; recover it as [*ls,*le) @ [*ds,*de).
 */
GW_INLINE bool gw_srs_unwrap(const u8 *b, u32 lend, u32 *ls, u32 *le, u32 *ds, u32 *de)
{
	u32 p = *ls;
	int hash_end, tt_end, dom_end;

	if (lend - p < 5 ||
	    !(gw_has_prefix(b + p, lend - p, "srs0") || gw_has_prefix(b + p, lend - p, "srs1")))
		return false;
	if (b[p + 4] != '=' && b[p + 4] != '+' && b[p + 4] != '-')
		return false;
	if (b[p + 3] == '1') {
		u32 i;
		bool found = false;

		for (i = p + 5; i + 1 < lend && i < GW_ADDR_MAX; i++) {
			if (b[i] == '=' && b[i + 1] == '=') {
				found = true;
				break;
			}
		}
		if (!found)
			return false;
		p = i + 2;
	} else {
		p += 5;
	}
	hash_end = gw_find_char(b, p, lend, '=');
	if (hash_end < 0)
		return false;
	tt_end = gw_find_char(b, (u32)hash_end + 1, lend, '=');
	if (tt_end < 0)
		return false;
	dom_end = gw_find_char(b, (u32)tt_end + 1, lend, '=');
	if (dom_end < 0 || dom_end == tt_end + 1 || (u32)dom_end + 1 >= lend)
		return false;
	*ds = (u32)tt_end + 1;
	*de = (u32)dom_end;
	*ls = (u32)dom_end + 1;
	*le = lend;
	return true;
}

/* prvs=TAG=local and the swapped prvs=local=TAG: keep the field that is not the tag. */
GW_INLINE void gw_batv_unwrap(const u8 *b, u32 *ls, u32 *le)
{
	u32 p = *ls, end = *le;
	int first_eq, last_eq = -1;
	u32 i;

	if (!gw_has_prefix(b + p, end - p, "prvs="))
		return;
	p += 5;
	first_eq = gw_find_char(b, p, end, '=');
	if (first_eq < 0)
		return;
	for (i = p; i < end && i < GW_ADDR_MAX; i++)
		if (b[i] == '=')
			last_eq = (int)i;
	if (gw_is_batv_tag(b + p, (u32)first_eq - p) && (u32)first_eq + 1 < end) {
		*ls = (u32)first_eq + 1;
	} else if (gw_is_batv_tag(b + last_eq + 1, end - (u32)last_eq - 1) && (u32)last_eq > p) {
		*ls = p;
		*le = (u32)last_eq;
	}
}

/*
 * Normalise one envelope address (without angle brackets; the null path is
 * the empty string). Returns the normalised length, or a negative
 * gw_norm_error. out must hold GW_ADDR_MAX bytes.
 */
GW_INLINE int gw_normalize_address(const u8 *in, u32 in_len, u8 *out, const struct gw_norm_opts *o,
				   bool is_sender)
{
	u8 buf[GW_ADDR_MAX];
	u32 ls, le, ds, de, i, n = 0;
	int at;

	if (in_len > GW_ADDR_MAX)
		return GW_NORM_TOO_LONG;
	for (i = 0; i < in_len && i < GW_ADDR_MAX; i++) {
		if (in[i] < 0x20 || in[i] == 0x7f)
			return GW_NORM_BAD_CHAR;
		buf[i] = gw_ascii_lower(in[i]);
	}
	at = gw_addr_at(buf, in_len);
	ls = 0;
	if (at < 0) {
		le = in_len;
		ds = de = in_len;
	} else {
		le = (u32)at;
		ds = (u32)at + 1;
		de = in_len;
	}
	/* A fully qualified domain's trailing dot names the same domain. */
	if (de > ds && buf[de - 1] == '.')
		de--;

	gw_srs_unwrap(buf, le, &ls, &le, &ds, &de);
	gw_batv_unwrap(buf, &ls, &le);
	if (o->strip_extension && le > ls + 1) {
		int plus = gw_find_char(buf, ls + 1, le, '+');

		if (plus > 0)
			le = (u32)plus;
	}

	for (i = ls; i < le && i < GW_ADDR_MAX; i++) {
		if (is_sender && o->verp_fold && gw_is_digit(buf[i])) {
			if (n == 0 || out[n - 1] != '#')
				out[n++] = '#';
			else if (i > ls && !gw_is_digit(buf[i - 1]))
				out[n++] = '#';
			continue;
		}
		out[n++] = buf[i];
	}
	if (de > ds || at >= 0) {
		if (n >= GW_ADDR_MAX)
			return GW_NORM_TOO_LONG;
		out[n++] = '@';
		for (i = ds; i < de && i < GW_ADDR_MAX && n < GW_ADDR_MAX; i++)
			out[n++] = buf[i];
	}
	return (int)n;
}

#endif /* GREYWALL_NORMALIZE_H */
