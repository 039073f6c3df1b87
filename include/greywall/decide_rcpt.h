/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One entry point for an RCPT's verdict in user space: the Postfix policy
 * server and greywall-dp both call it, so a limit (an address's length, say)
 * is the same in both by construction. It normalises the recipient (any
 * length up to GW_PATH_LONG_MAX), looks up the lists, keys the client by its
 * sender pool or masks it into its network, and decides. The relay filter runs the same steps from
 * the same headers (bpf/decide.h), inside the verifier's bounds.
 */
#ifndef GREYWALL_DECIDE_RCPT_H
#define GREYWALL_DECIDE_RCPT_H

#include "lists.h"
#include "normalize.h"
#include "policy.h"

/*
 * A client's network as the triplet keys it (its sender pool if it is in one,
 * else its address masked to v4_prefix or v6_prefix) and its client list hits,
 * from one longest-prefix walk of the lists.
 */
void gw_client_lookup(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		      const u8 *addr, struct gw_client_net *net, struct gw_list_hits *hits);

/*
 * The triplet of an RCPT and its list hits: sender is the normalised
 * reverse-path (gw_normalize_address, is_sender), rcpt the forward-path as
 * the client wrote it. Returns 0, or a negative gw_norm_error when the
 * recipient has a control character (the MTA refuses such a path itself).
 * The policy server looks at the triplet before deciding (a pass the relay
 * filter made), then decides with gw_decide(p, trip, hits, now, d).
 */
int gw_rcpt_triplet(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		    const u8 *addr, const u8 *sender, u16 sender_len, const u8 *rcpt, u32 rcpt_len,
		    struct gw_triplet *trip, struct gw_list_hits *hits);

/* Both in one: the triplet, then the verdict. */
int gw_decide_rcpt(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		   const u8 *addr, const u8 *sender, u16 sender_len, const u8 *rcpt, u32 rcpt_len,
		   u64 now, struct gw_triplet *trip, struct gw_decision *d);

#endif /* GREYWALL_DECIDE_RCPT_H */
