// SPDX-License-Identifier: BSD-2-Clause
/* Expiry sweeps and snapshots of the shared tables. */
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "greywall/trusted_file.h"

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

/* The kind of triplet i's entry (GW_ST_NONE when absent). */
static u32 kind_of(struct fx *f, int i)
{
	struct gw_triplet t = {0};
	struct gw_slot *sl;
	u8 a[4] = {198, 18, 0, 1};

	gw_client_net_make(&t.net, GW_AF_INET, a, 24);
	t.sender_len = (u16)snprintf((char *)t.sender, GW_ADDR_MAX, "s%d@a.example", i);
	t.rcpt_len = (u16)snprintf((char *)t.rcpt, GW_ADDR_MAX, "r@b.example");
	sl = gw_table_lookup(&f->trip.table, gw_triplet_fp(f->trip.table.hdr->secret, &t));
	return sl ? gw_state_kind(sl->state) : GW_ST_NONE;
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
	if (gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, 4096, err, sizeof(err)))
		fail_msg("%s", err);
	open_tables(f);
	assert_int_equal(f->trip.table.hdr->secret[0], secret0);
	assert_int_equal(live(f), 100);
	/* the first attempts are remembered: the retries pass */
	for (i = 0; i < 100; i++)
		assert_int_equal(decide(f, i, T0 + 300), GW_V_PASS);
	/* restoring over a live table is refused */
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not overwriting"));
}

/* A reboot, and greywall-dp makes the tables first: its own secret, an epoch 30 days on. */
static void reboot_and_let_another_make_the_tables(struct fx *f)
{
	gw_table_map_close(&f->trip);
	gw_table_map_close(&f->awl);
	unlink(tpath);
	unlink(apath);
	open_tables(f);
	f->trip.table.hdr->epoch += 30 * DAY;
	f->trip.table.epoch = f->trip.table.hdr->epoch;
}

