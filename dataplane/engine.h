/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-lcore packet engine: classifies frames, tracks SMTP flows, feeds
 * the SMTP parser in stream order, and rewrites segments (drop and inject,
 * seq/ack/SACK translation). One engine per lcore; nothing is shared but the
 * triplet tables, which are lock-free.
 */
#ifndef GREYWALL_DP_ENGINE_H
#define GREYWALL_DP_ENGINE_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "flow.h"
#include "greywall/table_file.h"
#include "options.h"
#include "stats.h"
#include "verdict_log.h"

#define GW_TXQ_MAX	  256
#define GW_EVICT_SAMPLES  8  /* flows looked at to find one to evict when the table is full */
#define GW_EVICT_SCAN	  64 /* then slots scanned in order, if none of those would do */
#define GW_PREFETCH_AHEAD 8  /* frames whose headers load while earlier ones are handled */

/* Frames to transmit on one port, in order. */
struct gw_txq {
	uint16_t n;
	struct rte_mbuf *m[GW_TXQ_MAX];
};

struct gw_engine {
	const struct gw_dp_config *cfg;
	struct gw_table_map triplets, awl;
	struct gw_policy policy;
	struct gw_flow_table flows;
	struct rte_mempool *pool; /* for rebuilt and injected segments */
	struct rte_mempool *reply_pool;
	struct rte_mempool *ooo_pool; /* buffers for out-of-order client bytes */
	struct gw_dp_stats stats;
	struct gw_dp_event_ring *events; /* this lcore's ring in the shared state, or NULL */
	struct gw_dp_log_ring *log;	 /* --log-verdicts: this lcore's log ring, or NULL */
	uint64_t tsc_hz;
	uint64_t now_tsc;
	uint64_t now_wall;			/* seconds, refreshed once per burst */
	uint32_t expire_iter;			/* where the incremental expiry scan goes on */
	uint32_t evict_cursor;			/* where the eviction scan goes on */
	uint8_t vbuf[GW_SMTP_LINE_HARD + 4096]; /* held bytes and the segment after them */
	uint8_t obuf[GW_OOO_BUF_SIZE];		/* a range released from the reorder store */
};

int gw_engine_init(struct gw_engine *e, const struct gw_dp_config *cfg, struct rte_mempool *pool,
		   int socket, unsigned id, char *err, size_t errlen);
void gw_engine_free(struct gw_engine *e);

/* Set the clock for the next burst. */
void gw_engine_tick(struct gw_engine *e, uint64_t now_tsc, uint64_t now_wall);

/*
 * Take one received frame. Frames for the other side go to fwd; frames
 * greywall sends back toward the sender (injected replies) go to back.
 */
void gw_engine_process(struct gw_engine *e, struct rte_mbuf *m, struct gw_txq *fwd,
		       struct gw_txq *back);

/* The same for a received burst, in order: what the forwarding loop calls. */
void gw_engine_process_burst(struct gw_engine *e, struct rte_mbuf **bufs, uint16_t n,
			     struct gw_txq *fwd, struct gw_txq *back);

/*
 * Forget idle flows, a tenth of the table per call: called ten times a second,
 * that is one full pass a second without stalling the forwarding loop on it.
 */
void gw_engine_expire(struct gw_engine *e);

#endif /* GREYWALL_DP_ENGINE_H */
