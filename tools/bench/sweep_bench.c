// SPDX-License-Identifier: BSD-2-Clause
/*
 * Data-path lookup rate during a full expiry sweep, against the same lookups
 * with no sweep, measured side by side in one run. One thread looks up live
 * triplets (the data path); another runs gw_table_sweep over the whole table
 * back to back, far harder than greywalld's paced slices. Each on its own CPU.
 * Usage: sweep_bench [TRIPLETS] [SECONDS]
 */

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "greywall/maintenance.h"

#include "bench_util.h"

static struct gw_table table;
static struct gw_config cfg;
static u64 *live;
static u64 nlive, now_rel;
static volatile int sweeping, stop_sweep;
static volatile u64 sweep_passes, sweep_removed;
static double sweep_pass_seconds;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *sweeper(void *arg)
{
	(void)arg;
	pin(1);
	while (!stop_sweep) {
		u64 cursor = 0;
		double t0;

		if (!sweeping) {
			sched_yield();
			continue;
		}
		t0 = now_s();
		sweep_removed += gw_table_sweep(&table, &cfg, now_rel, &cursor, table.nbuckets);
		sweep_pass_seconds = now_s() - t0;
		sweep_passes++;
	}
	return NULL;
}

/* Lookups per second; *missed counts live triplets not found (must stay 0). */
static double lookups(double seconds, u64 *missed)
{
	u64 seed = 7, n = 0, hits = 0;
	double t0 = now_s(), t;

	do {
		int k;

		for (k = 0; k < 4096; k++) {
			u64 fp = live[splitmix(&seed) % nlive];
			struct gw_slot *s = gw_table_lookup(&table, fp);
			u64 st;

			hits += s && gw_slot_read(s, fp, &st);
		}
		n += 4096;
		t = now_s() - t0;
	} while (t < seconds);
	*missed = n - hits;
	return (double)n / t;
}

int main(int argc, char **argv)
{
	u64 n = argc > 1 ? strtoull(argv[1], NULL, 0) : 4000000, i, seed = 1, f0, f1;
	double seconds = argc > 2 ? atof(argv[2]) : 2.0, base, during;
	pthread_t th;

	gw_config_defaults(&cfg);
	table.nbuckets = n * 5 / 4 / GW_SLOTS_PER_BUCKET + GW_TABLE_MIN_BUCKETS;
	table.buckets = aligned_alloc(64, table.nbuckets * sizeof(struct gw_bucket));
	live = malloc(n / 2 * sizeof(*live));
	if (!table.buckets || !live) {
		fprintf(stderr, "sweep_bench: out of memory\n");
		return 1;
	}
	memset(table.buckets, 0, table.nbuckets * sizeof(struct gw_bucket));
	/* a day-old table: half passed and fresh (kept), half waiting past the window (expire) */
	now_rel = 10u * 86400u;
	for (i = 0; i < n; i++) {
		u64 fp = splitmix(&seed);
		struct gw_slot *s = gw_table_claim(&table, fp);

		if (!s)
			continue;
		if (i & 1) {
			s->state = gw_state_pack(GW_ST_GREY, 1, 0, 0);
		} else {
			s->state = gw_state_pack(GW_ST_PASSED, 2, (u32)now_rel - 3600,
						 (u32)(now_rel / 60));
			live[nlive++] = fp;
		}
	}
	pin(0);
	pthread_create(&th, NULL, sweeper, NULL);
	base = lookups(seconds, &f0);
	sweeping = 1;
	during = lookups(seconds, &f1);
	sweeping = 0;
	stop_sweep = 1;
	pthread_join(th, NULL);
	printf("table of %llu triplets (%llu buckets), lookups of live triplets, %.0f s each:\n",
	       (unsigned long long)n, (unsigned long long)table.nbuckets, seconds);
	printf("  no sweep                   %.2f M lookups/s\n", base / 1e6);
	printf("  full sweeps back to back   %.2f M lookups/s (%llu passes, %.0f ms per pass, "
	       "%llu expired)\n",
	       during / 1e6, (unsigned long long)sweep_passes, sweep_pass_seconds * 1e3,
	       (unsigned long long)sweep_removed);
	printf("  ratio                      %.2fx (goal >= 0.9x)\n", during / base);
	if (f0 || f1) {
		fprintf(stderr,
			"sweep_bench: %llu live triplets were not found: the sweep lost some\n",
			(unsigned long long)(f0 + f1));
		return 1;
	}
	free(table.buckets);
	free(live);
	return 0;
}
