// SPDX-License-Identifier: BSD-2-Clause
/*
 * gw_table_merge: a peer's entry merged with a local update's rules (the
 * cluster sync). Tables on two epochs, as two nodes' tables are.
 */
#include "unit.h"

#include "greywall/table_merge.h"

#define T0 1800000000ULL /* a Unix time: the local table's epoch */

struct heap_table {
	struct gw_table_header hdr;
	struct gw_table t;
};

static void heap_table_init(struct heap_table *h, u64 nbuckets, u64 epoch)
{
	memset(&h->hdr, 0, sizeof(h->hdr));
	h->t.hdr = &h->hdr;
	h->t.buckets = aligned_alloc(64, nbuckets * sizeof(struct gw_bucket));
	memset(h->t.buckets, 0, nbuckets * sizeof(struct gw_bucket));
	h->t.nbuckets = nbuckets;
	h->t.epoch = epoch;
}

static u64 state_of(struct heap_table *h, u64 fp)
{
	struct gw_slot *s = gw_table_lookup(&h->t, fp);
	u64 st = 0;

	assert_non_null(s);
	assert_true(gw_slot_read(s, fp, &st));
	return st;
}

static void decide(struct heap_table *h, const struct gw_config *c, u64 fp, u64 now,
		   struct gw_decision *d)
{
	struct gw_policy p = {&h->t, NULL, c, NULL};

	gw_triplet_step(&p, fp, now, d);
}

/* A first seen at a peer makes the retry at this node pass after the delay. */
static void test_peer_first_seen_lets_the_retry_pass(void **state)
{
	struct heap_table h;
	struct gw_config c;
	struct gw_decision d;
	u64 fp = 0x1234567890abcdefULL;

	(void)state;
	gw_config_defaults(&c);
	heap_table_init(&h, 64, T0);
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_GREY, 1, T0 + 100, T0 + 100, T0 + 101),
			 GW_MERGE_CHANGED);
	decide(&h, &c, fp, T0 + 100 + c.delay, &d);
	assert_int_equal(d.verdict, GW_V_PASS);
	free(h.t.buckets);
}

/* The older first seen wins, whichever node saw it and in whatever order. */
static void test_older_first_seen_wins(void **state)
{
	struct heap_table h;
	struct gw_config c;
	struct gw_decision d;
	u64 fp = 0x2234567890abcdefULL;

	(void)state;
	gw_config_defaults(&c);
	heap_table_init(&h, 64, T0);
	decide(&h, &c, fp, T0 + 500, &d); /* local first attempt at +500 */
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_GREY, 1, T0 + 200, T0 + 200, T0 + 501),
			 GW_MERGE_CHANGED);
	assert_int_equal(gw_state_first(state_of(&h, fp)), 200);
	/* a later first seen from another peer changes nothing */
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_GREY, 1, T0 + 400, T0 + 400, T0 + 501),
			 GW_MERGE_SAME);
	assert_int_equal(gw_state_first(state_of(&h, fp)), 200);
	free(h.t.buckets);
}

/* A pass is never undone, and a peer's pass makes the local entry passed. */
static void test_pass_is_never_undone(void **state)
{
	struct heap_table h;
	struct gw_config c;
	struct gw_decision d;
	u64 fp = 0x3234567890abcdefULL, now = T0 + 1000;

	(void)state;
	gw_config_defaults(&c);
	heap_table_init(&h, 64, T0);
	decide(&h, &c, fp, now, &d);
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_PASSED, 1, now - 400, now, now),
			 GW_MERGE_CHANGED);
	assert_int_equal(gw_state_kind(state_of(&h, fp)), GW_ST_PASSED);
	decide(&h, &c, fp, now + 1, &d);
	assert_int_equal(d.verdict, GW_V_PASS);
	/* a peer still waiting on the same triplet does not make it grey again */
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_GREY, 3, now - 10, now, now + 2),
			 GW_MERGE_SAME);
	assert_int_equal(gw_state_kind(state_of(&h, fp)), GW_ST_PASSED);
	free(h.t.buckets);
}

/* Merging the same news twice, or two peers' news in either order, ends the same. */
static void test_merges_are_idempotent_and_commute(void **state)
{
	struct heap_table a, b;
	struct gw_config c;
	u64 fp = 0x4234567890abcdefULL, now = T0 + 5000;

	(void)state;
	gw_config_defaults(&c);
	heap_table_init(&a, 64, T0);
	heap_table_init(&b, 64, T0);
	gw_table_merge(&a.t, &c, fp, GW_ST_GREY, 2, now - 600, now - 300, now);
	gw_table_merge(&a.t, &c, fp, GW_ST_PASSED, 1, now - 500, now - 60, now);
	assert_int_equal(gw_table_merge(&a.t, &c, fp, GW_ST_PASSED, 1, now - 500, now - 60, now),
			 GW_MERGE_SAME);
	gw_table_merge(&b.t, &c, fp, GW_ST_PASSED, 1, now - 500, now - 60, now);
	gw_table_merge(&b.t, &c, fp, GW_ST_GREY, 2, now - 600, now - 300, now);
	assert_int_equal(gw_state_kind(state_of(&a, fp)), GW_ST_PASSED);
	assert_int_equal(gw_state_first(state_of(&a, fp)), 5000 - 600);
	free(a.t.buckets);
	free(b.t.buckets);
}

/* Two nodes' tables count from different epochs: times travel as Unix seconds. */
static void test_epochs_differ(void **state)
{
	struct heap_table h;
	struct gw_config c;
	u64 fp = 0x5234567890abcdefULL;

	(void)state;
	gw_config_defaults(&c);
	heap_table_init(&h, 64, T0 + 86400);
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_GREY, 1, T0 + 86400 + 30,
					T0 + 86400 + 30, T0 + 86400 + 40),
			 GW_MERGE_CHANGED);
	assert_int_equal(gw_state_first(state_of(&h, fp)), 30);
	free(h.t.buckets);
}

/* What has expired by our clock takes no slot; an expired local entry yields to news. */
static void test_stale_entries(void **state)
{
	struct heap_table h;
	struct gw_config c;
	struct gw_decision d;
	u64 fp = 0x6234567890abcdefULL, now = T0 + 10 * 86400;

	(void)state;
	gw_config_defaults(&c);
	heap_table_init(&h, 64, T0);
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_GREY, 1, now - c.retry_window - 1,
					now - c.retry_window - 1, now),
			 GW_MERGE_STALE);
	assert_null(gw_table_lookup(&h.t, fp));
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_PASSED, 1, now - c.max_age - 900,
					now - c.max_age - 120, now),
			 GW_MERGE_STALE);
	/* a local grey entry past its retry window: a peer's fresh first seen replaces it */
	decide(&h, &c, fp, now - c.retry_window - 100, &d);
	assert_int_equal(gw_table_merge(&h.t, &c, fp, GW_ST_GREY, 1, now - 50, now - 50, now),
			 GW_MERGE_CHANGED);
	assert_int_equal(gw_state_first(state_of(&h, fp)), now - 50 - T0);
	free(h.t.buckets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peer_first_seen_lets_the_retry_pass),
	    cmocka_unit_test(test_older_first_seen_wins),
	    cmocka_unit_test(test_pass_is_never_undone),
	    cmocka_unit_test(test_merges_are_idempotent_and_commute),
	    cmocka_unit_test(test_epochs_differ),
	    cmocka_unit_test(test_stale_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
