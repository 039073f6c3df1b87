/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Config, clock and table headers for the relay filter. A filter that plain
 * bpftool loaded has nobody to initialise it, so the first packet installs
 * the built-in defaults and lays out the table headers itself.
 */
#ifndef GREYWALL_BPF_STATE_H
#define GREYWALL_BPF_STATE_H

#include "maps.h"
#include "greywall/relay_defaults.h"

/* The kernel's struct bpf_map, read through CO-RE for the table sizes. */
struct bpf_map___gw {
	u32 max_entries;
} __attribute__((preserve_access_index));

static __always_inline struct gw_relay_config *gw_relay_config(void)
{
	u32 zero = 0;
	struct gw_relay_config *cfg = bpf_map_lookup_elem(&config, &zero);

	if (!cfg)
		return NULL;
	if (cfg->magic != GW_RELAY_CONFIG_MAGIC) {
		/*
		 * Racing CPUs write the same bytes; magic goes in last. One helper
		 * copy: clang 14 expanded the struct copy into stores for the reply
		 * texts but none for the fields before them, leaving a zero config
		 * marked installed (seen as smtp_port 0: nothing was inspected).
		 */
		bpf_probe_read_kernel((u8 *)cfg + 4, sizeof(*cfg) - 4,
				      (const u8 *)&gw_relay_default_config + 4);
		/* an atomic exchange is a full barrier: readers see magic after the rest */
		__sync_lock_test_and_set(&cfg->magic, GW_RELAY_CONFIG_MAGIC);
	}
	return cfg;
}

static __always_inline u64 gw_relay_now(const struct gw_relay_config *cfg)
{
	return (bpf_ktime_get_tai_ns() + cfg->clock_offset_ns) / 1000000000ULL;
}

/*
 * A BPF pointer reaches one 64-byte element, so the header is read through
 * element 0 (magic up to the secret) and element 1 (created on): the same
 * struct gw_table_header as user space, only the offsets a pointer can reach.
 */
_Static_assert(__builtin_offsetof(struct gw_table_header, secret) + 16 <= 64,
	       "the secret sits in element 0");
_Static_assert(__builtin_offsetof(struct gw_table_header, created) == 64,
	       "created opens element 1");

/*
 * Fill a table struct from its map header; lay the header out on first use.
 * Returns false while another CPU is still doing that.
 */
static __always_inline bool gw_table_attach(void *map, u32 kind, const u64 *secret, u64 now,
					    struct gw_table *t)
{
	u32 k0 = 0, k1 = 1;
	struct gw_table_header *lo = bpf_map_lookup_elem(map, &k0);
	u64 *created = bpf_map_lookup_elem(map, &k1);

	if (!lo || !created)
		return false;
	if (lo->magic != GW_TABLE_MAGIC) {
		u32 entries = ((struct bpf_map___gw *)map)->max_entries;

		if (entries <= GW_RELAY_HDR_ELEMS + GW_TABLE_MIN_BUCKETS)
			return false;
		/* one CPU lays it out; the others fail open for this packet */
		if (gw_cas64(created, 0, now ? now : 1) != 0)
			return false;
		gw_table_header_geometry(lo, entries - GW_RELAY_HDR_ELEMS, kind);
		lo->epoch = now;
		if (secret) {
			lo->secret[0] = secret[0];
			lo->secret[1] = secret[1];
		} else {
			lo->secret[0] = ((u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
			lo->secret[1] = ((u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
		}
		/* an atomic is a full barrier: the layout is visible before the magic */
		gw_cas64(&lo->magic, lo->magic, GW_TABLE_MAGIC);
	}
	t->hdr = NULL;
	t->buckets = NULL;
	t->kind = kind;
	t->nbuckets = lo->nbuckets;
	t->epoch = lo->epoch;
	return t->nbuckets >= GW_TABLE_MIN_BUCKETS;
}

static __always_inline void gw_table_secret(void *map, u64 secret[2])
{
	u32 k0 = 0;
	struct gw_table_header *lo = bpf_map_lookup_elem(map, &k0);

	secret[0] = lo ? lo->secret[0] : 0;
	secret[1] = lo ? lo->secret[1] : 0;
}

#endif /* GREYWALL_BPF_STATE_H */
