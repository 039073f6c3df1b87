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

/* A byte of an address buffer (GW_ADDR_MAX bytes), at an offset the verifier may not bound. */
#define GW_AB(b, i) ((b)[gw_index((i), GW_ADDR_MAX)])

/* Working memory of one normalisation: too big for the BPF stack, so the caller provides it. */
struct gw_norm_work {
	u8 buf[GW_ADDR_MAX]; /* the address, lower-cased */
	u8 out[GW_ADDR_MAX];
	u32 len;
	u32 ls, le; /* local part [ls, le) */
	u32 ds, de; /* domain [ds, de) */
	s32 at;
	u32 olen; /* bytes in out */
};

/* BATV tag at b[off, off + len): one key digit, three day digits, six hex digits. */
GW_INLINE bool gw_is_batv_tag(const u8 *b, u32 off, u32 len)
{
	u32 i;

	if (len != 10)
		return false;
	for (i = 0; i < 4; i++)
		if (!gw_is_digit(GW_AB(b, off + i)))
			return false;
	for (i = 4; i < 10; i++)
		if (!gw_is_hex(GW_AB(b, off + i)))
			return false;
	return true;
}

GW_INLINE bool gw_buf_prefix(const u8 *b, u32 off, u32 end, const char *prefix)
{
	u32 i;

	for (i = 0; prefix[i]; i++)
		if (off + i >= end || GW_AB(b, off + i) != (u8)prefix[i])
			return false;
	return true;
}

/* The first c in w->buf[from, to), or -1. */
GW_STEP int gw_norm_find(const struct gw_norm_work *w, u32 from, u32 to, u32 c)
{
	u32 i;

	if (!w)
		return -1;
	for (i = from; i < to && i < GW_ADDR_MAX; i++)
		if (GW_AB(w->buf, i) == c)
			return (int)i;
	return -1;
}

/* The last c in w->buf[from, to), or -1. Backwards, so the first hit ends the walk. */
GW_STEP int gw_norm_find_last(const struct gw_norm_work *w, u32 from, u32 to, u32 c)
{
	u32 k, i;

	if (!w || to > GW_ADDR_MAX)
		return -1;
	for (k = 0, i = to; k < GW_ADDR_MAX && i > from; k++, i--)
		if (GW_AB(w->buf, i - 1) == c)
			return (int)i - 1;
	return -1;
}

/* The first "==" in w->buf[from, to), or -1. */
GW_STEP int gw_norm_find_pair(const struct gw_norm_work *w, u32 from, u32 to)
{
	u32 i;

	if (!w)
		return -1;
	for (i = from; i + 1 < to && i < GW_ADDR_MAX; i++)
		if (GW_AB(w->buf, i) == '=' && GW_AB(w->buf, i + 1) == '=')
			return (int)i;
	return -1;
}

/* Split w->buf[0, len) at its last '@'; a fully qualified domain's trailing dot goes. */
GW_STEP int gw_norm_split(struct gw_norm_work *w)
{
	u32 len;
	int at;

	if (!w || w->len > GW_ADDR_MAX)
		return -1;
	len = w->len;
	at = gw_norm_find_last(w, 0, len, '@');
	w->at = at;
	w->ls = 0;
	if (at < 0) {
		w->le = len;
		w->ds = w->de = len;
	} else {
		w->le = (u32)at;
		w->ds = (u32)at + 1;
		w->de = len;
	}
	if (w->de > w->ds && GW_AB(w->buf, w->de - 1) == '.')
		w->de--;
	return 0;
}

/*
 * SRS0=HHH=TT=domain=local@fwd and SRS1=HHH=fwd==HHH=TT=domain=local@fwd2
 * carry the original address; recover it as local part and domain. Returns
 * 1 when it did.
 */
GW_STEP int gw_srs_unwrap(struct gw_norm_work *w)
{
	u32 p, lend;
	int hash_end, tt_end, dom_end;

	if (!w)
		return 0;
	p = w->ls;
	lend = w->le;
	if (lend > GW_ADDR_MAX || p > lend || lend - p < 5 ||
	    !(gw_buf_prefix(w->buf, p, lend, "srs0") || gw_buf_prefix(w->buf, p, lend, "srs1")))
		return 0;
	if (GW_AB(w->buf, p + 4) != '=' && GW_AB(w->buf, p + 4) != '+' &&
	    GW_AB(w->buf, p + 4) != '-')
		return 0;
	if (GW_AB(w->buf, p + 3) == '1') {
		int pair = gw_norm_find_pair(w, p + 5, lend);

		if (pair < 0)
			return 0;
		p = (u32)pair + 2;
	} else {
		p += 5;
	}
	hash_end = gw_norm_find(w, p, lend, '=');
	if (hash_end < 0)
		return 0;
	tt_end = gw_norm_find(w, (u32)hash_end + 1, lend, '=');
	if (tt_end < 0)
		return 0;
	dom_end = gw_norm_find(w, (u32)tt_end + 1, lend, '=');
	if (dom_end < 0 || dom_end == tt_end + 1 || (u32)dom_end + 1 >= lend)
		return 0;
	w->ds = (u32)tt_end + 1;
	w->de = (u32)dom_end;
	w->ls = (u32)dom_end + 1;
	w->le = lend;
	return 1;
}

