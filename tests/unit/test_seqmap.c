// SPDX-License-Identifier: BSD-2-Clause
/* Sequence translation through removals and insertions, including retransmissions over old edits.
 */
#include "unit.h"

#include "../../dataplane/seqmap.h"

static void test_empty_map_is_identity(void **state)
{
	struct gw_seqmap m = {0};
	uint32_t s[4], e[4];

	(void)state;
	assert_int_equal(gw_seqmap_fwd(&m, 1234), 1234);
	assert_int_equal(gw_seqmap_back(&m, 1234), 1234);
	assert_int_equal(gw_seqmap_keep(&m, 10, 20, s, e, 4), 1);
	assert_int_equal(s[0], 10);
	assert_int_equal(e[0], 20);
}

static void test_removals(void **state)
{
	/* client stream: "MAIL...\r\n"(0-17) "RCPT <grey>"(17-36) "RCPT <ok>"(36-53) "DATA"(53-59)
	 */
	struct gw_seqmap m = {0};
	uint32_t s[4], e[4];

	(void)state;
	assert_non_null(gw_seqmap_add(&m, GW_EDIT_REMOVE, 17, 19, 0));
	assert_int_equal(gw_seqmap_fwd(&m, 0), 0);
	assert_int_equal(gw_seqmap_fwd(&m, 17), 17);
	assert_int_equal(gw_seqmap_fwd(&m, 20), 17); /* inside: clamps to the cut */
	assert_int_equal(gw_seqmap_fwd(&m, 36), 17);
	assert_int_equal(gw_seqmap_fwd(&m, 59), 40);
	/* the server acks 40 (everything): the client hears 59 */
	assert_int_equal(gw_seqmap_back(&m, 40), 59);
	/* the server acks up to the cut: the removed line counts as received */
	assert_int_equal(gw_seqmap_back(&m, 17), 36);
	assert_int_equal(gw_seqmap_back(&m, 10), 10);
	assert_int_equal(gw_seqmap_keep(&m, 0, 59, s, e, 4), 2);
	assert_int_equal(s[0], 0);
	assert_int_equal(e[0], 17);
	assert_int_equal(s[1], 36);
	assert_int_equal(e[1], 59);
	/* a retransmission of only the removed line keeps nothing */
	assert_int_equal(gw_seqmap_keep(&m, 17, 36, s, e, 4), 0);
	/* one straddling the cut keeps both sides */
	assert_int_equal(gw_seqmap_keep(&m, 10, 40, s, e, 4), 2);
	assert_int_equal(e[0], 17);
	assert_int_equal(s[1], 36);
}

static void test_two_removals_retransmission_over_the_old_one(void **state)
{
	struct gw_seqmap m = {0};
	uint32_t s[4], e[4];

	(void)state;
	gw_seqmap_add(&m, GW_EDIT_REMOVE, 100, 20, 0);
	gw_seqmap_add(&m, GW_EDIT_REMOVE, 300, 25, 1);
	assert_int_equal(gw_seqmap_fwd(&m, 150), 130);
	assert_int_equal(gw_seqmap_fwd(&m, 400), 355);
	/* seqadj that kept only the last edit would map 150 to 125 */
	assert_int_equal(gw_seqmap_back(&m, 130), 150);
	assert_int_equal(gw_seqmap_back(&m, 355), 400);
	assert_int_equal(gw_seqmap_back(&m, 280), 325);
	assert_int_equal(gw_seqmap_keep(&m, 90, 330, s, e, 4), 3);
	assert_int_equal(s[0], 90);
	assert_int_equal(e[0], 100);
	assert_int_equal(s[1], 120);
	assert_int_equal(e[1], 300);
	assert_int_equal(s[2], 325);
	assert_int_equal(e[2], 330);
	/* out-of-order edit is refused */
	assert_null(gw_seqmap_add(&m, GW_EDIT_REMOVE, 310, 5, 2));
}

