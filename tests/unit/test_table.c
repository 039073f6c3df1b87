// SPDX-License-Identifier: BSD-2-Clause
#include "unit.h"

#include "greywall/table.h"

struct heap_table {
	struct gw_table_header hdr;
	struct gw_table t;
	struct gw_bucket *mem;
};

static void heap_table_init(struct heap_table *h, u64 nbuckets)
{
	memset(&h->hdr, 0, sizeof(h->hdr));
	h->mem = aligned_alloc(64, nbuckets * sizeof(struct gw_bucket));
	memset(h->mem, 0, nbuckets * sizeof(struct gw_bucket));
	h->t.hdr = &h->hdr;
	h->t.buckets = h->mem;
	h->t.nbuckets = nbuckets;
	h->t.epoch = 0;
}

/* Fingerprints spread like SipHash output, and never 0 or 1. */
static u64 fp_of(u64 i)
{
	u64 x = i * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return gw_fp_fixup(x);
}

static void test_state_packing(void **state)
{
	u64 s = gw_state_pack(GW_ST_PASSED, 5, 0xfffffff0u, 0xabcdef);

	(void)state;
	assert_int_equal(gw_state_kind(s), GW_ST_PASSED);
	assert_int_equal(gw_state_count(s), 5);
	assert_int_equal(gw_state_first(s), 0xfffffff0u);
	assert_int_equal(gw_state_last_min(s), 0xabcdef);
	/* the count saturates instead of spilling into the timestamp */
	assert_int_equal(gw_state_count(gw_state_pack(GW_ST_GREY, 1000, 1, 1)), GW_COUNT_MAX);
	assert_int_equal(gw_state_last_min(gw_state_pack(GW_ST_GREY, 1000, 1, 1)), 1);
}

static void test_claim_lookup_remove(void **state)
{
	struct heap_table h;
	struct gw_slot *a, *b;
	u64 fp = fp_of(1), st = 0;

	(void)state;
	heap_table_init(&h, 64);
	assert_null(gw_table_lookup(&h.t, fp));
	a = gw_table_claim(&h.t, fp);
	assert_non_null(a);
	assert_int_equal(a->fp, fp);
	b = gw_table_claim(&h.t, fp);
	assert_ptr_equal(a, b); /* claiming twice finds the first */
	assert_ptr_equal(gw_table_lookup(&h.t, fp), a);
	a->state = gw_state_pack(GW_ST_GREY, 1, 10, 0);
	assert_true(gw_slot_read(a, fp, &st));
	/* a stale expected state does not remove a refreshed entry */
	assert_false(gw_table_remove(&h.t, a, fp, gw_state_pack(GW_ST_GREY, 2, 10, 0)));
	assert_true(gw_table_remove(&h.t, a, fp, st));
	assert_null(gw_table_lookup(&h.t, fp));
	assert_int_equal(a->fp, GW_FP_TOMBSTONE);
	assert_int_equal(h.hdr.stats.inserts, 1);
	assert_int_equal(h.hdr.stats.expired, 1);
	free(h.mem);
}

static void test_high_load(void **state)
{
	/* Fill until the first claim fails; everything claimed must still be found. */
	enum { NB = 4096 };
	struct heap_table h;
	u64 i, n = 0;

	(void)state;
	heap_table_init(&h, NB);
	for (i = 0; i < NB * GW_SLOTS_PER_BUCKET; i++) {
		if (!gw_table_claim(&h.t, fp_of(i)))
			break;
		n++;
	}
	print_message("# filled %llu of %u slots (%.1f %%) before the first full probe sequence\n",
		      (unsigned long long)n, NB * GW_SLOTS_PER_BUCKET,
		      100.0 * (double)n / (NB * GW_SLOTS_PER_BUCKET));
	assert_true(n > NB * GW_SLOTS_PER_BUCKET * 65 / 100);
	for (i = 0; i < n; i++)
		assert_non_null(gw_table_lookup(&h.t, fp_of(i)));
	assert_null(gw_table_lookup(&h.t, fp_of(n + 1000000)));
	assert_int_equal(h.hdr.stats.full, 1);
	free(h.mem);
}

/* Fill a small table until fp finds no room, every entry in the given state kind. */
static void fill_until_full(struct heap_table *h, u64 fp, u32 kind)
{
	u64 i;

	for (i = 0;; i++) {
		struct gw_slot *sl;

		if (fp_of(i) == fp)
			continue;
		sl = gw_table_claim(&h->t, fp_of(i));
		if (sl)
			sl->state = gw_state_pack(kind, 1, (u32)(1000 + i % 977), 0);
		/* Lookups of fp stop at the first EMPTY; none left means full. */
		if (!gw_table_lookup(&h->t, fp) && i > 64) {
			u32 b, s, empty = 0;

			for (b = 0; b < GW_TABLE_PROBE_BUCKETS; b++)
				for (s = 0; s < GW_SLOTS_PER_BUCKET; s++)
					empty += h->mem[gw_table_probe(&h->t, fp, b)].slot[s].fp ==
						 GW_FP_EMPTY;
			if (!empty)
				return;
		}
	}
}

