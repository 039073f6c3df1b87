/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The greylisting decision, shared by every data path. Defaults follow
 * postgrey so that a migrating site sees the same behaviour.
 */
#ifndef GREYWALL_POLICY_H
#define GREYWALL_POLICY_H

#include "compiler.h"
#include "normalize.h"
#include "siphash.h"
#include "table.h"

#define GW_DEFAULT_DELAY	300u
#define GW_DEFAULT_RETRY_WINDOW (2u * 86400u)
#define GW_DEFAULT_MAX_AGE	(35u * 86400u)
#define GW_DEFAULT_AWL_CLIENTS	5u
#define GW_DEFAULT_AWL_INTERVAL 3600u
#define GW_DEFAULT_V4_PREFIX	24u
#define GW_DEFAULT_V6_PREFIX	64u
#define GW_DEFAULT_MAX_LINE	2048u
/* Spins on a slot another writer holds before we give up and fail open. */
#define GW_CAS_RETRIES 16

enum gw_tls_mode {
	GW_TLS_GREYLIST = 0,
	GW_TLS_PASS = 1,
};

struct gw_config {
	u32 delay;
	u32 retry_window;
	u32 max_age;
	u32 awl_clients;  /* passes before a network skips greylisting; 0 = off */
	u32 awl_interval; /* count a network's passes at most this often */
	u32 max_line;
	u8 v4_prefix; /* 32 = exact address */
	u8 v6_prefix; /* 128 = exact address */
	u8 tls_mode;
	u8 exempt_postmaster; /* postmaster@ and abuse@ are never greylisted */
	struct gw_norm_opts norm;
};

GW_INLINE void gw_config_defaults(struct gw_config *c)
{
	c->delay = GW_DEFAULT_DELAY;
	c->retry_window = GW_DEFAULT_RETRY_WINDOW;
	c->max_age = GW_DEFAULT_MAX_AGE;
	c->awl_clients = GW_DEFAULT_AWL_CLIENTS;
	c->awl_interval = GW_DEFAULT_AWL_INTERVAL;
	c->max_line = GW_DEFAULT_MAX_LINE;
	c->v4_prefix = GW_DEFAULT_V4_PREFIX;
	c->v6_prefix = GW_DEFAULT_V6_PREFIX;
	c->tls_mode = GW_TLS_GREYLIST;
	c->exempt_postmaster = 1;
	c->norm.strip_extension = true;
	c->norm.verp_fold = true;
}

enum gw_family {
	GW_AF_INET = 4,
	GW_AF_INET6 = 6,
	GW_AF_POOL =
	    'P', /* a sender pool standing for its client networks: see gw_client_net_pool */
};

/* A client address masked to its network; IPv4 lives in the first 4 bytes. */
struct gw_client_net {
	u8 addr[16];
	u8 family;
	u8 prefix;
};

GW_INLINE void gw_client_net_make(struct gw_client_net *n, u8 family, const u8 *addr, u32 prefix)
{
	u32 len = family == GW_AF_INET ? 4 : 16, maxbits = len * 8, i;

	gw_memzero(n, sizeof(*n));
	if (prefix > maxbits)
		prefix = maxbits;
	n->family = family;
	n->prefix = (u8)prefix;
	for (i = 0; i < len; i++) {
		u32 bits = i * 8;

		if (bits + 8 <= prefix)
			n->addr[i] = addr[i];
		else if (bits < prefix)
			n->addr[i] = addr[i] & (u8)(0xff << (8 - (prefix - bits)));
	}
}

/*
 * A sender pool (a named set of CIDRs, e.g. a big sender's outbound servers)
 * counts as one client network: its key is the pool's id, never an address,
 * so a retry from any address of the pool finds the first attempt's triplet.
 */
GW_INLINE void gw_client_net_pool(struct gw_client_net *n, u64 pool)
{
	u32 i;

	gw_memzero(n, sizeof(*n));
	n->family = GW_AF_POOL;
	for (i = 0; i < 8; i++)
		n->addr[i] = (u8)(pool >> (8 * i));
}

