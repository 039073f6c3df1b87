/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One entry point for an RCPT's verdict in user space: the Postfix policy
 * server and greywall-dp both call it, so a limit (an address's length, say)
 * is the same in both by construction. It normalises the recipient (any
 * length up to GW_PATH_LONG_MAX), masks the client into its network, looks
 * up the lists and decides. The relay filter runs the same steps from the
 * same headers (bpf/decide.h), inside the verifier's bounds.
 */
#ifndef GREYWALL_DECIDE_RCPT_H
#define GREYWALL_DECIDE_RCPT_H

#include "lists.h"
#include "normalize.h"
#include "policy.h"

/*
 * The triplet of an RCPT: sender is the normalised reverse-path
 * (gw_normalize_address, is_sender), rcpt the forward-path as the client
 * wrote it. Returns 0, or a negative gw_norm_error when the recipient has a
 * control character (the MTA refuses such a path itself). The policy server
 * looks at the triplet between the two halves (a pass the relay filter made).
 */
int gw_rcpt_triplet(const struct gw_policy *p, u8 family, const u8 *addr, const u8 *sender,
		    u16 sender_len, const u8 *rcpt, u32 rcpt_len, struct gw_triplet *trip);

/* The second half: the lists, then the verdict, for a triplet gw_rcpt_triplet made. */
void gw_decide_triplet(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		       const u8 *addr, const struct gw_triplet *trip, u64 now,
		       struct gw_decision *d);

/* Both halves in one. */
int gw_decide_rcpt(const struct gw_policy *p, const struct gw_lists *lists, u8 family,
		   const u8 *addr, const u8 *sender, u16 sender_len, const u8 *rcpt, u32 rcpt_len,
		   u64 now, struct gw_triplet *trip, struct gw_decision *d);

#endif /* GREYWALL_DECIDE_RCPT_H */
