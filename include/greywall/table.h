/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The triplet table: one layout shared by the XDP program, the DPDK dataplane
 * and greywalld, in a file mapping or an mmapable BPF array.
 *
 * Open addressing over 64-byte buckets of four 16-byte slots. A slot is two
 * words, a fingerprint and a packed state, and every change is one 64-bit
 * compare-and-swap, so readers never lock and writers never block each other.
 *
 * Slot life cycle (fingerprint word / state word):
 *   EMPTY/0 --claim--> fp/0 --policy--> fp/live --sweep--> fp/DYING
 *   --> TOMBSTONE/DYING --claim--> fp'/DYING --> fp'/0 --> ...
 * An EMPTY slot never comes back, so a lookup may stop at the first EMPTY of
 * the probe sequence. A claim takes the first tombstone before that EMPTY, or
 * the EMPTY itself; two racing claims of one key can land in two slots, so
 * every claim re-checks the sequence and the first copy in probe order wins.
 * A third writer that updated the losing copy in that instant loses its
 * update: that triplet is greylisted once more, nothing worse.
 */
#ifndef GREYWALL_TABLE_H
#define GREYWALL_TABLE_H

#include "compiler.h"

#define GW_TABLE_MAGIC	    0x4c4c415759455247ULL /* "GREYWALL" little-endian */
#define GW_TABLE_VERSION    1
#define GW_TABLE_HDR_SIZE   4096
#define GW_SLOTS_PER_BUCKET 4
/*
 * Probe sequence: GW_TABLE_SEGMENTS segments of GW_SEGMENT_BUCKETS adjacent
 * buckets, 64 slots in all, bounded for the BPF verifier. Measured with
 * first-fit inserts: no window is full up to 70 % load, 5e-4 of inserts find
 * one at 80 % (docs/table.md).
 */
#define GW_TABLE_SEGMENTS      4
#define GW_SEGMENT_BUCKETS     4
#define GW_TABLE_PROBE_BUCKETS (GW_TABLE_SEGMENTS * GW_SEGMENT_BUCKETS)
#define GW_TABLE_MIN_BUCKETS   GW_TABLE_PROBE_BUCKETS
#define GW_FP_EMPTY	       0ULL
#define GW_FP_TOMBSTONE	       1ULL

enum gw_table_kind {
	GW_TABLE_TRIPLETS = 1,
	GW_TABLE_AWL = 2,
};

struct gw_slot {
	u64 fp;
	u64 state;
};

struct gw_bucket {
	struct gw_slot slot[GW_SLOTS_PER_BUCKET];
} __attribute__((aligned(64)));

/* Shared counters live in the header so every process sees one set. */
struct gw_table_stats {
	u64 inserts;
	u64 full;      /* no slot and nothing evictable: fail open */
	u64 expired;   /* removed by the sweeper or evicted */
	u64 contended; /* CAS retries exhausted: fail open */
	u64 evicted;   /* oldest waiting entry made room for a new one */
};

enum gw_table_flags {
	/*
	 * greywalld has looked at this table: restored its snapshot into it, or
	 * found it holding entries of its own. A table without it was made by
	 * someone else (greywall-dp, first after a reboot) and may still take the
	 * snapshot in.
	 */
	GW_TABLE_SETTLED = 1,
};

struct gw_table_header {
	u64 magic;
	u32 version;
	u32 header_size;
	u64 nbuckets;
	u32 bucket_size;
	u32 slot_size;
	u32 kind;
	u32 flags;     /* gw_table_flags */
	u64 epoch;     /* unix seconds that state timestamps count from */
	u64 secret[2]; /* SipHash key for every fingerprint in this installation */
	u64 created;
	struct gw_table_stats stats;
	u8 pad[GW_TABLE_HDR_SIZE - 72 - sizeof(struct gw_table_stats)];
};

_Static_assert(sizeof(struct gw_slot) == 16, "slot must be 16 bytes");
_Static_assert(sizeof(struct gw_bucket) == 64, "bucket must be one cache line");
_Static_assert(sizeof(struct gw_table_header) == GW_TABLE_HDR_SIZE, "header size");

/*
 * The geometry of a header laid out for nbuckets buckets of this kind: one
 * writer for the table files, the relay filter's maps, and user space laying
 * those maps out. (In BPF h reaches element 0 only; these fields lie there.)
 */
GW_INLINE void gw_table_header_geometry(struct gw_table_header *h, u64 nbuckets, u32 kind)
{
	h->version = GW_TABLE_VERSION;
	h->header_size = GW_TABLE_HDR_SIZE;
	h->nbuckets = nbuckets;
	h->bucket_size = sizeof(struct gw_bucket);
	h->slot_size = sizeof(struct gw_slot);
	h->kind = kind;
}