static void test_snapshot_merges_into_a_table_another_made(void **state)
{
	struct fx *f = *state;
	u64 snap_secret = f->trip.table.hdr->secret[0], restored;
	char err[256];
	int i;

	for (i = 0; i < 100; i++)
		decide(f, i, T0);
	for (i = 100; i < 105; i++) {
		decide(f, i, T0);
		decide(f, i, T0 + 300);
	}
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	reboot_and_let_another_make_the_tables(f);
	assert_true(f->trip.table.hdr->secret[0] != snap_secret);

	/* empty, so it takes the snapshot's secret and every entry, in its own epoch */
	if (gw_snapshot_merge_into(spath, &f->trip.table, &restored, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(restored, 105);
	assert_int_equal(f->trip.table.hdr->secret[0], snap_secret);
	assert_int_equal(live(f), 105);
	assert_int_equal(kind_of(f, 100), GW_ST_PASSED);
	/* first seen stays T0: too early a retry still waits, one after the delay passes */
	for (i = 0; i < 50; i++)
		assert_int_equal(decide(f, i, T0 + 100), GW_V_GREYLIST);
	for (i = 50; i < 100; i++)
		assert_int_equal(decide(f, i, T0 + 300), GW_V_PASS);

	/* what the table holds wins over the snapshot: passed stays passed */
	if (gw_snapshot_merge_into(spath, &f->trip.table, &restored, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(restored, 0);
	assert_int_equal(kind_of(f, 60), GW_ST_PASSED);
	assert_int_equal(live(f), 105);

	/* entries under another secret: not restored, nothing touched */
	reboot_and_let_another_make_the_tables(f);
	decide(f, 500, T0);
	assert_int_equal(gw_snapshot_merge_into(spath, &f->trip.table, &restored, err, sizeof(err)),
			 1);
	assert_non_null(strstr(err, "holds 1 entries under another secret"));
	assert_true(f->trip.table.hdr->secret[0] != snap_secret);
	assert_int_equal(live(f), 1);
	assert_int_equal(kind_of(f, 500), GW_ST_GREY);
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
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "checksum mismatch"));
	assert_int_equal(stat(spath, &st), 0);	      /* left in place */
	assert_int_not_equal(access(tpath, F_OK), 0); /* and nothing half made */
	/* wrong kind */
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_AWL, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kind"));
	/* truncated */
	assert_int_equal(truncate(spath, 1000), 0);
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "truncated"));
	/* not a snapshot at all */
	snprintf(other, sizeof(other), "/tmp/gw-mt-%d.other", (int)getpid());
	fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "hello, this is not it at all....", 32), 32);
	close(fd);
	assert_int_equal(gw_snapshot_restore(other, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a greywall snapshot"));
	unlink(other);
}

/*
 * The snapshot's checksum key is in the source (lib/maintenance.c), so anyone
 * who can write the file can forge a header. Offsets: the snapshot header is
 * magic, version, kind, image size, checksum (32 bytes); the image follows.
 */
#define SNAP_HDR	 32
#define SNAP_CHECKSUM_AT 24
static const u64 snap_key[2] = {0x736e617073686f74ULL, 0x6772657977616c6cULL};

static void forge_nbuckets(const char *path, u64 add)
{
	struct gw_siphash h;
	struct stat st;
	size_t size, done;
	u64 nb, sum;
	u8 *image;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	size = (size_t)st.st_size - SNAP_HDR;
	image = malloc(size);
	assert_int_equal(pread(fd, image, size, SNAP_HDR), (ssize_t)size);
	memcpy(&nb, image + offsetof(struct gw_table_header, nbuckets), 8);
	nb += add;
	memcpy(image + offsetof(struct gw_table_header, nbuckets), &nb, 8);
	gw_siphash_init(&h, snap_key[0], snap_key[1]);
	for (done = 0; done < size; done += 1u << 20)
		gw_siphash_update(&h, image + done,
				  (u32)(size - done < (1u << 20) ? size - done : (1u << 20)));
	sum = gw_siphash_final(&h);
	assert_int_equal(pwrite(fd, image, size, SNAP_HDR), (ssize_t)size);
	assert_int_equal(pwrite(fd, &sum, 8, SNAP_CHECKSUM_AT), 8);
	close(fd);
	free(image);
}

/* nbuckets + 2^58 buckets of 64 bytes wrap to the same image size: refused, nothing made */
static void test_forged_bucket_count_refused(void **state)
{
	struct fx *f = *state;
	char err[256];

	decide(f, 1, T0);
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	forge_nbuckets(spath, 1ULL << 58);
	gw_table_map_close(&f->trip);
	unlink(tpath);
	assert_int_equal(gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	if (!strstr(err, "overflow") || !strstr(err, "left in place"))
		fail_msg("'%s'", err);
	assert_int_not_equal(access(tpath, F_OK), 0);
	assert_int_equal(access(spath, F_OK), 0);
	open_tables(f);
}

/* A snapshot of another capacity is refused before a table file is made for it. */
static void test_snapshot_of_another_geometry_leaves_nothing(void **state)
{
	struct fx *f = *state;
	char err[256];

	decide(f, 1, T0);
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	gw_table_map_close(&f->trip);
	unlink(tpath);
	assert_int_equal(
	    gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, 100000, err, sizeof(err)), -1);
	if (!strstr(err, "capacity 100000") || !strstr(err, "left in place"))
		fail_msg("'%s'", err);
	assert_int_not_equal(access(tpath, F_OK), 0);
	/* the right capacity takes it */
	assert_int_equal(
	    gw_snapshot_restore(spath, tpath, GW_TABLE_TRIPLETS, 4096, err, sizeof(err)), 0);
	open_tables(f);
	assert_int_equal(live(f), 1);
}

/* A FIFO, a directory or a stranger's file in the snapshot's place: refused at once, kept */
static void test_snapshot_not_a_trusted_file_refused(void **state)
{
	struct fx *f = *state;
	char err[256], odd[80];

	(void)f;
	snprintf(odd, sizeof(odd), "/tmp/gw-mt-%d.odd", (int)getpid());
	assert_int_equal(mkfifo(odd, 0600), 0);
	alarm(5); /* waiting for a writer would end the run here */
	assert_int_equal(gw_snapshot_restore(odd, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	alarm(0);
	if (!strstr(err, "not a regular file") || !strstr(err, "left in place"))
		fail_msg("a FIFO: '%s'", err);
	unlink(odd);
	assert_int_equal(mkdir(odd, 0700), 0);
	assert_int_equal(gw_snapshot_restore(odd, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "a directory"));
	rmdir(odd);
	assert_int_equal(gw_snapshot_write(&f->trip.table, odd, err, sizeof(err)), 0);
	assert_int_equal(chown(odd, 65533, 65533), 0);
	gw_table_map_close(&f->trip);
	unlink(tpath);
	assert_int_equal(gw_snapshot_restore(odd, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "owned by uid 65533"));
	assert_int_not_equal(access(tpath, F_OK), 0);
	/* greywall's own user wrote it: taken */
	gw_trusted_owner_set(65533);
	assert_int_equal(gw_snapshot_restore(odd, tpath, GW_TABLE_TRIPLETS, 0, err, sizeof(err)),
			 0);
	gw_trusted_owner_set(0);
	unlink(odd);
	open_tables(f);
}

/* The image holds the table secret: 0600, even over a leftover .tmp of another mode. */
static void test_snapshot_is_private(void **state)
{
	struct fx *f = *state;
	char err[256], tmp[80];
	struct stat st;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", spath);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	assert_int_equal(gw_snapshot_write(&f->trip.table, spath, err, sizeof(err)), 0);
	assert_int_equal(stat(spath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sweep_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweep_is_incremental, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_survives_reboot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_merges_into_a_table_another_made, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_snapshots_refused_and_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_bucket_count_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_of_another_geometry_leaves_nothing, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_not_a_trusted_file_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot_is_private, setup, teardown),
	};
	return cmocka_run_group_tests_name("maintenance", tests, NULL, NULL);
}
