/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How the shared table code (greywall/table.h) reaches its memory in BPF:
 * buckets through the array maps, one element each, and the header's
 * counters through the per-CPU stats map (a map value pointer cannot reach
 * past its 64-byte element). Include before greywall/table.h; maps.h defines
 * the two functions.
 */
#ifndef GREYWALL_BPF_TABLE_GLUE_H
#define GREYWALL_BPF_TABLE_GLUE_H

#include "greywall/compiler.h"

struct gw_bucket;
static __always_inline struct gw_bucket *gw_bpf_bucket(u32 kind, u64 idx);
static __always_inline void gw_table_stat(u32 which);
#define GW_TABLE_BUCKET(t, idx) gw_bpf_bucket((t)->kind, (idx))
#define GW_TABLE_STAT(t, field) gw_table_stat(__builtin_offsetof(struct gw_table_stats, field) / 8)

#endif /* GREYWALL_BPF_TABLE_GLUE_H */
