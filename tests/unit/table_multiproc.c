// SPDX-License-Identifier: BSD-2-Clause
/*
 * Several processes hammer one table file through separate mappings, the way
 * the dataplane lcores and greywalld share it:
 *  - every process adds 1 to the same hot keys many times (no update lost);
 *  - every process inserts, removes and re-inserts its own keys, whose state
 *    word is a function of the key, while reading the others' keys (no torn
 *    or foreign state is ever read).
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

#include "greywall/table_file.h"

#define NPROC		   4
#define HOT_KEYS	   16
#define HOT_ADDS_PER_ROUND 6000
#define OWN_KEYS	   20000
#define OWN_ROUNDS	   3

static char path[64];

static u64 mix(u64 x)
{
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 32;
	return gw_fp_fixup(x);
}

static u64 hot_fp(u32 i)
{
	return mix(0x5000000000ULL + i);
}

static u64 own_fp(u32 proc, u32 i)
{
	return mix(((u64)(proc + 1) << 40) + i);
}

/* A state that can only belong to fp: a torn or foreign read cannot match it. */
static u64 state_for(u64 fp)
{
	return gw_state_pack(GW_ST_PASSED, 1, (u32)(fp >> 32), (u32)(fp >> 8) & 0xffffff);
}

static int start_pipe[2];

static int child(u32 proc)
{
	struct gw_table_map m;
	char err[256], c;
	u32 i, r, bad = 0, seen_foreign = 0;

	/* start together: the parent closes the pipe once every child exists */
	close(start_pipe[1]);
	while (read(start_pipe[0], &c, 1) > 0)
		;

	if (gw_table_map_open(&m, path, 0, GW_TABLE_TRIPLETS, 0, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "child %u: %s\n", proc, err);
		return 2;
	}
	for (r = 0; r < OWN_ROUNDS; r++) {
		for (i = 0; i < OWN_KEYS; i++) {
			u64 fp = own_fp(proc, i), st;
			struct gw_slot *s = gw_table_claim(&m.table, fp);

			if (!s)
				return 3;
			st = gw_load64(&s->state);
			gw_cas64(&s->state, st, state_for(fp));
			/* interleave hot-key adds with the private work */
			if (i < HOT_ADDS_PER_ROUND) {
				struct gw_slot *h = gw_table_claim(&m.table, hot_fp(i % HOT_KEYS));

				if (!h)
					return 4;
				for (;;) {
					u64 old = gw_load64(&h->state), nst;

					nst = gw_state_pack(GW_ST_GREY, 0, gw_state_first(old) + 1,
							    0);
					if (gw_cas64(&h->state, old, nst) == old)
						break;
				}
			}
			/* read someone else's key */
			{
				u64 ofp = own_fp((proc + 1) % NPROC, i), ost;
				struct gw_slot *o = gw_table_lookup(&m.table, ofp);

				if (o && gw_slot_read(o, ofp, &ost) && ost != 0 &&
				    gw_state_kind(ost) != GW_ST_DYING) {
					seen_foreign++;
					if (ost != state_for(ofp))
						bad++;
				}
			}
		}
		if (r + 1 < OWN_ROUNDS) {
			/* remove half, so later rounds go through tombstones */
			for (i = 0; i < OWN_KEYS; i += 2) {
				u64 fp = own_fp(proc, i);
				struct gw_slot *s = gw_table_lookup(&m.table, fp);

				if (s && !gw_table_remove(&m.table, s, fp, state_for(fp)))
					bad++;
			}
		}
	}
	gw_table_map_close(&m);
	if (bad)
		fprintf(stderr, "child %u: %u bad reads or removes\n", proc, bad);
	if (!seen_foreign)
		fprintf(stderr, "child %u: never overlapped with another process\n", proc);
	return bad ? 1 : 0;
}

static void test_concurrent_processes(void **state)
{
	struct gw_table_map m;
	char err[256];
	pid_t pids[NPROC];
	u32 p, i;
	u64 total = 0, live, tomb;

	(void)state;
	snprintf(path, sizeof(path), "/dev/shm/gw-test-mp-%d", (int)getpid());
	unlink(path);
	assert_int_equal(gw_table_map_open(&m, path, NPROC * OWN_KEYS * 2, GW_TABLE_TRIPLETS,
					   GW_TF_CREATE, NULL, err, sizeof(err)),
			 0);
	assert_int_equal(pipe(start_pipe), 0);
	for (p = 0; p < NPROC; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0)
			_exit(child(p));
	}
	close(start_pipe[0]);
	close(start_pipe[1]);
	for (p = 0; p < NPROC; p++) {
		int st;

		assert_int_equal(waitpid(pids[p], &st, 0), pids[p]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	/* no lost update on the hot keys */
	for (i = 0; i < HOT_KEYS; i++) {
		struct gw_slot *s = gw_table_lookup(&m.table, hot_fp(i));

		assert_non_null(s);
		total += gw_state_first(s->state);
	}
	assert_int_equal(total, (u64)NPROC * OWN_ROUNDS * HOT_ADDS_PER_ROUND);
	/* every private key present exactly once with its own state */
	for (p = 0; p < NPROC; p++) {
		for (i = 0; i < OWN_KEYS; i++) {
			u64 fp = own_fp(p, i);
			struct gw_slot *s = gw_table_lookup(&m.table, fp);

			assert_non_null(s);
			assert_int_equal(s->state, state_for(fp));
		}
	}
	gw_table_count(&m.table, &live, &tomb);
	assert_int_equal(live, (u64)NPROC * OWN_KEYS + HOT_KEYS);
	print_message("# %d processes: %llu live, %llu tombstones, %llu hot-key adds\n", NPROC,
		      (unsigned long long)live, (unsigned long long)tomb,
		      (unsigned long long)total);
	gw_table_map_close(&m);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_concurrent_processes),
	};
	return cmocka_run_group_tests_name("table_multiproc", tests, NULL, NULL);
}
