// SPDX-License-Identifier: BSD-2-Clause
/*
 * Cluster sync through one Redis (issue 16): two nodes' sync (control/cluster.c)
 * in one process, each with its own table, node A's first seens published and
 * node B's table watched for them.
 *
 *   cluster_bench HOST:PORT [PACED_EVENTS [PACED_RATE [BURST_EVENTS]]]
 *
 * Defaults: 300,000 events paced at 100,000/s (the goal: p99 under 100 ms),
 * then a burst of 1,000,000. Prints the propagation latency from a verdict at
 * A (the entry queued, as greywalld queues it after draining the verdict) to
 * the entry read in B's table, median and p99, and the events per second.
 * Under the burst, the latency is mostly A's queue: 1,000,000 entries queued
 * at once wait their turn to be sent.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "greywall/conf.h"
#include "greywall/table_file.h"

struct heap_table {
	struct gw_table_header hdr;
	struct gw_table t;
};

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static void table_init(struct heap_table *h, u64 capacity, u64 epoch)
{
	u64 nb = gw_table_nbuckets_for(capacity);

	memset(&h->hdr, 0, sizeof(h->hdr));
	h->hdr.secret[0] = 0x0011223344556677ULL;
	h->hdr.secret[1] = 0x8899aabbccddeeffULL;
	h->t.hdr = &h->hdr;
	h->t.buckets = aligned_alloc(64, nb * sizeof(struct gw_bucket));
	if (!h->t.buckets) {
		fprintf(stderr, "cluster_bench: no memory for the tables\n");
		exit(1);
	}
	memset(h->t.buckets, 0, nb * sizeof(struct gw_bucket));
	h->t.nbuckets = nb;
	h->t.epoch = epoch;
}

static u64 fp_of(u64 i)
{
	u64 x = (i + 1) * 0x9e3779b97f4a7c15ULL;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return gw_fp_fixup(x);
}

struct watch {
	struct gw_table *t;
	u64 base, n;
	u64 *seen; /* when each entry was first read in B's table */
};

/* B's side: the entries arrive in stream order, so wait for each in turn. */
static void *watch(void *arg)
{
	struct watch *w = arg;
	u64 i, deadline = now_ns() + 120ULL * 1000000000ULL;

	for (i = 0; i < w->n; i++) {
		u64 fp = fp_of(w->base + i);

		while (!gw_table_lookup(w->t, fp)) {
			if (now_ns() > deadline)
				return NULL;
		}
		w->seen[i] = now_ns();
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Publish n first seens from A, at rate per second (0: as fast as A queues). */
static int run(struct gw_cluster *a, struct heap_table *ta, struct heap_table *tb,
	       const struct gw_config *pc, u64 base, u64 n, u64 rate, const char *what)
{
	struct gw_policy pol = {&ta->t, NULL, pc, ta->hdr.secret};
	struct watch w = {&tb->t, base, n, calloc(n, sizeof(u64))};
	u64 *sent = calloc(n, sizeof(u64)), i, start, missing = 0, last = 0;
	pthread_t th;

	if (!w.seen || !sent) {
		fprintf(stderr, "cluster_bench: no memory\n");
		return -1;
	}
	pthread_create(&th, NULL, watch, &w);
	start = now_ns();
	for (i = 0; i < n; i++) {
		struct gw_decision d;
		u64 fp = fp_of(base + i);

		if (rate) {
			u64 due = start + i * 1000000000ULL / rate;

			while (now_ns() < due)
				;
		}
		gw_triplet_step(&pol, fp, (u64)time(NULL), &d);
		sent[i] = now_ns();
		gw_cluster_note(a, fp, NULL, GW_V_GREYLIST);
	}
	pthread_join(th, NULL);
	for (i = 0; i < n; i++) {
		if (!w.seen[i]) {
			missing++;
			continue;
		}
		if (w.seen[i] > last)
			last = w.seen[i];
		w.seen[i] = w.seen[i] > sent[i] ? w.seen[i] - sent[i] : 0;
	}
	if (missing) {
		printf("%s: %llu of %llu events never reached B\n", what,
		       (unsigned long long)missing, (unsigned long long)n);
		return -1;
	}
	qsort(w.seen, n, sizeof(u64), cmp_u64);
	printf("%-44s %8llu events  %9.0f events/s  latency median %7.2f ms  p99 %7.2f ms  "
	       "max %7.2f ms\n",
	       what, (unsigned long long)n, (double)n * 1e9 / (double)(last - start),
	       (double)w.seen[n / 2] / 1e6, (double)w.seen[n * 99 / 100] / 1e6,
	       (double)w.seen[n - 1] / 1e6);
	free(w.seen);
	free(sent);
	return 0;
}

int main(int argc, char **argv)
{
	static struct gw_conf ca, cb;
	static struct heap_table ta, tb;
	u64 paced = argc > 2 ? strtoull(argv[2], NULL, 10) : 300000;
	u64 rate = argc > 3 ? strtoull(argv[3], NULL, 10) : 100000;
	u64 burst = argc > 4 ? strtoull(argv[4], NULL, 10) : 1000000;
	struct gw_cluster *a, *b;
	char err[512];
	u64 now = (u64)time(NULL);
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: cluster_bench HOST:PORT [PACED [RATE [BURST]]]\n");
		return 2;
	}
	table_init(&ta, paced + burst + 1024, now - 3600);
	table_init(&tb, paced + burst + 1024, now - 7200); /* another epoch, as another node's */
	gw_conf_defaults(&ca);
	snprintf(ca.cluster_redis, sizeof(ca.cluster_redis), "%s", argv[1]);
	snprintf(ca.cluster_name, sizeof(ca.cluster_name), "bench%d", (int)getpid());
	snprintf(ca.cluster_secret, sizeof(ca.cluster_secret), "00112233445566778899aabbccddeeff");
	ca.cluster_queue = 1u << 22;
	ca.cluster_stream_max = 1u << 20;
	cb = ca;
	snprintf(ca.cluster_node, sizeof(ca.cluster_node), "a");
	snprintf(cb.cluster_node, sizeof(cb.cluster_node), "b");
	a = gw_cluster_start(&ca, &ta.t, NULL, err, sizeof(err));
	b = a ? gw_cluster_start(&cb, &tb.t, NULL, err, sizeof(err)) : NULL;
	if (!a || !b) {
		fprintf(stderr, "cluster_bench: %s\n", err);
		return 1;
	}
	sleep(1); /* both connected */
	rc = run(a, &ta, &tb, &ca.policy, 0, paced, rate, "paced (verdict at A -> in B's table)");
	if (!rc)
		rc = run(a, &ta, &tb, &ca.policy, paced, burst, 0, "burst, as fast as A queues");
	gw_cluster_stop(a);
	gw_cluster_stop(b);
	return rc ? 1 : 0;
}
