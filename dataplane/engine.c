// SPDX-License-Identifier: BSD-2-Clause
/*
 * The engine's life and its flows': an engine per lcore made and freed, its
 * clock set once a burst, idle flows expired, a flow released or evicted for
 * room, and the edits that both peers have acked folded out of a flow's
 * lists. A frame enters at gw_engine_process_burst (dispatch.c).
 *
 * Drop and inject (DESIGN section 2). A greylisted RCPT line is cut out of the
 * client's stream and the reply inserted into the server's right after the
 * reply to the command before it; each direction then keeps a list of edit
 * points through which every later seq, ack and SACK edge is translated.
 */
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_random.h>

#include "engine_internal.h"

int gw_engine_init(struct gw_engine *e, const struct gw_dp_config *cfg, struct rte_mempool *pool,
		   int socket, unsigned id, char *err, size_t errlen)
{
	char name[32];
	int rc;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->pool = pool;
	e->tsc_hz = rte_get_tsc_hz();
	rc = gw_table_map_open(&e->triplets, cfg->conf.table_path, cfg->conf.capacity,
			       GW_TABLE_TRIPLETS, GW_TF_CREATE | GW_TF_POPULATE, NULL, err, errlen);
	if (rc)
		return rc;
	/* the auto-whitelist shares the triplet table's secret: one key per installation */
	rc = gw_table_map_open(&e->awl, cfg->conf.awl_path, cfg->conf.capacity / 8 + 1024,
			       GW_TABLE_AWL, GW_TF_CREATE | GW_TF_SECRET | GW_TF_POPULATE,
			       e->triplets.table.hdr->secret, err, errlen);
	if (rc)
		return rc;
	e->policy = (struct gw_policy){&e->triplets.table, &e->awl.table, &cfg->conf.policy,
				       e->triplets.table.hdr->secret};
	snprintf(name, sizeof(name), "gw_flows_%u", id);
	if (gw_flow_table_init(&e->flows, cfg->conf.max_flows, socket, name) != 0) {
		snprintf(err, errlen, "cannot allocate a flow table of %u flows",
			 cfg->conf.max_flows);
		return -1;
	}
	snprintf(name, sizeof(name), "gw_replies_%u", id);
	e->reply_pool =
	    rte_mempool_create(name, cfg->conf.max_flows * 2 + 1023, sizeof(struct gw_reply_buf),
			       64, 0, NULL, NULL, NULL, NULL, socket, 0);
	if (!e->reply_pool) {
		snprintf(err, errlen, "cannot allocate the reply buffer pool");
		return -1;
	}
	snprintf(name, sizeof(name), "gw_ooo_%u", id);
	/* bounded: when it runs dry, out-of-order segments are refused (counted) */
	e->ooo_pool = rte_mempool_create(name, RTE_MIN(cfg->conf.max_flows / 16 + 255, 4095u),
					 GW_OOO_BUF_SIZE, 32, 0, NULL, NULL, NULL, NULL, socket, 0);
	if (!e->ooo_pool) {
		snprintf(err, errlen, "cannot allocate the reorder buffer pool");
		return -1;
	}
	return 0;
}

void gw_flow_release(struct gw_engine *e, struct gw_flow *f)
{
	uint32_t used = f->replies_used;

	while (used) {
		unsigned i = (unsigned)__builtin_ctz(used);

		rte_mempool_put(e->reply_pool, f->replies[i]);
		used &= used - 1;
	}
	gw_ooo_clear(&f->ooo, e->ooo_pool);
	gw_flow_destroy(&e->flows, f);
	e->stats.flows_active--;
}

/*
 * A full flow table makes room by evicting a flow nothing depends on: no edit
 * in either direction, no client bytes held, and closed or never acked by the
 * client (a half-open flow of a SYN flood), so its later segments, if any,
 * carry no command greywall would have judged. Closed flows go first, then the longest
 * idle, among a few slots sampled at random (approximate LRU, constant time
 * per new flow). A flow with edits is never evicted: its segments would go on
 * untranslated and break the connection.
 */
