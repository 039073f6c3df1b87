// SPDX-License-Identifier: BSD-2-Clause
/*
 * What a sender pool costs greywall-dp's and the policy server's decision
 * (gw_decide_rcpt: normalise, one longest-prefix walk of the lists, SipHash,
 * table): the same triplets decided with their clients in a pool and with
 * the pool over another network, each list set holding the same entries
 * (a whitelist of 1000 /24s and the pool), side by side in one run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "greywall/decide_rcpt.h"
#include "greywall/lists.h"
#include "greywall/table_file.h"

static struct gw_lists *lists_with_pool(int pooled)
{
	struct gw_lists *l = gw_lists_new();
	char entry[64], err[128];
	int i;

	for (i = 0; i < 1000; i++) {
		snprintf(entry, sizeof(entry), "client 10.%d.%d.0/24", i >> 8, i & 0xff);
		if (gw_lists_add(l, GW_WHITE, entry, err, sizeof(err)))
			abort();
	}
	/* the clients are 198.18.0.0/16: in the pool, or beside it */
	if (gw_lists_add_pool(l, "bench", pooled ? "198.18.0.0/16" : "198.19.0.0/16", err,
			      sizeof(err)))
		abort();
	return l;
}

/* decisions per second over n triplets, each decided twice (first attempt, retry) */
static double run(struct gw_lists *l, u64 n, const char *who)
{
	struct gw_table trip = {0}, awl = {0};
	struct gw_table_header th = {0}, ah = {0};
	struct gw_config cfg;
	u64 secret[2] = {1, 2}, i, passed = 0;
	struct gw_policy pol = {&trip, &awl, &cfg, secret};
	struct gw_triplet *t = calloc(1, sizeof(*t));
	char sender[64], rcpt[64];
	double t0, el;

	gw_config_defaults(&cfg);
	cfg.awl_clients = 0; /* every retry is a triplet lookup */
	trip.hdr = &th;
	awl.hdr = &ah;
	trip.nbuckets = gw_table_nbuckets_for(2 * n); /* room: no fail-open skews a run */
	awl.nbuckets = gw_table_nbuckets_for(1024);
	trip.buckets = calloc(trip.nbuckets, sizeof(struct gw_bucket));
	awl.buckets = calloc(awl.nbuckets, sizeof(struct gw_bucket));
	trip.epoch = awl.epoch = 1700000000ULL;
	t0 = now_s();
	for (i = 0; i < 2 * n; i++) {
		u64 k = i % n;
		u8 addr[4] = {198, 18, (u8)(k >> 8), (u8)k};
		int sl = snprintf(sender, sizeof(sender), "s%llu@a.example", (unsigned long long)k);
		int rl =
		    snprintf(rcpt, sizeof(rcpt), "%s%llu@b.example", who, (unsigned long long)k);
		struct gw_decision d;

		gw_decide_rcpt(&pol, l, GW_AF_INET, addr, (const u8 *)sender, (u16)sl,
			       (const u8 *)rcpt, (u32)rl, 1800000000ULL + (i >= n ? 400 : 0), t,
			       &d);
		passed += d.verdict == GW_V_PASS;
	}
	el = now_s() - t0;
	if (passed != n) {
		fprintf(stderr, "pool_bench: %llu of %llu retries passed\n",
			(unsigned long long)passed, (unsigned long long)n);
		exit(1);
	}
	free(trip.buckets);
	free(awl.buckets);
	free(t);
	return 2.0 * (double)n / el;
}

int main(int argc, char **argv)
{
	u64 n = argc > 1 ? strtoull(argv[1], NULL, 0) : 200000;
	struct gw_lists *plain = lists_with_pool(0), *pooled = lists_with_pool(1);
	int round;

	printf("%-34s %12s %12s %7s\n", "RCPT decisions (user space)", "pool key/s", "/24 key/s",
	       "ratio");
	for (round = 0; round < 2; round++) {
		double a = run(pooled, n, "p"), b = run(plain, n, "q");

		printf("%-34s %12.0f %12.0f %6.2fx\n", "gw_decide_rcpt, 1001 list entries", a, b,
		       a / b);
	}
	gw_lists_free(plain);
	gw_lists_free(pooled);
	return 0;
}
