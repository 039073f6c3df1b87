// SPDX-License-Identifier: BSD-2-Clause
/* greywall-dp's shared state: the event ring's order, its full case, and a restart seen by the
 * reader. */
#include <unistd.h>

#include "unit.h"

#include "greywall/dp_shm.h"

static char path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/dev/shm/gw-test-dpshm-%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void push(struct gw_dp_event_ring *r, u64 seq, bool expect_room)
{
	struct gw_dp_event *ev = gw_dp_event_reserve(r);

	if (!expect_room) {
		assert_null(ev);
		return;
	}
	assert_non_null(ev);
	ev->time = seq;
	gw_dp_event_commit(r);
}

static void test_ring_order_full_and_wrap(void **state)
{
	struct gw_dp_shm_map writer, reader;
	struct gw_dp_event ev;
	char err[256];
	u64 i, next = 0;

	(void)state;
	assert_int_equal(gw_dp_shm_create(&writer, path, 1, 2, err, sizeof(err)), 0);
	assert_int_equal(gw_dp_shm_open(&reader, path, err, sizeof(err)), 0);
	for (i = 0; i < GW_DP_EVENT_SLOTS; i++)
		push(&writer.shm->ring[0], i, true);
	push(&writer.shm->ring[0], 99999, false); /* full: dropped and counted */
	assert_int_equal(reader.shm->ring[0].dropped, 1);
	for (i = 0; i < 10; i++) {
		assert_true(gw_dp_event_pop(&reader.shm->ring[0], &ev));
		assert_int_equal(ev.time, next++);
	}
	for (i = 0; i < 10; i++) /* the slots just read are free again, across the wrap */
		push(&writer.shm->ring[0], GW_DP_EVENT_SLOTS + i, true);
	while (gw_dp_event_pop(&reader.shm->ring[0], &ev))
		assert_int_equal(ev.time, next++);
	assert_int_equal(next, GW_DP_EVENT_SLOTS + 10);
	gw_dp_shm_close(&writer);
	gw_dp_shm_close(&reader);
}

static void test_restart_is_noticed_and_foreign_refused(void **state)
{
	struct gw_dp_shm_map a, b, r;
	char err[256];
	FILE *f;

	(void)state;
	assert_int_equal(gw_dp_shm_create(&a, path, 1, 2, err, sizeof(err)), 0);
	assert_int_equal(gw_dp_shm_open(&r, path, err, sizeof(err)), 0);
	assert_false(gw_dp_shm_replaced(&r, path));
	assert_int_equal(gw_dp_shm_create(&b, path, 1, 2, err, sizeof(err)), 0);
	assert_true(gw_dp_shm_replaced(&r, path));
	gw_dp_shm_close(&a);
	gw_dp_shm_close(&b);
	gw_dp_shm_close(&r);
	f = fopen(path, "w");
	fputs("not ours", f);
	fclose(f);
	assert_int_not_equal(gw_dp_shm_open(&r, path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "too short"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ring_order_full_and_wrap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_restart_is_noticed_and_foreign_refused, setup,
					    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
