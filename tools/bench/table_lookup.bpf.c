// SPDX-License-Identifier: BSD-2-Clause
/*
 * The triplet table's lookup in BPF against a BPF_MAP_TYPE_HASH of the same
 * keys: each program looks up GW_BENCH_KEYS fingerprints from the keys map
 * and counts the hits, so test_run's duration over GW_BENCH_KEYS is the cost
 * of one lookup. The table maps come from bpf/maps.h, as in the filter.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "table_glue.h" /* before greywall/table.h */

#include "greywall/policy.h"
#include "greywall/smtp_command.h"
#include "maps.h"
#include "state.h"

#define GW_BENCH_KEYS 256

struct gw_bench_keys {
	u64 fp[GW_BENCH_KEYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gw_bench_keys);
} bench_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_RELAY_TRIPLET_BKTS *GW_SLOTS_PER_BUCKET);
	__type(key, u64);
	__type(value, struct gw_slot);
} bench_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} bench_hits SEC(".maps");

static __always_inline void record(u64 hits)
{
	u32 zero = 0;
	u64 *v = bpf_map_lookup_elem(&bench_hits, &zero);

	if (v)
		*v = hits;
}

SEC("xdp")
int lookup_table(struct xdp_md *ctx)
{
	struct gw_bench_keys *k;
	struct gw_table t;
	u32 zero = 0, i;
	u64 hits = 0;

	k = bpf_map_lookup_elem(&bench_keys, &zero);
	if (!k || !gw_table_attach(&triplets, GW_TABLE_TRIPLETS, NULL, 0, &t))
		return XDP_ABORTED;
	for (i = 0; i < GW_BENCH_KEYS; i++)
		if (gw_table_lookup_pos(&t, k->fp[i]) >= 0)
			hits++;
	record(hits);
	return XDP_PASS;
}

SEC("xdp")
int lookup_hash(struct xdp_md *ctx)
{
	struct gw_bench_keys *k;
	u32 zero = 0, i;
	u64 hits = 0;

	k = bpf_map_lookup_elem(&bench_keys, &zero);
	if (!k)
		return XDP_ABORTED;
	for (i = 0; i < GW_BENCH_KEYS; i++)
		if (bpf_map_lookup_elem(&bench_hash, &k->fp[i]))
			hits++;
	record(hits);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
