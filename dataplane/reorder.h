/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Out-of-order client bytes, held until the gap before them fills: a few
 * ranges per flow, kept sorted and disjoint, in buffers from a bounded
 * mempool. What is stored first wins: a later copy of the same bytes (an
 * overlapping retransmission with other content) never replaces it, and the
 * segment that fills the gap is overwritten with the stored bytes where they
 * meet, so the server and the parser see the same, first, bytes.
 */
#ifndef GREYWALL_DP_REORDER_H
#define GREYWALL_DP_REORDER_H

#include <stdint.h>

#include <rte_mempool.h>

#define GW_OOO_RANGES	4
#define GW_OOO_BUF_SIZE 2048 /* one mempool object: a range is at most this long */

struct gw_ooo_range {
	uint32_t off;
	uint16_t len;
	uint8_t *buf;
};

struct gw_ooo {
	struct gw_ooo_range r[GW_OOO_RANGES];
	uint8_t n;
};

/*
 * Keep data[0, len) at stream offset off, except what is stored already.
 * Returns 0, or -1 (nothing stored) when the ranges or the pool run out.
 */
int gw_ooo_store(struct gw_ooo *o, struct rte_mempool *pool, uint32_t off, const uint8_t *data,
		 uint32_t len);

/* Write the stored bytes over data[0, len) at off where they overlap. Returns how many. */
uint32_t gw_ooo_overlay(const struct gw_ooo *o, uint32_t off, uint8_t *data, uint32_t len);

/*
 * Take the stored range that the stream reaches at next (it starts at or
 * before next and ends after it) out of the store: its bytes from next on go
 * to out (at most cap). Returns how many, 0 if the stream does not reach one.
 */
uint32_t gw_ooo_take(struct gw_ooo *o, struct rte_mempool *pool, uint32_t next, uint8_t *out,
		     uint32_t cap);

/* Forget everything stored, giving the buffers back. */
void gw_ooo_clear(struct gw_ooo *o, struct rte_mempool *pool);

#endif /* GREYWALL_DP_REORDER_H */
