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

struct gw_table_header {
	u64 magic;
	u32 version;
	u32 header_size;
	u64 nbuckets;
	u32 bucket_size;
	u32 slot_size;
	u32 kind;
	u32 reserved0;
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
			gw_fetch_add64(&(t)->hdr->stats.field, 1);                                  \
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

/* Returns the slot holding fp, or NULL. Never writes. */
GW_INLINE struct gw_slot *gw_table_lookup(struct gw_table *t, u64 fp)
{
	u32 i, s;

	for (i = 0; i < GW_TABLE_PROBE_BUCKETS; i++) {
		struct gw_bucket *b = GW_TABLE_BUCKET(t, gw_table_probe(t, fp, i));

		if (!b)
			return NULL;
		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			u64 cur = gw_load64(&b->slot[s].fp);

			if (cur == fp)
				return &b->slot[s];
			if (cur == GW_FP_EMPTY)
				return NULL;
		}
	}
	return NULL;
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

/* After claiming a tombstone, the first copy of fp in probe order wins. */
GW_INLINE struct gw_slot *gw_table_resolve_dup(struct gw_table *t, u64 fp, struct gw_slot *mine)
{
	u32 i, s;

	for (i = 0; i < GW_TABLE_PROBE_BUCKETS; i++) {
		struct gw_bucket *b = GW_TABLE_BUCKET(t, gw_table_probe(t, fp, i));

		if (!b)
			return mine;
		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			struct gw_slot *sl = &b->slot[s];

			if (sl == mine)
				return mine;
			if (gw_load64(&sl->fp) == fp) {
				gw_cas64(&mine->fp, fp, GW_FP_TOMBSTONE);
				return sl;
			}
		}
	}
	return mine;
}

GW_INLINE bool gw_table_remove(struct gw_table *t, struct gw_slot *slot, u64 fp, u64 expected);

/* Take over a tombstone for fp; the sweeper left DYING behind, which becomes unset. */
GW_INLINE struct gw_slot *gw_table_take_tombstone(struct gw_table *t, struct gw_slot *tomb, u64 fp)
{
	u64 st;

	if (gw_cas64(&tomb->fp, GW_FP_TOMBSTONE, fp) != GW_FP_TOMBSTONE)
		return NULL;
	st = gw_load64(&tomb->state);
	if (gw_state_kind(st) == GW_ST_DYING)
		gw_cas64(&tomb->state, st, 0);
	GW_TABLE_STAT(t, inserts);
	return gw_table_resolve_dup(t, fp, tomb);
}

/*
 * Find fp or claim a slot for it. With no free slot in the probe sequence,
 * the oldest entry still waiting for a retry is evicted: under a flood of
 * unique triplets that is almost always spam that never retries, and failing
 * open instead would let the flood switch greylisting off. Passed entries are
 * never evicted; if nothing can go, returns NULL and the caller fails open.
 */
GW_INLINE struct gw_slot *gw_table_claim(struct gw_table *t, u64 fp)
{
	struct gw_slot *tomb = NULL, *victim = NULL;
	u64 victim_fp = 0, victim_st = 0;
	u32 i, s;

	for (i = 0; i < GW_TABLE_PROBE_BUCKETS; i++) {
		struct gw_bucket *b = GW_TABLE_BUCKET(t, gw_table_probe(t, fp, i));

		if (!b)
			return NULL;
		for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
			struct gw_slot *sl = &b->slot[s];
			u64 cur = gw_load64(&sl->fp);

			if (cur == GW_FP_EMPTY) {
				/* fp is absent: reuse the first tombstone before this point. */
				if (tomb) {
					struct gw_slot *got = gw_table_take_tombstone(t, tomb, fp);

					if (got)
						return got;
					tomb = NULL;
				}
				cur = gw_cas64(&sl->fp, GW_FP_EMPTY, fp);
				if (cur == GW_FP_EMPTY) {
					GW_TABLE_STAT(t, inserts);
					/* a racing claim may have put fp in an earlier tombstone */
					return gw_table_resolve_dup(t, fp, sl);
				}
			}
			if (cur == fp)
				return sl;
			if (cur == GW_FP_TOMBSTONE) {
				if (!tomb)
					tomb = sl;
			} else if (!tomb) {
				u64 st = gw_load64(&sl->state);

				if (gw_state_kind(st) == GW_ST_GREY &&
				    (!victim || gw_state_first(st) < gw_state_first(victim_st))) {
					victim = sl;
					victim_fp = cur;
					victim_st = st;
				}
			}
		}
	}
	if (!tomb && victim && gw_table_remove(t, victim, victim_fp, victim_st)) {
		tomb = victim;
		GW_TABLE_STAT(t, evicted);
	}
	if (tomb) {
		struct gw_slot *sl = gw_table_take_tombstone(t, tomb, fp);

		if (sl)
			return sl;
	}
	GW_TABLE_STAT(t, full);
	return NULL;
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
