// SPDX-License-Identifier: BSD-2-Clause
/*
 * Triplet table against DPDK rte_hash in lock-free read/write mode, on the
 * same keys in the same run, so the ratio means something on a shared and
 * noisy machine. Both sides get 64-bit keys that are already SipHash output
 * (greywall fingerprints); rte_hash hashes them again with its CRC.
 *
 *   table_bench [-n COUNT]... [-r ROUNDS]   (default: -n 1000000 -n 16000000)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "../../dataplane/eal_runtime.h"
#include "greywall/policy.h"
#include "greywall/table_file.h"

#include "bench_util.h"

#define BURST 32

struct result {
	double ins, hit, hit_bulk, miss, bytes;
	u64 failed;
};

static volatile u64 sink;

static void bench_greywall(const u64 *keys, const u64 *order, const u64 *absent, u64 n,
			   struct result *r)
{
	struct gw_table t = {0};
	struct gw_table_header hdr = {0};
	u64 i, found = 0, j;
	double t0;

	t.hdr = &hdr;
	t.nbuckets = gw_table_nbuckets_for(n);
	t.buckets = aligned_alloc(64, t.nbuckets * sizeof(struct gw_bucket));
	memset(t.buckets, 0, t.nbuckets * sizeof(struct gw_bucket));
	r->bytes = (double)(t.nbuckets * sizeof(struct gw_bucket)) / (double)n;

	t0 = now_s();
	for (i = 0; i < n; i++) {
		struct gw_slot *s = gw_table_claim(&t, keys[i]);

		if (s)
			gw_cas64(&s->state, 0, gw_state_pack(GW_ST_GREY, 1, (u32)i, 0));
		else
			r->failed++;
	}
	r->ins = (double)n / (now_s() - t0);

	t0 = now_s();
	for (i = 0; i < n; i++) {
		struct gw_slot *s = gw_table_lookup(&t, keys[order[i]]);
		u64 st;

		found += s && gw_slot_read(s, keys[order[i]], &st);
	}
	r->hit = (double)n / (now_s() - t0);
	sink += found;

	/* bulk: prefetch the first bucket of a burst of keys, then look them up */
	t0 = now_s();
	for (i = 0; i + BURST <= n; i += BURST) {
		for (j = 0; j < BURST; j++)
			__builtin_prefetch(&t.buckets[gw_table_probe(&t, keys[order[i + j]], 0)]);
		for (j = 0; j < BURST; j++) {
			struct gw_slot *s = gw_table_lookup(&t, keys[order[i + j]]);
			u64 st;

			found += s && gw_slot_read(s, keys[order[i + j]], &st);
		}
	}
	r->hit_bulk = (double)i / (now_s() - t0);
	sink += found;

	t0 = now_s();
	for (i = 0; i < n; i++)
		found += gw_table_lookup(&t, absent[i]) != NULL;
	r->miss = (double)n / (now_s() - t0);
	sink += found;
	free(t.buckets);
}

static int bench_rte_hash(const u64 *keys, const u64 *order, const u64 *absent, u64 n,
			  struct result *r)
{
	struct rte_hash_parameters p = {
	    .name = "bench",
	    .entries = (uint32_t)n,
	    .key_len = sizeof(u64),
	    .hash_func = rte_hash_crc,
	    .socket_id = (int)rte_socket_id(),
	    .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	struct rte_malloc_socket_stats before, after;
	const void *kp[BURST];
	void *data[BURST];
	struct rte_hash *h;
	u64 i, j, found = 0;
	double t0;

	rte_malloc_get_socket_stats((int)rte_socket_id(), &before);
	h = rte_hash_create(&p);
	if (!h) {
		fprintf(stderr, "rte_hash_create(%llu): %s\n", (unsigned long long)n,
			rte_strerror(rte_errno));
		return -1;
	}
	t0 = now_s();
	for (i = 0; i < n; i++)
		if (rte_hash_add_key_data(h, &keys[i], (void *)(uintptr_t)(i + 1)) < 0)
			r->failed++;
	r->ins = (double)n / (now_s() - t0);
	rte_malloc_get_socket_stats((int)rte_socket_id(), &after);
	r->bytes = (double)(after.heap_allocsz_bytes - before.heap_allocsz_bytes) / (double)n;

	t0 = now_s();
	for (i = 0; i < n; i++) {
		void *d;

		found += rte_hash_lookup_data(h, &keys[order[i]], &d) >= 0;
	}
	r->hit = (double)n / (now_s() - t0);
	sink += found;

	t0 = now_s();
	for (i = 0; i + BURST <= n; i += BURST) {
		u64 hits = 0;

		for (j = 0; j < BURST; j++)
			kp[j] = &keys[order[i + j]];
		found += rte_hash_lookup_bulk_data(h, kp, BURST, &hits, data) > 0;
	}
	r->hit_bulk = (double)i / (now_s() - t0);
	sink += found;