static bool evictable(const struct gw_flow *f)
{
	if (!f->in_use || gw_flow_edited(f) || f->held_len || f->ooo.n)
		return false;
	/*
	 * A session whose handshake the client finished is never evicted, even
	 * one it has not spoken in yet: its later RCPTs would pass as a
	 * mid-stream pickup, and a sender could get there by opening connections
	 * until its own silent one was evicted.
	 */
	return gw_flow_closed(f) || !f->c_handshake_done;
}

bool gw_evict_one(struct gw_engine *e)
{
	struct gw_flow *best = NULL;
	unsigned k;

	for (k = 0; k < GW_EVICT_SAMPLES; k++) {
		struct gw_flow *f = &e->flows.flows[rte_rand_max(e->flows.cap)];

		if (!evictable(f))
			continue;
		if (!best || gw_flow_closed(f) > gw_flow_closed(best) ||
		    (gw_flow_closed(f) == gw_flow_closed(best) && f->last_tsc < best->last_tsc))
			best = f;
	}
	/* few evictable flows left: look on from where the last scan stopped, bounded */
	for (k = 0; !best && k < GW_EVICT_SCAN; k++) {
		struct gw_flow *f = &e->flows.flows[e->evict_cursor++ % e->flows.cap];

		if (evictable(f))
			best = f;
	}
	if (!best)
		return false;
	gw_flow_release(e, best);
	e->stats.flows_evicted++;
	return true;
}

void gw_engine_free(struct gw_engine *e)
{
	/*
	 * The flow table and the reply pool go whole; nothing is released flow by
	 * flow. (Scanning slots for replies here once released expired flows a
	 * second time: their stale slots still counted replies.)
	 */
	gw_flow_table_free(&e->flows);
	rte_mempool_free(e->reply_pool);
	rte_mempool_free(e->ooo_pool);
	gw_table_map_close(&e->triplets);
	gw_table_map_close(&e->awl);
}

void gw_engine_tick(struct gw_engine *e, uint64_t now_tsc, uint64_t now_wall)
{
	e->now_tsc = now_tsc;
	e->now_wall = now_wall;
}

void gw_engine_expire(struct gw_engine *e)
{
	uint64_t idle = e->cfg->conf.flow_idle * e->tsc_hz, closed = 10 * e->tsc_hz;
	uint32_t budget = e->flows.cap / 10 + 1;
	const void *key;
	void *data;

	while (budget--) {
		struct gw_flow *f;
		uint64_t age;

		if (rte_hash_iterate(e->flows.hash, &key, &data, &e->expire_iter) < 0) {
			e->expire_iter = 0; /* end of the table: start over on the next call */
			break;
		}
		f = &e->flows.flows[(uintptr_t)data];
		age = e->now_tsc - f->last_tsc;
		/* a closed flow lingers a little for its last retransmissions */
		if (age > idle || (gw_flow_closed(f) && age > closed)) {
			gw_flow_release(e, f);
			e->stats.flows_expired++;
		}
	}
}

/*
 * A cut line and the reply that took its place, once both peers acked past
 * them: the server up to the line (which it never gets; a resend of it maps
 * below the server's ack, as old bytes) and the client past the reply. They leave the edit lists
 * for their base deltas, and the reply's buffer goes back. Edits go in pairs and in order: the n-th
 * removal's reply is the n-th insertion.
 */
void gw_fold_acked_edits(struct gw_engine *e, struct gw_flow *f)
{
	while (f->c2s.n && f->s2c.n) {
		const struct gw_edit *rm = &f->c2s.e[0], *ins = &f->s2c.e[0];

		if (rm->ref != ins->ref || before(f->c_acked_new, rm->new_off) ||
		    before(f->s_acked, ins->new_off + ins->len))
			return;
		rte_mempool_put(e->reply_pool, f->replies[ins->ref]);
		f->replies_used &= ~(1u << ins->ref);
		gw_seqmap_fold(&f->c2s, 1);
		gw_seqmap_fold(&f->s2c, 1);
		e->stats.edits_folded++;
	}
}