/* The client network of an address under the configured prefix lengths. */
GW_INLINE void gw_client_net_of(struct gw_client_net *n, const struct gw_config *c, u8 family,
				const u8 *addr)
{
	gw_client_net_make(n, family, addr, family == GW_AF_INET ? c->v4_prefix : c->v6_prefix);
}

/* The network a triplet keys the client by: its sender pool if it is in one, else its mask. */
GW_INLINE void gw_client_net_keyed(struct gw_client_net *n, const struct gw_config *c, u8 family,
				   const u8 *addr, u64 pool)
{
	if (pool)
		gw_client_net_pool(n, pool);
	else
		gw_client_net_of(n, c, family, addr);
}

/* Lengths are bounded by GW_ADDR_MAX; the strings are already normalised. */
struct gw_triplet {
	struct gw_client_net net;
	u16 sender_len;
	u16 rcpt_len;
	u8 sender[GW_ADDR_MAX];
	u8 rcpt[GW_ADDR_MAX];
};

/*
 * Fingerprints are domain-separated by a leading tag byte, so a triplet, a
 * STARTTLS pseudo-triplet and an auto-whitelist key can never collide by
 * construction, only by SipHash chance.
 */
GW_INLINE void gw_hash_net(struct gw_siphash *h, u8 tag, const struct gw_client_net *n)
{
	gw_siphash_byte(h, tag);
	gw_siphash_byte(h, n->family);
	gw_siphash_byte(h, n->prefix);
	gw_siphash_update(h, n->addr, 16);
}

/* A byte string of at most GW_ADDR_MAX bytes, the type a step can take. */
struct gw_addr_bytes {
	u8 b[GW_ADDR_MAX];
};

/*
 * Feed a->b[off, off + len) to the hash: the same result as one
 * gw_siphash_byte() per byte, but whole words go straight to the compression,
 * so the verifier walks at most 7 + 32 + 7 iterations, not 256 byte-sized
 * branches on an unknown phase.
 */
GW_STEP int gw_hash_bytes(struct gw_siphash *h, const struct gw_addr_bytes *a, u32 off, u32 len)
{
	u32 i = 0, k, w;

	if (!h || !a || len > GW_ADDR_MAX)
		return -1;
	for (k = 0; k < 7 && i < len && (h->total & 7); k++, i++)
		gw_siphash_byte(h, GW_AB(a->b, off + i));
	for (w = 0; w < GW_ADDR_MAX / 8 && i + 8 <= len; w++, i += 8) {
		u64 m = 0;

		for (k = 0; k < 8; k++)
			m |= (u64)GW_AB(a->b, off + i + k) << (8 * k);
		gw_siphash_compress(h, m);
		h->total += 8;
	}
	for (k = 0; k < 7 && i < len; k++, i++)
		gw_siphash_byte(h, GW_AB(a->b, off + i));
	return 0;
}

/* The last '@' of a->b[0, len), or -1. Backwards, so the first hit ends the walk. */
GW_STEP int gw_addr_last_at(const struct gw_addr_bytes *a, u32 len)
{
	u32 k, i;

	if (!a || len > GW_ADDR_MAX)
		return -1;
	for (k = 0, i = len; k < GW_ADDR_MAX && i > 0; k++, i--)
		if (GW_AB(a->b, i - 1) == '@')
			return (int)i - 1;
	return -1;
}

/*
 * A length-prefixed string of at most GW_ADDR_MAX bytes. In BPF, s must be
 * followed by GW_ADDR_MAX readable bytes, whatever len is.
 */
GW_INLINE void gw_hash_str(struct gw_siphash *h, const u8 *s, u16 len)
{
	gw_siphash_byte(h, (u8)(len & 0xff));
	gw_siphash_byte(h, (u8)(len >> 8));
	gw_hash_bytes(h, (const struct gw_addr_bytes *)s, 0, len);
}