	t0 = now_s();
	for (i = 0; i < n; i++) {
		void *d;

		found += rte_hash_lookup_data(h, &absent[i], &d) >= 0;
	}
	r->miss = (double)n / (now_s() - t0);
	sink += found;
	rte_hash_free(h);
	return 0;
}

static void bench_policy(u64 n)
{
	struct gw_table trip = {0}, awl = {0};
	struct gw_table_header th = {0}, ah = {0};
	struct gw_config cfg;
	u64 secret[2] = {1, 2}, i, counts[GW_V_COUNT] = {0};
	struct gw_policy pol = {&trip, &awl, &cfg, secret};
	static const struct gw_list_hits none;
	struct gw_triplet *t = calloc(1, sizeof(*t));
	double t0, el;

	gw_config_defaults(&cfg);
	trip.hdr = &th;
	awl.hdr = &ah;
	trip.nbuckets = gw_table_nbuckets_for(n);
	awl.nbuckets = gw_table_nbuckets_for(n / 16 + 64);
	trip.buckets = calloc(trip.nbuckets, sizeof(struct gw_bucket));
	awl.buckets = calloc(awl.nbuckets, sizeof(struct gw_bucket));
	trip.epoch = awl.epoch = 1700000000ULL;
	t0 = now_s();
	/* every triplet twice: first attempt, then the retry after the delay */
	for (i = 0; i < 2 * n; i++) {
		u64 k = i % n;
		u8 addr[4] = {198, 18, (u8)(k >> 8), (u8)k};
		struct gw_decision d;

		gw_client_net_make(&t->net, GW_AF_INET, addr, 24);
		t->sender_len = (u16)snprintf((char *)t->sender, GW_ADDR_MAX, "s%llu@a.example",
					      (unsigned long long)(k * 7));
		t->rcpt_len = (u16)snprintf((char *)t->rcpt, GW_ADDR_MAX, "r%llu@b.example",
					    (unsigned long long)k);
		gw_decide(&pol, t, &none, 1800000000ULL + (i >= n ? 400 : 0), &d);
		counts[d.verdict]++;
	}
	el = now_s() - t0;
	printf("policy: %.2f M decisions/s (SipHash + table + auto-whitelist, %llu triplets; "
	       "%llu greylisted, %llu passed, %llu auto-whitelisted, %llu fail-open)\n",
	       2.0 * (double)n / el / 1e6, (unsigned long long)n,
	       (unsigned long long)counts[GW_V_GREYLIST], (unsigned long long)counts[GW_V_PASS],
	       (unsigned long long)counts[GW_V_PASS_AWL],
	       (unsigned long long)counts[GW_V_FAIL_OPEN]);
	free(trip.buckets);
	free(awl.buckets);
	free(t);
}

static void run_size(u64 n)
{
	u64 *keys = malloc(n * sizeof(u64)), *order = malloc(n * sizeof(u64)),
	    *absent = malloc(n * sizeof(u64)), seed = 42, i;
	struct result g = {0}, d = {0};

	for (i = 0; i < n; i++) {
		keys[i] = splitmix(&seed);
		absent[i] = splitmix(&seed);
		order[i] = i;
	}
	for (i = n - 1; i > 0; i--) { /* random lookup order defeats the prefetcher */
		u64 j = splitmix(&seed) % (i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
	bench_greywall(keys, order, absent, n, &g);
	if (bench_rte_hash(keys, order, absent, n, &d) != 0)
		memset(&d, 0, sizeof(d));
	printf("\n%llu keys              greywall      rte_hash(LF)   ratio\n",
	       (unsigned long long)n);
	printf("  insert Mops/s      %8.2f      %8.2f       %5.2fx\n", g.ins / 1e6, d.ins / 1e6,
	       d.ins ? g.ins / d.ins : 0);
	printf("  lookup hit Mops/s  %8.2f      %8.2f       %5.2fx\n", g.hit / 1e6, d.hit / 1e6,
	       d.hit ? g.hit / d.hit : 0);
	printf("  bulk(%d) hit Mops/s%8.2f      %8.2f       %5.2fx\n", BURST, g.hit_bulk / 1e6,
	       d.hit_bulk / 1e6, d.hit_bulk ? g.hit_bulk / d.hit_bulk : 0);
	printf("  lookup miss Mops/s %8.2f      %8.2f       %5.2fx\n", g.miss / 1e6, d.miss / 1e6,
	       d.miss ? g.miss / d.miss : 0);
	printf("  bytes per entry    %8.1f      %8.1f   (greywall: 16-byte slot with state, "
	       "80 %% load; rte_hash: key+data only)\n",
	       g.bytes, d.bytes);
	printf("  failed inserts     %8llu      %8llu\n", (unsigned long long)g.failed,
	       (unsigned long long)d.failed);
	free(keys);
	free(order);
	free(absent);
}

int main(int argc, char **argv)
{
	char prefix[32], runtime[PATH_MAX];
	char *eal[] = {argv[0], "--no-huge",   "-m",	"4096",		  "--no-pci",	   "-l",
		       "0",	"--log-level", "error", "--no-telemetry", "--file-prefix", prefix,
		       NULL};
	u64 sizes[8];
	int nsizes = 0, opt, rc;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		if (opt == 'n' && nsizes < 8) {
			sizes[nsizes++] = strtoull(optarg, NULL, 0);
		} else {
			fprintf(stderr, "usage: %s [-n KEYS]...\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (!nsizes) {
		sizes[nsizes++] = 1000000;
		sizes[nsizes++] = 16000000;
	}
	snprintf(prefix, sizeof(prefix), "gwtb%d", (int)getpid());
	rc = rte_eal_init(12, eal);
	if (rc < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	printf("greywall triplet table vs rte_hash (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF), one "
	       "core, same keys, same run\n");
	for (int i = 0; i < nsizes; i++)
		run_size(sizes[i]);
	printf("\n");
	bench_policy(1000000);
	snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	gw_eal_remove_runtime_dir(runtime);
	return 0;
}