/*
 * State word: first seen in seconds (32 bits, 136 years from the epoch), last
 * seen in minutes (24 bits, 31 years), a 6-bit saturating count and 2 bits of
 * kind. Minutes are enough for the day-scale windows that use last seen.
 */
enum gw_state_kind {
	GW_ST_NONE = 0, /* claimed, nothing decided yet */
	GW_ST_GREY = 1, /* seen, waiting for a retry after the delay */
	GW_ST_PASSED = 2,
	GW_ST_DYING = 3, /* being removed by the sweeper */
};

#define GW_COUNT_MAX 63u

GW_INLINE u64 gw_state_pack(u32 kind, u32 count, u32 first_s, u32 last_min)
{
	if (count > GW_COUNT_MAX)
		count = GW_COUNT_MAX;
	return ((u64)first_s << 32) | ((u64)(last_min & 0xffffff) << 8) | ((u64)count << 2) |
	       (kind & 3);
}

GW_INLINE u32 gw_state_kind(u64 s)
{
	return (u32)(s & 3);
}

GW_INLINE u32 gw_state_count(u64 s)
{
	return (u32)((s >> 2) & 0x3f);
}

GW_INLINE u32 gw_state_last_min(u64 s)
{
	return (u32)((s >> 8) & 0xffffff);
}

GW_INLINE u32 gw_state_first(u64 s)
{
	return (u32)(s >> 32);
}

struct gw_table {
	struct gw_table_header *hdr;
	struct gw_bucket *buckets;
	u64 nbuckets;
	u64 epoch;
	u32 kind; /* gw_table_kind: how the BPF side finds its map */
};

#ifndef GW_TABLE_BUCKET
#define GW_TABLE_BUCKET(t, idx) (&(t)->buckets[(idx)])
#endif

/*
 * Shared counters. The BPF programs count in a per-CPU map instead: a map
 * value pointer cannot reach past one 64-byte element of the bucket array.
 */
#ifndef GW_TABLE_STAT
#define GW_TABLE_STAT(t, field)                                                                    \
	do {                                                                                       \
		if ((t)->hdr)                                                                      \
			gw_fetch_add64(&(t)->hdr->stats.field, 1);                                 \
	} while (0)
#endif

/*
 * Bucket for step i of fp's probe sequence. Segments start at independent
 * places (bounded linear probing alone clusters and fills only ~50 % before
 * the first full window); buckets inside a segment are adjacent, so the
 * hardware prefetcher brings the next one in.
 */
GW_INLINE u64 gw_table_probe(const struct gw_table *t, u64 fp, u32 i)
{
	u32 seg = i / GW_SEGMENT_BUCKETS, off = i % GW_SEGMENT_BUCKETS;
	u64 mult = seg == 0   ? 1
		   : seg == 1 ? 0xc2b2ae3d27d4eb4fULL
		   : seg == 2 ? 0x165667b19e3779f9ULL
			      : 0xd6e8feb86659fd93ULL;
	/* Lemire's multiply-shift: any bucket count, no modulo on the hot path. */
	u64 home = ((((fp * mult) >> 32) & 0xffffffffULL) * t->nbuckets) >> 32;

	home += off;
	return home >= t->nbuckets ? home - t->nbuckets : home;
}

GW_INLINE u64 gw_fp_fixup(u64 h)
{
	return h < 2 ? h + 2 : h; /* 0 and 1 are EMPTY and TOMBSTONE */
}

/* Seconds since the table epoch, clamped: a clock before the epoch is epoch. */
GW_INLINE u32 gw_table_rel(const struct gw_table *t, u64 now)
{
	return now > t->epoch ? (u32)(now - t->epoch) : 0;
}

/*
 * Slots are named by their position in fp's probe sequence (bucket step *
 * GW_SLOTS_PER_BUCKET + slot): the probe walks are steps, and a step returns
 * a scalar, never a pointer.
 */
#define GW_POS_NONE  0xffffffffu
#define GW_PROBE_POS (GW_TABLE_PROBE_BUCKETS * GW_SLOTS_PER_BUCKET)

/* The slot at a position of fp's probe sequence. */
GW_INLINE struct gw_slot *gw_table_slot_at(struct gw_table *t, u64 fp, int pos)
{
	struct gw_bucket *b;

	if (pos < 0 || pos >= GW_PROBE_POS)
		return NULL;
	b = GW_TABLE_BUCKET(t, gw_table_probe(t, fp, (u32)pos / GW_SLOTS_PER_BUCKET));
	if (!b)
		return NULL;
	return &b->slot[gw_index((u32)pos % GW_SLOTS_PER_BUCKET, GW_SLOTS_PER_BUCKET)];
}