static void test_full_sequence_reuses_tombstones(void **state)
{
	struct heap_table h;
	struct gw_slot *victim, *s;
	u64 fp = fp_of(1u << 30), vfp;

	(void)state;
	heap_table_init(&h, 64);
	fill_until_full(&h, fp, GW_ST_PASSED);
	/* passed entries are never evicted: a full sequence fails open */
	assert_null(gw_table_claim(&h.t, fp));
	victim = &h.mem[gw_table_probe(&h.t, fp, 5)].slot[2];
	vfp = victim->fp;
	assert_true(gw_table_remove(&h.t, victim, vfp, victim->state));
	s = gw_table_claim(&h.t, fp);
	assert_ptr_equal(s, victim);
	/* the sweeper's DYING mark is cleared for the new owner */
	assert_int_equal(s->state, 0);
	assert_ptr_equal(gw_table_lookup(&h.t, fp), s);
	assert_null(gw_table_lookup(&h.t, vfp));
	free(h.mem);
}

static void test_full_sequence_evicts_oldest_waiting(void **state)
{
	struct heap_table h;
	struct gw_slot *oldest = NULL, *s;
	u64 fp = fp_of(1u << 30), oldest_fp, evicted;
	u32 b, k;

	(void)state;
	heap_table_init(&h, 64);
	fill_until_full(&h, fp, GW_ST_GREY);
	for (b = 0; b < GW_TABLE_PROBE_BUCKETS; b++) {
		for (k = 0; k < GW_SLOTS_PER_BUCKET; k++) {
			s = &h.mem[gw_table_probe(&h.t, fp, b)].slot[k];
			if (!oldest || gw_state_first(s->state) < gw_state_first(oldest->state))
				oldest = s;
		}
	}
	/* make it unambiguous, and put a passed entry even older next to it */
	oldest->state = gw_state_pack(GW_ST_GREY, 1, 5, 0);
	oldest_fp = oldest->fp;
	s = &h.mem[gw_table_probe(&h.t, fp, 0)].slot[0];
	if (s == oldest)
		s = &h.mem[gw_table_probe(&h.t, fp, 0)].slot[1];
	s->state = gw_state_pack(GW_ST_PASSED, 1, 1, 0);
	evicted = h.hdr.stats.evicted;
	s = gw_table_claim(&h.t, fp);
	assert_ptr_equal(s, oldest);
	assert_null(gw_table_lookup(&h.t, oldest_fp));
	assert_int_equal(h.hdr.stats.evicted, evicted + 1);
	free(h.mem);
}

static void test_duplicate_resolution(void **state)
{
	struct heap_table h;
	struct gw_slot *low, *high, *r;
	u64 fp = fp_of(5);

	(void)state;
	heap_table_init(&h, 64);
	/* Simulate the race: two writers claimed two tombstones for one key. */
	low = &h.mem[gw_table_probe(&h.t, fp, 0)].slot[1];
	high = &h.mem[gw_table_probe(&h.t, fp, 6)].slot[2];
	low->fp = fp;
	high->fp = fp;
	/* positions: bucket step * slots per bucket + slot */
	r = gw_table_slot_at(&h.t, fp, gw_table_resolve_dup(&h.t, fp, 6 * GW_SLOTS_PER_BUCKET + 2));
	assert_ptr_equal(r, low);
	assert_int_equal(high->fp, GW_FP_TOMBSTONE);
	assert_ptr_equal(gw_table_slot_at(&h.t, fp, gw_table_resolve_dup(&h.t, fp, 1)), low);
	free(h.mem);
}

static void test_probe_in_range(void **state)
{
	struct gw_table t = {.nbuckets = 1000003};
	u64 i;
	u32 k;

	(void)state;
	for (i = 0; i < 100000; i++)
		for (k = 0; k < GW_TABLE_PROBE_BUCKETS; k++)
			assert_true(gw_table_probe(&t, fp_of(i), k) < t.nbuckets);
	for (k = 0; k < GW_TABLE_PROBE_BUCKETS; k++)
		assert_true(gw_table_probe(&t, ~0ULL, k) < t.nbuckets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_state_packing),
	    cmocka_unit_test(test_claim_lookup_remove),
	    cmocka_unit_test(test_high_load),
	    cmocka_unit_test(test_full_sequence_reuses_tombstones),
	    cmocka_unit_test(test_full_sequence_evicts_oldest_waiting),
	    cmocka_unit_test(test_duplicate_resolution),
	    cmocka_unit_test(test_probe_in_range),
	};
	return cmocka_run_group_tests_name("table", tests, NULL, NULL);
}
