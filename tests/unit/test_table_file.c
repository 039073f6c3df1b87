// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include "unit.h"

#include "greywall/table_file.h"

static char path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/dev/shm/gw-test-table-%d", (int)getpid());
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_create_then_reopen_keeps_entries(void **state)
{
	struct gw_table_map a, b;
	char err[256];
	struct gw_slot *s;

	(void)state;
	assert_int_equal(gw_table_map_open(&a, path, 1000, GW_TABLE_TRIPLETS, GW_TF_CREATE, NULL,
					   err, sizeof(err)),
			 0);
	assert_int_equal(a.table.nbuckets, gw_table_nbuckets_for(1000));
	assert_true(a.table.hdr->secret[0] | a.table.hdr->secret[1]);
	s = gw_table_claim(&a.table, 12345);
	s->state = gw_state_pack(GW_ST_PASSED, 1, 2, 3);
	/* another mapping, as another process would have */
	assert_int_equal(gw_table_map_open(&b, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, 256), 0);
	assert_memory_equal(a.table.hdr->secret, b.table.hdr->secret, 16);
	assert_non_null(gw_table_lookup(&b.table, 12345));
	assert_int_equal(gw_table_lookup(&b.table, 12345)->state, s->state);
	gw_table_map_close(&a);
	gw_table_map_close(&b);
	/* and after every mapping is gone */
	assert_int_equal(gw_table_map_open(&a, path, 1000, GW_TABLE_TRIPLETS, 0, NULL, err, 256),
			 0);
	assert_non_null(gw_table_lookup(&a.table, 12345));
	gw_table_map_close(&a);
}

static void test_refuses_foreign_files(void **state)
{
	struct gw_table_map m;
	char err[256];
	u32 v;
	int fd;

	(void)state;
	assert_int_equal(gw_table_map_open(&m, path, 1000, GW_TABLE_TRIPLETS, GW_TF_CREATE, NULL,
					   err, sizeof(err)),
			 0);
	gw_table_map_close(&m);
	/* other geometry */
	assert_int_equal(gw_table_map_open(&m, path, 5000, GW_TABLE_TRIPLETS, 0, NULL, err, 256),
			 -EINVAL);
	assert_non_null(strstr(err, "buckets"));
	/* other kind */
	assert_int_equal(gw_table_map_open(&m, path, 0, GW_TABLE_AWL, 0, NULL, err, 256), -EINVAL);
	assert_non_null(strstr(err, "auto-whitelist"));
	/* other version */
	fd = open(path, O_RDWR);
	v = 99;
	assert_int_equal(pwrite(fd, &v, 4, 8), 4);
	assert_int_equal(gw_table_map_open(&m, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, 256),
			 -EINVAL);
	assert_non_null(strstr(err, "version 99"));
	/* truncated */
	v = GW_TABLE_VERSION;
	assert_int_equal(pwrite(fd, &v, 4, 8), 4);
	assert_int_equal(ftruncate(fd, 8192), 0);
	assert_int_equal(gw_table_map_open(&m, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, 256),
			 -EINVAL);
	assert_non_null(strstr(err, "truncated"));
	/* not a table at all */
	assert_int_equal(pwrite(fd, "hello world, no", 16, 0), 16);
	assert_int_equal(gw_table_map_open(&m, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, 256),
			 -EINVAL);
	assert_non_null(strstr(err, "bad magic"));
	close(fd);
	/* missing without create */
	unlink(path);
	assert_int_equal(gw_table_map_open(&m, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, 256),
			 -ENOENT);
}

static void test_given_secret(void **state)
{
	struct gw_table_map m;
	const u64 secret[2] = {7, 8};
	char err[256];

	(void)state;
	assert_int_equal(gw_table_map_open(&m, path, 100, GW_TABLE_AWL, GW_TF_CREATE | GW_TF_SECRET,
					   secret, err, sizeof(err)),
			 0);
	assert_int_equal(m.table.hdr->secret[0], 7);
	assert_int_equal(m.table.hdr->secret[1], 8);
	gw_table_map_close(&m);
}

/*
 * A header whose bucket count wraps gw_table_bytes to the file's own size would
 * be mapped short and read past its end (greyctl stats died of SIGSEGV).
 */
static void test_forged_bucket_count_refused(void **state)
{
	struct gw_table_map m;
	char err[256];
	u64 nb;
	int fd;

	(void)state;
	assert_int_equal(gw_table_map_open(&m, path, 1000, GW_TABLE_TRIPLETS, GW_TF_CREATE, NULL,
					   err, sizeof(err)),
			 0);
	nb = m.table.nbuckets + (1ULL << 58);
	gw_table_map_close(&m);
	fd = open(path, O_RDWR);
	assert_int_equal(pwrite(fd, &nb, 8, offsetof(struct gw_table_header, nbuckets)), 8);
	close(fd);
	assert_int_equal(gw_table_map_open(&m, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, 256),
			 -EINVAL);
	assert_non_null(strstr(err, "overflow"));
}

/* A second daemon on the same table is refused with the first one's pid. */
static void test_one_lock_per_table(void **state)
{
	struct gw_table_map m;
	char err[256], want[32];
	int fd;

	(void)state;
	assert_int_equal(gw_table_map_open(&m, path, 1000, GW_TABLE_TRIPLETS, GW_TF_CREATE, NULL,
					   err, sizeof(err)),
			 0);
	fd = gw_table_lock(path, err, sizeof(err));
	assert_true(fd >= 0);
	/* flock is per open file, so a second open in this process stands for another daemon */
	assert_int_equal(gw_table_lock(path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "(pid %d)", (int)getpid());
	if (!strstr(err, want) || !strstr(err, path))
		fail_msg("'%s'", err);
	/* mapping it is not locking it: greywall-dp and greyctl still open it */
	gw_table_map_close(&m);
	assert_int_equal(gw_table_map_open(&m, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, 256), 0);
	gw_table_map_close(&m);
	close(fd);
	fd = gw_table_lock(path, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

/* A sparse table file can be made far larger than its file system: SIGBUS later. */
static void test_room_for_the_tables(void **state)
{
	const char *paths[2] = {path, "/dev/shm/gw-test-room-awl"};
	u64 bytes[2] = {1ULL << 20, 1ULL << 16};
	char err[512];

	(void)state;
	assert_int_equal(gw_table_room_check(paths, bytes, 2, err, sizeof(err)), 0);
	/* capacity = 68719476736, the top of the documented range */
	bytes[0] = gw_table_bytes(gw_table_nbuckets_for(1ULL << 36));
	assert_int_equal(gw_table_room_check(paths, bytes, 2, err, sizeof(err)), -1);
	if (!strstr(err, "bytes of memory") && !strstr(err, "free"))
		fail_msg("'%s'", err);
	/* a file system without the room, on a machine with the memory: /dev/shm's free space */
	bytes[0] = 1ULL << 20;
	paths[1] = "/nonexistent-dir/awl";
	assert_int_equal(gw_table_room_check(paths, bytes, 2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_then_reopen_keeps_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_foreign_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_given_secret, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_bucket_count_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_lock_per_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_room_for_the_tables, setup, teardown),
	};
	return cmocka_run_group_tests_name("table_file", tests, NULL, NULL);
}