GW_INLINE u64 gw_triplet_fp(const u64 secret[2], const struct gw_triplet *t)
{
	struct gw_siphash h;

	gw_siphash_init(&h, secret[0], secret[1]);
	gw_hash_net(&h, 'T', &t->net);
	gw_hash_str(&h, t->sender, t->sender_len);
	gw_hash_str(&h, t->rcpt, t->rcpt_len);
	return gw_fp_fixup(gw_siphash_final(&h));
}

GW_INLINE u64 gw_tls_fp(const u64 secret[2], const struct gw_client_net *n, const u8 *helo,
			u16 helo_len)
{
	struct gw_siphash h;

	gw_siphash_init(&h, secret[0], secret[1]);
	gw_hash_net(&h, 'S', n);
	gw_hash_str(&h, helo, helo_len);
	return gw_fp_fixup(gw_siphash_final(&h));
}

GW_INLINE u64 gw_awl_fp(const u64 secret[2], const struct gw_client_net *n)
{
	struct gw_siphash h;

	gw_siphash_init(&h, secret[0], secret[1]);
	gw_hash_net(&h, 'A', n);
	return gw_fp_fixup(gw_siphash_final(&h));
}

/* What the list lookups of the caller's backing found; bits of gw_list_match. */
enum gw_list_match {
	GW_LIST_CLIENT = 1,
	GW_LIST_SENDER = 2,
	GW_LIST_RCPT = 4,
};

struct gw_list_hits {
	u8 white;
	u8 black;
	u64 pool; /* the sender pool holding the client address, 0 for none */
};

enum gw_verdict {
	GW_V_GREYLIST = 0, /* 450, or 421 for a STARTTLS pseudo-triplet */
	GW_V_PASS = 1,	   /* triplet retried after the delay */
	GW_V_PASS_AWL = 2, /* client network auto-whitelisted */
	GW_V_PASS_WHITELIST = 3,
	GW_V_PASS_EXEMPT = 4, /* postmaster@, abuse@ */
	GW_V_BLACKLIST = 5,   /* 550 5.7.1 */
	GW_V_FAIL_OPEN = 6,   /* table full or contended: pass, counted */
	GW_V_COUNT
};

/* Printable verdicts, in enum order, for logs and metrics. */
#define GW_VERDICT_NAMES                                                                           \
	"greylist", "pass", "pass_awl", "pass_whitelist", "pass_exempt", "blacklist", "fail_open"

GW_INLINE bool gw_verdict_rejects(enum gw_verdict v)
{
	return v == GW_V_GREYLIST || v == GW_V_BLACKLIST;
}

struct gw_decision {
	enum gw_verdict verdict;
	u32 remaining; /* seconds until a retry passes, for GREYLIST */
	u64 fp;
};

/* The whole context a decision reads; the tables are shared and lock-free. */
struct gw_policy {
	struct gw_table *triplets;
	struct gw_table *awl;
	const struct gw_config *cfg;
	const u64 *secret;
};

GW_INLINE u32 gw_min_of(u64 now, u64 epoch)
{
	return now > epoch ? (u32)((now - epoch) / 60) : 0;
}

GW_INLINE bool gw_is_exempt_rcpt(const u8 *rcpt, u16 len)
{
	/* Normalised recipient: compare the local part only. */
	if (len >= 10 && gw_buf_prefix(rcpt, 0, len, "postmaster") &&
	    (len == 10 || rcpt[10] == '@'))
		return true;
	if (len >= 5 && gw_buf_prefix(rcpt, 0, len, "abuse") && (len == 5 || rcpt[5] == '@'))
		return true;
	return false;
}

