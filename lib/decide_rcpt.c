// SPDX-License-Identifier: BSD-2-Clause
#include <string.h>

#include "greywall/decide_rcpt.h"

void gw_client_lookup(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		      const u8 *addr, struct gw_client_net *net, struct gw_list_hits *hits)
{
	gw_lists_match(lists, family, addr, NULL, 0, NULL, 0, hits);
	gw_client_net_keyed(net, p->cfg, family, addr, hits->pool);
}

int gw_rcpt_triplet(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		    const u8 *addr, const u8 *sender, u16 sender_len, const u8 *rcpt, u32 rcpt_len,
		    struct gw_triplet *trip, struct gw_list_hits *hits)
{
	int n = gw_normalize_address(rcpt, rcpt_len, trip->rcpt, &p->cfg->norm, false);

	if (n < 0)
		return n;
	trip->rcpt_len = (u16)n;
	if (sender_len > GW_ADDR_MAX)
		sender_len = GW_ADDR_MAX;
	memmove(trip->sender, sender, sender_len); /* the caller may pass trip->sender itself */
	trip->sender_len = sender_len;
	gw_lists_match(lists, family, addr, trip->sender, trip->sender_len, trip->rcpt,
		       trip->rcpt_len, hits);
	gw_client_net_keyed(&trip->net, p->cfg, family, addr, hits->pool);
	return 0;
}

int gw_decide_rcpt(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		   const u8 *addr, const u8 *sender, u16 sender_len, const u8 *rcpt, u32 rcpt_len,
		   u64 now, struct gw_triplet *trip, struct gw_decision *d)
{
	struct gw_list_hits hits;
	int n = gw_rcpt_triplet(p, lists, family, addr, sender, sender_len, rcpt, rcpt_len, trip,
				&hits);

	if (n < 0)
		return n;
	gw_decide(p, trip, &hits, now, d);
	return 0;
}
