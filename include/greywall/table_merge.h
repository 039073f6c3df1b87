/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Merging what another node knows about an entry into a local table (the
 * cluster sync, control/cluster.c). A peer's entry arrives as absolute Unix
 * times, because every table counts from its own epoch.
 *
 * The rules are a local update's: the older first seen wins, a pass is never
 * undone, last seen and the count only grow. Each is a max or a min, so
 * merging an entry twice, or two peers' entries in either order, ends in the
 * same state: a replayed stream can be applied again without harm.
 */
#ifndef GREYWALL_TABLE_MERGE_H
#define GREYWALL_TABLE_MERGE_H

#include "policy.h"
#include "table.h"

enum gw_merge_result {
	GW_MERGE_SAME = 0,    /* the local entry already said as much */
	GW_MERGE_CHANGED = 1, /* the local entry took the peer's news */
	GW_MERGE_STALE = 2,   /* the peer's entry has expired by our clock: ignored */
	GW_MERGE_FAILED = 3,  /* no slot, or contended: lost, as a local update would be */
};

/* Whether a state still counts at rel (seconds from t's epoch) under c's timers. */
GW_INLINE bool gw_state_fresh(u64 st, const struct gw_config *c, u32 rel)
{
	u32 kind = gw_state_kind(st), first = gw_state_first(st);

	if (kind == GW_ST_GREY)
		return (rel > first ? rel - first : 0) <= c->retry_window;
	if (kind == GW_ST_PASSED)
		return (u64)rel <= (u64)gw_state_last_min(st) * 60 + c->max_age;
	return false;
}

/*
 * Merge a peer's entry (kind GW_ST_GREY or GW_ST_PASSED, count, first and
 * last seen in Unix seconds) for fp into t at time now (Unix seconds).
 * A first seen before t's epoch counts from the epoch, like a local clock
 * before the epoch does: the delay then runs from the epoch, never less.
 */
GW_INLINE enum gw_merge_result gw_table_merge(struct gw_table *t, const struct gw_config *c, u64 fp,
					      u32 kind, u32 count, u64 first, u64 last, u64 now)
{
	u32 rel = gw_table_rel(t, now), rf = gw_table_rel(t, first),
	    rl = gw_table_rel(t, last) / 60;
	u64 peer = gw_state_pack(kind, count, rf, rl), st, nst;
	struct gw_slot *slot;
	u32 i;

	if ((kind != GW_ST_GREY && kind != GW_ST_PASSED) || fp < 2)
		return GW_MERGE_STALE;
	/* an entry the sweeper would remove is not worth a slot (by Unix time: the epoch clamps) */
	if ((kind == GW_ST_GREY && now > first + c->retry_window) ||
	    (kind == GW_ST_PASSED && now > last + c->max_age) || !gw_state_fresh(peer, c, rel))
		return GW_MERGE_STALE;
	slot = gw_table_claim(t, fp);
	for (i = 0; slot && i < GW_CAS_RETRIES; i++) {
		u32 lk, nk;

		if (!gw_slot_read(slot, fp, &st)) {
			/* removed under us: claim afresh */
			slot = gw_table_claim(t, fp);
			continue;
		}
		lk = gw_state_kind(st);
		if (lk == GW_ST_DYING)
			continue;
		if (!gw_state_fresh(st, c, rel)) {
			nst = peer; /* unset or forgotten: the peer's entry stands alone */
		} else if (lk == GW_ST_PASSED && kind == GW_ST_GREY) {
			return GW_MERGE_SAME; /* a pass is never undone */
		} else {
			u32 lf = gw_state_first(st), ll = gw_state_last_min(st);
			u32 lc = gw_state_count(st), nc;

			nk = lk == GW_ST_PASSED || kind == GW_ST_PASSED ? GW_ST_PASSED : GW_ST_GREY;
			/* a grey entry's count is attempts, a passed one's deliveries */
			if (nk == GW_ST_PASSED && lk != GW_ST_PASSED)
				nc = count;
			else if (nk == GW_ST_PASSED && kind != GW_ST_PASSED)
				nc = lc;
			else
				nc = lc > count ? lc : count;
			nst = gw_state_pack(nk, nc, lf < rf ? lf : rf, ll > rl ? ll : rl);
		}
		if (nst == st)
			return GW_MERGE_SAME;
		if (gw_cas64(&slot->state, st, nst) == st)
			return GW_MERGE_CHANGED;
	}
	return GW_MERGE_FAILED;
}

#endif /* GREYWALL_TABLE_MERGE_H */