/* Count one pass of a client network, at most once per awl_interval. */
GW_INLINE void gw_awl_credit(const struct gw_policy *p, const struct gw_client_net *net, u64 now)
{
	const struct gw_config *c = p->cfg;
	struct gw_table *t = p->awl;
	u64 fp, st, nst;
	struct gw_slot *slot;
	u32 rel, i;

	if (!t || !c->awl_clients)
		return;
	fp = gw_awl_fp(p->secret, net);
	slot = gw_table_claim(t, fp);
	if (!slot)
		return;
	rel = gw_table_rel(t, now);
	for (i = 0; i < GW_CAS_RETRIES; i++) {
		if (!gw_slot_read(slot, fp, &st))
			return;
		if (gw_state_kind(st) == GW_ST_DYING)
			continue;
		if (gw_state_kind(st) == GW_ST_NONE) {
			nst = gw_state_pack(GW_ST_PASSED, 1, rel, rel / 60);
		} else if ((u64)rel >= (u64)gw_state_last_min(st) * 60 + c->awl_interval ||
			   (u64)rel >= (u64)gw_state_last_min(st) * 60 + c->max_age) {
			nst = gw_state_pack(GW_ST_PASSED, gw_state_count(st) + 1,
					    gw_state_first(st), rel / 60);
		} else {
			return;
		}
		if (gw_cas64(&slot->state, st, nst) == st)
			return;
	}
}

GW_INLINE bool gw_awl_listed(const struct gw_policy *p, const struct gw_client_net *net, u64 now,
			     u32 min_count)
{
	struct gw_slot *slot;
	u64 fp, st;

	if (!p->awl)
		return false;
	fp = gw_awl_fp(p->secret, net);
	slot = gw_table_lookup(p->awl, fp);
	if (!slot || !gw_slot_read(slot, fp, &st) || gw_state_kind(st) != GW_ST_PASSED)
		return false;
	if ((u64)gw_table_rel(p->awl, now) > (u64)gw_state_last_min(st) * 60 + p->cfg->max_age)
		return false;
	return gw_state_count(st) >= min_count;
}

/*
 * The triplet state machine. Returns the verdict for an entry keyed by fp:
 * unseen -> GREYLIST and remember; early retry -> GREYLIST, clock unchanged;
 * retry after the delay inside the retry window -> PASS; passed entries live
 * max_age after they were last seen.
 */
GW_INLINE void gw_triplet_step(const struct gw_policy *p, u64 fp, u64 now, struct gw_decision *d)
{
	const struct gw_config *c = p->cfg;
	struct gw_table *t = p->triplets;
	struct gw_slot *slot;
	u64 st, nst;
	u32 rel, i;

	d->fp = fp;
	d->remaining = 0;
	slot = gw_table_claim(t, fp);
	if (!slot) {
		d->verdict = GW_V_FAIL_OPEN;
		return;
	}
	rel = gw_table_rel(t, now);
	for (i = 0; i < GW_CAS_RETRIES; i++) {
		u32 kind, first, since;

		if (!gw_slot_read(slot, fp, &st)) {
			/* Removed under us: claim afresh. */
			slot = gw_table_claim(t, fp);
			if (!slot) {
				d->verdict = GW_V_FAIL_OPEN;
				return;
			}
			continue;
		}
		kind = gw_state_kind(st);
		first = gw_state_first(st);
		since = rel > first ? rel - first : 0;
		if (kind == GW_ST_DYING)
			continue;
		if (kind == GW_ST_PASSED &&
		    (u64)rel <= (u64)gw_state_last_min(st) * 60 + c->max_age) {
			d->verdict = GW_V_PASS;
			nst = gw_state_pack(GW_ST_PASSED, gw_state_count(st) + 1, first, rel / 60);
		} else if (kind == GW_ST_GREY && since < c->delay) {
			d->verdict = GW_V_GREYLIST;
			d->remaining = c->delay - since;
			nst = gw_state_pack(GW_ST_GREY, gw_state_count(st) + 1, first, rel / 60);
		} else if (kind == GW_ST_GREY && since <= c->retry_window) {
			d->verdict = GW_V_PASS;
			nst = gw_state_pack(GW_ST_PASSED, 1, first, rel / 60);
		} else {
			/* Unseen, or forgotten: retry window or max age ran out. */
			d->verdict = GW_V_GREYLIST;
			d->remaining = c->delay;
			nst = gw_state_pack(GW_ST_GREY, 1, rel, rel / 60);
		}
		if (gw_cas64(&slot->state, st, nst) == st)
			return;
	}
	GW_TABLE_STAT(t, contended);
	d->verdict = GW_V_FAIL_OPEN;
}