static void test_insertions(void **state)
{
	/* server stream: "250 ok\r\n"(0-8), insert 450 (R=60) at 8, "554 ..."(8-40) */
	struct gw_seqmap m = {0};
	const struct gw_edit *e;

	(void)state;
	e = gw_seqmap_add(&m, GW_EDIT_INSERT, 8, 60, 3);
	assert_int_equal(e->new_off, 8);
	assert_int_equal(gw_seqmap_fwd(&m, 0), 0);
	assert_int_equal(gw_seqmap_fwd(&m, 7), 7);
	assert_int_equal(gw_seqmap_fwd(&m, 8), 68); /* first byte after the insertion */
	assert_int_equal(gw_seqmap_fwd(&m, 40), 100);
	/* client acks 100: the server hears 40 */
	assert_int_equal(gw_seqmap_back(&m, 100), 40);
	/* client acked into our bytes: the server has only 8 acked, and we know to resend */
	assert_int_equal(gw_seqmap_back(&m, 30), 8);
	assert_ptr_equal(gw_seqmap_insert_at(&m, 30), e);
	assert_ptr_equal(gw_seqmap_insert_at(&m, 8), e);
	assert_null(gw_seqmap_insert_at(&m, 68));
	assert_null(gw_seqmap_insert_at(&m, 7));
	/* a second insertion at the same point goes after the first */
	e = gw_seqmap_add(&m, GW_EDIT_INSERT, 8, 50, 4);
	assert_int_equal(e->new_off, 68);
	assert_int_equal(gw_seqmap_fwd(&m, 8), 118);
	assert_int_equal(gw_seqmap_back(&m, 118), 8);
	assert_int_equal(gw_seqmap_back(&m, 119), 9);
	assert_ptr_equal(gw_seqmap_insert_at(&m, 100), e);
}

static void test_wraparound(void **state)
{
	struct gw_seqmap m = {0};

	(void)state;
	gw_seqmap_add(&m, GW_EDIT_REMOVE, 0xfffffff0u, 0x20, 0);
	assert_int_equal(gw_seqmap_fwd(&m, 0x20), 0);
	assert_int_equal(gw_seqmap_back(&m, 0xfffffff0u), 0x10);
}

static void test_full_map(void **state)
{
	struct gw_seqmap m = {0};
	unsigned i;

	(void)state;
	for (i = 0; i < GW_SEQMAP_MAX; i++)
		assert_non_null(gw_seqmap_add(&m, GW_EDIT_INSERT, i * 100, 10, 0));
	assert_null(gw_seqmap_add(&m, GW_EDIT_INSERT, 10000, 10, 0));
}

/*
 * Folded edits leave the list but not the numbering: every offset at or past
 * the folded ones maps as before, and new edits can be added.
 */
static void test_fold_keeps_the_mapping_past_the_folded_edits(void **state)
{
	struct gw_seqmap m = {0}, ref = {0};
	uint32_t s[4], e[4];

	(void)state;
	for (int i = 0; i < GW_SEQMAP_MAX; i++) {
		assert_non_null(gw_seqmap_add(&m, GW_EDIT_REMOVE, 100u * i, 10, (uint8_t)i));
		assert_non_null(gw_seqmap_add(&ref, GW_EDIT_REMOVE, 100u * i, 10, (uint8_t)i));
	}
	assert_null(gw_seqmap_add(&m, GW_EDIT_REMOVE, 5000, 10, 0));
	gw_seqmap_fold(&m, 4);
	assert_int_equal(m.n, GW_SEQMAP_MAX - 4);
	assert_int_equal(m.base, -40);
	for (uint32_t off = 310; off < 2000; off += 7) {
		assert_int_equal(gw_seqmap_fwd(&m, off), gw_seqmap_fwd(&ref, off));
		if (off >= 400)
			assert_int_equal(gw_seqmap_back(&m, gw_seqmap_fwd(&ref, off)),
					 gw_seqmap_back(&ref, gw_seqmap_fwd(&ref, off)));
	}
	/* a stale byte before a folded edit maps below its true place: old to the receiver */
	assert_true(gw_seqmap_fwd(&m, 50) <= gw_seqmap_fwd(&ref, 50));
	assert_non_null(gw_seqmap_add(&m, GW_EDIT_REMOVE, 5000, 10, 0));
	assert_int_equal(gw_seqmap_fwd(&m, 6000), 6000 - 10 * (GW_SEQMAP_MAX + 1));
	assert_int_equal(gw_seqmap_keep(&m, 4990, 5020, s, e, 4), 2);
	assert_int_equal(e[0], 5000);
	assert_int_equal(s[1], 5010);
	gw_seqmap_fold(&m, 100);
	assert_int_equal(m.n, 0);
	assert_int_equal(gw_seqmap_fwd(&m, 6000), 6000 - 10 * (GW_SEQMAP_MAX + 1));
	assert_int_equal(gw_seqmap_back(&m, 6000 - 10 * (GW_SEQMAP_MAX + 1)), 6000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_map_is_identity),
	    cmocka_unit_test(test_removals),
	    cmocka_unit_test(test_two_removals_retransmission_over_the_old_one),
	    cmocka_unit_test(test_insertions),
	    cmocka_unit_test(test_wraparound),
	    cmocka_unit_test(test_full_map),
	    cmocka_unit_test(test_fold_keeps_the_mapping_past_the_folded_edits),
	};
	return cmocka_run_group_tests_name("seqmap", tests, NULL, NULL);
}