/* prvs=TAG=local and the swapped prvs=local=TAG: keep the field that is not the tag. */
GW_STEP int gw_batv_unwrap(struct gw_norm_work *w)
{
	u32 p, end;
	int first_eq, last_eq;

	if (!w)
		return 0;
	p = w->ls;
	end = w->le;
	if (end > GW_ADDR_MAX || !gw_buf_prefix(w->buf, p, end, "prvs="))
		return 0;
	p += 5;
	first_eq = gw_norm_find(w, p, end, '=');
	if (first_eq < 0)
		return 0;
	last_eq = gw_norm_find_last(w, p, end, '=');
	if (gw_is_batv_tag(w->buf, p, (u32)first_eq - p) && (u32)first_eq + 1 < end) {
		w->ls = (u32)first_eq + 1;
		return 1;
	}
	if (gw_is_batv_tag(w->buf, (u32)last_eq + 1, end - (u32)last_eq - 1) && (u32)last_eq > p) {
		w->ls = p;
		w->le = (u32)last_eq;
		return 1;
	}
	return 0;
}

/* user+ext@dom -> user@dom; a leading '+' is the whole local part, not an extension. */
GW_STEP int gw_norm_strip_extension(struct gw_norm_work *w)
{
	int plus;

	if (!w || w->le <= w->ls + 1)
		return 0;
	plus = gw_norm_find(w, w->ls + 1, w->le, '+');
	if (plus > 0)
		w->le = (u32)plus;
	return 0;
}

/*
 * Append buf[from, to) to out at w->olen, folding each run of digits to one
 * '#' when fold is set (VERP). Returns the new length; stops at GW_ADDR_MAX.
 * The length lives in memory, read and written once per byte: kept in a
 * register it would be a different constant on each path through the loop,
 * and the verifier would walk every combination.
 */
#define GW_UNTRACKED(x) (*(volatile __typeof__(x) *)&(x))

GW_STEP int gw_norm_emit(struct gw_norm_work *w, u32 from, u32 to, int fold)
{
	u32 i;

	if (!w)
		return GW_NORM_TOO_LONG;
	for (i = from; i < to && i < GW_ADDR_MAX; i++) {
		u32 n = GW_UNTRACKED(w->olen);
		u8 ch = GW_AB(w->buf, i);

		if (n >= GW_ADDR_MAX)
			break;
		if (fold && gw_is_digit(ch)) {
			if (n == 0 || GW_AB(w->out, n - 1) != '#')
				GW_AB(w->out, n++) = '#';
			else if (i > from && !gw_is_digit(GW_AB(w->buf, i - 1)))
				GW_AB(w->out, n++) = '#';
		} else {
			GW_AB(w->out, n++) = ch;
		}
		GW_UNTRACKED(w->olen) = n;
	}
	return (int)w->olen;
}

/*
 * Normalise one envelope address (without angle brackets; the null path is
 * the empty string) into w->out. Returns the normalised length, or a
 * negative gw_norm_error.
 */
GW_INLINE int gw_normalize_into(struct gw_norm_work *w, const u8 *in, u32 in_len,
				const struct gw_norm_opts *o, bool is_sender)
{
	u32 i;
	int n;

	if (in_len > GW_ADDR_MAX)
		return GW_NORM_TOO_LONG;
	for (i = 0; i < in_len && i < GW_ADDR_MAX; i++) {
		if (in[i] < 0x20 || in[i] == 0x7f)
			return GW_NORM_BAD_CHAR;
		w->buf[i] = gw_ascii_lower(in[i]);
	}
	w->len = in_len;
	gw_norm_split(w);
	gw_srs_unwrap(w);
	gw_batv_unwrap(w);
	if (o->strip_extension)
		gw_norm_strip_extension(w);
	w->olen = 0;
	n = gw_norm_emit(w, w->ls, w->le, is_sender && o->verp_fold);
	if (w->de > w->ds || w->at >= 0) {
		if (n < 0 || n >= GW_ADDR_MAX)
			return GW_NORM_TOO_LONG;
		w->out[n] = '@';
		w->olen = (u32)n + 1;
		n = gw_norm_emit(w, w->ds, w->de, 0);
	}
	return n;
}

#ifndef __bpf__
/* The longest path user space judges (an MTA's command line limit bounds it). */
#define GW_PATH_LONG_MAX 2048

/*
 * A path longer than GW_ADDR_MAX (lib/address_long.c): reduced as the
 * normaliser would, and where still too long, its local part (and a domain
 * too long) replaced by "~" and a 64-bit fingerprint. Never fails on length
 * up to GW_PATH_LONG_MAX.
 */
int gw_normalize_long(const u8 *in, u32 in_len, u8 *out, const struct gw_norm_opts *o,
		      bool is_sender);

/*
 * The same into out (GW_ADDR_MAX bytes), with the working memory on the
 * stack. Paths of any length up to GW_PATH_LONG_MAX get a key.
 */
GW_INLINE int gw_normalize_address(const u8 *in, u32 in_len, u8 *out, const struct gw_norm_opts *o,
				   bool is_sender)
{
	struct gw_norm_work w;
	int n;

	if (in_len > GW_ADDR_MAX)
		return gw_normalize_long(in, in_len, out, o, is_sender);
	n = gw_normalize_into(&w, in, in_len, o, is_sender);
	if (n == GW_NORM_TOO_LONG)
		return gw_normalize_long(in, in_len, out, o, is_sender);
	if (n > 0)
		gw_memcpy(out, w.out, (u32)n);
	return n;
}
#endif

#endif /* GREYWALL_NORMALIZE_H */