/* The verdict for one RCPT of one transaction. */
GW_INLINE void gw_decide(const struct gw_policy *p, const struct gw_triplet *trip,
			 const struct gw_list_hits *lists, u64 now, struct gw_decision *d)
{
	d->fp = 0;
	d->remaining = 0;
	if (lists->black) {
		d->verdict = GW_V_BLACKLIST;
		return;
	}
	if (p->cfg->exempt_postmaster && gw_is_exempt_rcpt(trip->rcpt, trip->rcpt_len)) {
		d->verdict = GW_V_PASS_EXEMPT;
		return;
	}
	if (lists->white) {
		d->verdict = GW_V_PASS_WHITELIST;
		return;
	}
	if (p->cfg->awl_clients && gw_awl_listed(p, &trip->net, now, p->cfg->awl_clients)) {
		d->verdict = GW_V_PASS_AWL;
		return;
	}
	gw_triplet_step(p, gw_triplet_fp(p->secret, trip), now, d);
	if (d->verdict == GW_V_PASS)
		gw_awl_credit(p, &trip->net, now);
}

/*
 * STARTTLS hides the envelope, so an unknown client network is greylisted on
 * (network, HELO name) before it encrypts. A network with any passed triplet
 * (it has an auto-whitelist entry), or a whitelisted one, goes through.
 */
GW_INLINE void gw_decide_tls(const struct gw_policy *p, const struct gw_client_net *net,
			     const u8 *helo, u16 helo_len, const struct gw_list_hits *lists,
			     u64 now, struct gw_decision *d)
{
	d->fp = 0;
	d->remaining = 0;
	if (lists->black & GW_LIST_CLIENT) {
		d->verdict = GW_V_BLACKLIST;
		return;
	}
	if (p->cfg->tls_mode == GW_TLS_PASS || (lists->white & GW_LIST_CLIENT)) {
		d->verdict = GW_V_PASS_WHITELIST;
		return;
	}
	if (gw_awl_listed(p, net, now, 1)) {
		d->verdict = GW_V_PASS_AWL;
		return;
	}
	gw_triplet_step(p, gw_tls_fp(p->secret, net, helo, helo_len), now, d);
	if (d->verdict == GW_V_PASS)
		gw_awl_credit(p, net, now);
}

/*
 * "TLS pending": greywall answered this (network, HELO)'s STARTTLS with a 4xx
 * and the pseudo-triplet has not waited out the delay. An opportunistic-TLS
 * client falls back to plaintext after that answer; a plaintext session from
 * it now would carry its envelope in cleartext because of greywall. So the
 * data paths refuse such a session at its EHLO/HELO, with the same reply, and
 * nothing of the envelope is sent. The pseudo-triplet's entry is the memory:
 * bounded by the table, and pending only for the delay (then STARTTLS passes).
 * Never writes. Fills d (GREYLIST, remaining) when pending.
 */
GW_INLINE bool gw_tls_pending(const struct gw_policy *p, const struct gw_client_net *net,
			      const u8 *helo, u16 helo_len, const struct gw_list_hits *lists,
			      u64 now, struct gw_decision *d)
{
	u64 fp, st;
	struct gw_slot *slot;
	u32 rel, first, since;

	if (p->cfg->tls_mode != GW_TLS_GREYLIST || (lists->white & GW_LIST_CLIENT) ||
	    (lists->black & GW_LIST_CLIENT))
		return false;
	fp = gw_tls_fp(p->secret, net, helo, helo_len);
	slot = gw_table_lookup(p->triplets, fp);
	if (!slot || !gw_slot_read(slot, fp, &st) || gw_state_kind(st) != GW_ST_GREY)
		return false;
	rel = gw_table_rel(p->triplets, now);
	first = gw_state_first(st);
	since = rel > first ? rel - first : 0;
	if (since >= p->cfg->delay || gw_awl_listed(p, net, now, 1))
		return false;
	d->verdict = GW_V_GREYLIST;
	d->remaining = p->cfg->delay - since;
	d->fp = fp;
	return true;
}

#endif /* GREYWALL_POLICY_H */
