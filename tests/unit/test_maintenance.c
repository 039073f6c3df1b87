// SPDX-License-Identifier: BSD-2-Clause
/* Expiry sweeps and snapshots of the shared tables. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "greywall/maintenance.h"

#define T0  1800000000ULL
#define DAY 86400ULL

static char tpath[64], apath[64], spath[64];

struct fx {
	struct gw_table_map trip, awl;
	struct gw_config cfg;
	struct gw_policy pol;
};

static void open_tables(struct fx *f)
{
	char err[256];

	if (gw_table_map_open(&f->trip, tpath, 4096, GW_TABLE_TRIPLETS, GW_TF_CREATE, NULL, err,
			      sizeof(err)) ||
	    gw_table_map_open(&f->awl, apath, 1024, GW_TABLE_AWL, GW_TF_CREATE | GW_TF_SECRET,
			      f->trip.table.hdr->secret, err, sizeof(err)))
		fail_msg("%s", err);
	f->pol =
	    (struct gw_policy){&f->trip.table, &f->awl.table, &f->cfg, f->trip.table.hdr->secret};
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(tpath, sizeof(tpath), "/dev/shm/gw-mt-%d-t", (int)getpid());
	snprintf(apath, sizeof(apath), "/dev/shm/gw-mt-%d-a", (int)getpid());
	snprintf(spath, sizeof(spath), "/tmp/gw-mt-%d.snap", (int)getpid());
	unlink(tpath);
	unlink(apath);
	unlink(spath);
	gw_config_defaults(&f->cfg);
	f->cfg.awl_clients = 0;
	open_tables(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	gw_table_map_close(&f->trip);
	gw_table_map_close(&f->awl);
	unlink(tpath);
	unlink(apath);
	unlink(spath);
	free(f);
	return 0;
}

static enum gw_verdict decide(struct fx *f, int i, u64 now)
{
	static const struct gw_list_hits none;
	struct gw_triplet t = {0};
	struct gw_decision d;
	u8 a[4] = {198, 18, 0, 1};

	gw_client_net_make(&t.net, GW_AF_INET, a, 24);
	t.sender_len = (u16)snprintf((char *)t.sender, GW_ADDR_MAX, "s%d@a.example", i);
	t.rcpt_len = (u16)snprintf((char *)t.rcpt, GW_ADDR_MAX, "r@b.example");
	gw_decide(&f->pol, &t, &none, now, &d);
	return d.verdict;
}

static u64 live(struct fx *f)
{
	u64 l, d;

	gw_table_count(&f->trip.table, &l, &d);
	return l;
}

static u64 sweep_all(struct fx *f, u64 now)
{
	u64 cursor = 0;

	return gw_table_sweep(&f->trip.table, &f->cfg, now, &cursor, f->trip.table.nbuckets);
}

static void test_sweep_edges(void **state)
{
	struct fx *f = *state;
	int i;

	for (i = 0; i < 10; i++)
		decide(f, i, T0); /* waiting */
	for (i = 10; i < 15; i++) {
		decide(f, i, T0);
		decide(f, i, T0 + 300); /* passed */
	}
	assert_int_equal(live(f), 15);
	/* the retry window's last second keeps them */
	assert_int_equal(sweep_all(f, T0 + 2 * DAY), 0);
	assert_int_equal(sweep_all(f, T0 + 2 * DAY + 1), 10);
	assert_int_equal(live(f), 5);
	/* passed entries live max_age after last seen (kept in minutes) */
	assert_int_equal(sweep_all(f, T0 + 300 + 35 * DAY - 60), 0);
	assert_int_equal(sweep_all(f, T0 + 300 + 35 * DAY + 60), 5);
	assert_int_equal(live(f), 0);
	/* and a swept triplet starts over */
	assert_int_equal(decide(f, 12, T0 + 40 * DAY), GW_V_GREYLIST);
}

static void test_sweep_is_incremental(void **state)
{
	struct fx *f = *state;
	u64 cursor = 0, removed = 0, steps = 0, nb = f->trip.table.nbuckets;
	int i;

	for (i = 0; i < 2000; i++)
		decide(f, i, T0);
	while (steps * 64 < nb) {
		removed += gw_table_sweep(&f->trip.table, &f->cfg, T0 + 3 * DAY, &cursor, 64);
		steps++;
	}
	assert_int_equal(removed, 2000);
	assert_true(steps > 1);
	assert_int_equal(cursor, (steps * 64) % nb);
}

static void test_snapshot_survives_reboot(void **state)
{
	struct fx *f = *state;
	char err[256];
	u64 secret0 = f->trip.table.hdr->secret[0];
	int i;

	for (i = 0; i < 100; i++)
		decide(f, i, T0);
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	/* a reboot empties /dev/shm */
	gw_table_map_close(&f->trip);
	gw_table_map_close(&f->awl);
	unlink(tpath);
	unlink(apath);
	if (gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, err, sizeof(err)))
		fail_msg("%s", err);
	open_tables(f);
	assert_int_equal(f->trip.table.hdr->secret[0], secret0);
	assert_int_equal(live(f), 100);
	/* the first attempts are remembered: the retries pass */
	for (i = 0; i < 100; i++)
		assert_int_equal(decide(f, i, T0 + 300), GW_V_PASS);
	/* restoring over a live table is refused */
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not overwriting"));
}

static void test_bad_snapshots_refused_and_kept(void **state)
{
	struct fx *f = *state;
	char err[256], other[80];
	struct stat st;
	int fd;
	u8 b;

	decide(f, 1, T0);
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	unlink(tpath);
	/* one flipped bit in the body */
	fd = open(spath, O_RDWR);
	assert_int_equal(pread(fd, &b, 1, 5000), 1);
	b ^= 1;
	assert_int_equal(pwrite(fd, &b, 1, 5000), 1);
	close(fd);
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "checksum mismatch"));
	assert_int_equal(stat(spath, &st), 0);	      /* left in place */
	assert_int_not_equal(access(tpath, F_OK), 0); /* and nothing half made */
	/* wrong kind */
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_AWL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kind"));
	/* truncated */
	assert_int_equal(truncate(spath, 1000), 0);
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "truncated"));
	/* not a snapshot at all */
	snprintf(other, sizeof(other), "/tmp/gw-mt-%d.other", (int)getpid());
	fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "hello, this is not it at all....", 32), 32);
	close(fd);
	assert_int_equal(gw_snapshot_restore(other, tpath, GW_TABLE_TRIPLETS, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a greywall snapshot"));
	unlink(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sweep_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_is_incremental, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_survives_reboot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_snapshots_refused_and_kept, setup, teardown),
	};
	return cmocka_run_group_tests_name("maintenance", tests, NULL, NULL);
}