/* The position holding fp, or -1. Never writes. */
GW_STEP int gw_table_lookup_pos(struct gw_table *t, u64 fp)
{
	u32 i, s;

	if (!t)
		return -1;
	for (i = 0; i < GW_TABLE_PROBE_BUCKETS; i++) {
		struct gw_bucket *b = GW_TABLE_BUCKET(t, gw_table_probe(t, fp, i));

		if (!b)
			return -1;
		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			u64 cur = gw_load64(&b->slot[s].fp);

			if (cur == fp)
				return (int)(i * GW_SLOTS_PER_BUCKET + s);
			if (cur == GW_FP_EMPTY)
				return -1;
		}
	}
	return -1;
}

/* Returns the slot holding fp, or NULL. Never writes. */
GW_INLINE struct gw_slot *gw_table_lookup(struct gw_table *t, u64 fp)
{
	return gw_table_slot_at(t, fp, gw_table_lookup_pos(t, fp));
}

/*
 * Read a slot's state and confirm the slot still belongs to fp afterwards,
 * so a concurrent delete-and-reuse cannot hand us another key's state.
 */
GW_INLINE bool gw_slot_read(struct gw_slot *slot, u64 fp, u64 *state)
{
	u64 st = gw_load64(&slot->state);

	if (gw_load64(&slot->fp) != fp)
		return false;
	*state = st;
	return true;
}

/* After claiming the slot at position mine, the first copy of fp in probe order wins. */
GW_STEP int gw_table_resolve_dup(struct gw_table *t, u64 fp, u32 mine)
{
	u32 i, s;

	if (!t)
		return -1;
	for (i = 0; i < GW_TABLE_PROBE_BUCKETS; i++) {
		struct gw_bucket *b = GW_TABLE_BUCKET(t, gw_table_probe(t, fp, i));

		if (!b)
			return (int)mine;
		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			if (i * GW_SLOTS_PER_BUCKET + s == mine)
				return (int)mine;
			if (gw_load64(&b->slot[s].fp) == fp) {
				struct gw_slot *sl = gw_table_slot_at(t, fp, (int)mine);

				if (sl)
					gw_cas64(&sl->fp, fp, GW_FP_TOMBSTONE);
				return (int)(i * GW_SLOTS_PER_BUCKET + s);
			}
		}
	}
	return (int)mine;
}

GW_INLINE bool gw_table_remove(struct gw_table *t, struct gw_slot *slot, u64 fp, u64 expected);

/* Take over the tombstone at pos for fp; the sweeper left DYING behind, which becomes unset. */
GW_STEP int gw_table_take_tombstone(struct gw_table *t, u32 pos, u64 fp)
{
	struct gw_slot *tomb;
	u64 st;

	if (!t)
		return -1;
	tomb = gw_table_slot_at(t, fp, (int)pos);
	if (!tomb || gw_cas64(&tomb->fp, GW_FP_TOMBSTONE, fp) != GW_FP_TOMBSTONE)
		return -1;
	st = gw_load64(&tomb->state);
	if (gw_state_kind(st) == GW_ST_DYING)
		gw_cas64(&tomb->state, st, 0);
	GW_TABLE_STAT(t, inserts);
	return gw_table_resolve_dup(t, fp, pos);
}

/* What a claim remembers while it walks the probe sequence. */
struct gw_claim_scan {
	u32 tomb;   /* the first tombstone, or GW_POS_NONE */
	u32 victim; /* the oldest entry waiting for a retry, before any tombstone */
	u64 victim_fp;
	u64 victim_st;
};

enum gw_scan_result {
	GW_SCAN_NEXT = 0,      /* fp is not in this bucket: go on */
	GW_SCAN_FOUND = 0x100, /* | slot: fp is there */
	GW_SCAN_EMPTY = 0x200, /* | slot: never used, so fp is absent from the sequence */
};

