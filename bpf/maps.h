/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The relay filter's maps. Names are the pin names under /sys/fs/bpf/greywall/
 * (bpftool prog loadall ... pinmaps), and user space relies on them.
 */
#ifndef GREYWALL_BPF_MAPS_H
#define GREYWALL_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "greywall/relay.h"

/* Table buckets: element i + GW_RELAY_HDR_ELEMS is bucket i, the first ones the header. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, GW_RELAY_HDR_ELEMS + GW_RELAY_TRIPLET_BKTS);
	__type(key, u32);
	__type(value, struct gw_bucket);
} triplets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, GW_RELAY_HDR_ELEMS + GW_RELAY_AWL_BKTS);
	__type(key, u32);
	__type(value, struct gw_bucket);
} awl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gw_relay_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GW_RELAY_MAX_FLOWS);
	__type(key, struct gw_relay_flow_key);
	__type(value, struct gw_relay_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_RELAY_LIST_ENTRIES);
	__type(key, struct gw_relay_lpm4);
	__type(value, struct gw_relay_client_value);
} clients_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, GW_RELAY_LIST_ENTRIES);
	__type(key, struct gw_relay_lpm6);
	__type(value, struct gw_relay_client_value);
} clients_v6 SEC(".maps");

/* Sender and recipient addresses and @domains, keyed by gw_relay_addr_fp(). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GW_RELAY_LIST_ENTRIES);
	__type(key, u64);
	__type(value, u8);
} addresses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GW_RS_COUNT);
	__type(key, u32);
	__type(value, u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GW_RELAY_EVENTS_BYTES);
} events SEC(".maps");

/* What gw_bpf_inject needs to know of the segment and the reply. */
struct gw_inject_req {
	u32 l3_off;
	u32 l4_off;
	u32 hlen;
	u32 frame_len;
	u32 family;
	u32 seq; /* our reply's seq: the server's next byte, client view */
	u32 ack; /* the end of the client's command */
	u32 remaining;
	u32 kind; /* gw_relay_reply_kind */
	u16 window;
	u8 reset; /* a bare RST (with ACK) instead of a reply: see gw_reset_client */
	u8 pad;
};

/* Per-CPU working memory: the BPF stack is 512 bytes. */
#define GW_LINE_BUF  1024
#define GW_REPLY_BUF 1024

struct gw_scratch {
	u8 line[GW_LINE_BUF];
	u8 reply[GW_REPLY_BUF]; /* TCP header and payload, padded for the checksum */
	struct gw_smtp_cmd cmd;
	struct gw_triplet trip;
	u8 norm[GW_ADDR_MAX];
	struct gw_norm_work norm_work;
	/* gw_bpf_decide's working set: the call chain shares one 512-byte stack */
	struct gw_table dec_trip, dec_awl;
	struct gw_decision dec;
	struct gw_list_hits dec_hits;
	u64 dec_secret[2];
	/* arguments and results of gw_bpf_decide (global functions take five) */
	u64 now;
	u32 hits;
	u32 tls;
	u32 remaining;
	u32 list_gen; /* for gw_bpf_lists */
	struct gw_inject_req req;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gw_scratch);
} scratch SEC(".maps");

static __always_inline void gw_stat_add(u32 idx, u64 n)
{
	u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

static __always_inline void gw_stat(u32 idx)
{
	gw_stat_add(idx, 1);
}

/* table_glue.h: bucket idx of the table of this kind, and its counters. */
static __always_inline struct gw_bucket *gw_bpf_bucket(u32 kind, u64 idx)
{
	u32 k = (u32)idx + GW_RELAY_HDR_ELEMS;

	if (kind == GW_TABLE_AWL)
		return bpf_map_lookup_elem(&awl, &k);
	return bpf_map_lookup_elem(&triplets, &k);
}

static __always_inline void gw_table_stat(u32 which)
{
	gw_stat(GW_RS_TABLE_INSERTS + which);
}

#endif /* GREYWALL_BPF_MAPS_H */