/* Slots [from, GW_SLOTS_PER_BUCKET) of bucket b, step i of fp's probe sequence. */
GW_STEP int gw_bucket_scan(struct gw_bucket *b, u64 fp, u32 i, u32 from, struct gw_claim_scan *sc)
{
	u32 s;

	if (!b || !sc)
		return GW_SCAN_NEXT;
	for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
		struct gw_slot *sl = &b->slot[s];
		u64 cur, st;

		if (s < from)
			continue;
		cur = gw_load64(&sl->fp);
		if (cur == fp)
			return GW_SCAN_FOUND | (int)s;
		if (cur == GW_FP_EMPTY)
			return GW_SCAN_EMPTY | (int)s;
		if (cur == GW_FP_TOMBSTONE) {
			if (sc->tomb == GW_POS_NONE)
				sc->tomb = i * GW_SLOTS_PER_BUCKET + s;
			continue;
		}
		if (sc->tomb != GW_POS_NONE)
			continue;
		st = gw_load64(&sl->state);
		if (gw_state_kind(st) == GW_ST_GREY &&
		    (sc->victim == GW_POS_NONE ||
		     gw_state_first(st) < gw_state_first(sc->victim_st))) {
			sc->victim = i * GW_SLOTS_PER_BUCKET + s;
			sc->victim_fp = cur;
			sc->victim_st = st;
		}
	}
	return GW_SCAN_NEXT;
}

/*
 * Find fp or claim a slot for it; returns its position or -1. With no free
 * slot in the probe sequence, the oldest entry still waiting for a retry is
 * evicted: under a flood of unique triplets that is almost always spam that
 * never retries, and failing open instead would let the flood switch
 * greylisting off. Passed entries are never evicted; if nothing can go, the
 * caller fails open.
 */
GW_STEP int gw_table_claim_pos(struct gw_table *t, u64 fp)
{
	struct gw_claim_scan sc = {GW_POS_NONE, GW_POS_NONE, 0, 0};
	int got;
	u32 i, k;

	if (!t)
		return -1;
	for (i = 0; i < GW_TABLE_PROBE_BUCKETS; i++) {
		struct gw_bucket *b = GW_TABLE_BUCKET(t, gw_table_probe(t, fp, i));
		int r;

		if (!b)
			return -1;
		r = gw_bucket_scan(b, fp, i, 0, &sc);
		/* An EMPTY slot only ever turns into a key, so this ends within a bucket. */
		for (k = 0; k < GW_SLOTS_PER_BUCKET && (r & GW_SCAN_EMPTY); k++) {
			u32 s = (u32)r % GW_SLOTS_PER_BUCKET;

			/* fp is absent: reuse the first tombstone before this point. */
			if (sc.tomb != GW_POS_NONE) {
				got = gw_table_take_tombstone(t, sc.tomb, fp);
				if (got >= 0)
					return got;
				sc.tomb = GW_POS_NONE;
			}
			if (gw_cas64(&b->slot[s].fp, GW_FP_EMPTY, fp) == GW_FP_EMPTY) {
				GW_TABLE_STAT(t, inserts);
				/* a racing claim may have put fp in an earlier tombstone */
				return gw_table_resolve_dup(t, fp, i * GW_SLOTS_PER_BUCKET + s);
			}
			/* someone else took the slot: look at it again, then go on */
			r = gw_bucket_scan(b, fp, i, s, &sc);
		}
		if (r & GW_SCAN_FOUND)
			return (int)(i * GW_SLOTS_PER_BUCKET + (u32)r % GW_SLOTS_PER_BUCKET);
		if (r & GW_SCAN_EMPTY)
			return -1; /* four lost races in one bucket: fail open */
	}
	if (sc.tomb == GW_POS_NONE && sc.victim != GW_POS_NONE) {
		struct gw_slot *sl = gw_table_slot_at(t, fp, (int)sc.victim);

		if (sl && gw_table_remove(t, sl, sc.victim_fp, sc.victim_st)) {
			sc.tomb = sc.victim;
			GW_TABLE_STAT(t, evicted);
		}
	}
	if (sc.tomb != GW_POS_NONE) {
		got = gw_table_take_tombstone(t, sc.tomb, fp);
		if (got >= 0)
			return got;
	}
	GW_TABLE_STAT(t, full);
	return -1;
}

/* The slot of fp, claimed if need be, or NULL: the caller fails open. */
GW_INLINE struct gw_slot *gw_table_claim(struct gw_table *t, u64 fp)
{
	return gw_table_slot_at(t, fp, gw_table_claim_pos(t, fp));
}

/*
 * Remove fp if its state is still 'expected': a refresh that raced the
 * sweeper wins, and the entry stays.
 */
GW_INLINE bool gw_table_remove(struct gw_table *t, struct gw_slot *slot, u64 fp, u64 expected)
{
	u64 dying = (expected & ~3ULL) | GW_ST_DYING;

	if (gw_load64(&slot->fp) != fp)
		return false;
	if (gw_cas64(&slot->state, expected, dying) != expected)
		return false;
	gw_cas64(&slot->fp, fp, GW_FP_TOMBSTONE);
	GW_TABLE_STAT(t, expired);
	return true;
}

#endif /* GREYWALL_TABLE_H */
