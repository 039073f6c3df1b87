/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GREYWALL_DP_STATS_H
#define GREYWALL_DP_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "greywall/policy.h"

/* Why a packet or a decision was let through untouched: each is counted. */
enum gw_failopen {
	GW_FO_MIDSTREAM = 0, /* SMTP flow with no SYN seen */
	GW_FO_FLOW_TABLE_FULL,
	GW_FO_OUT_OF_ORDER, /* a gap in a stream: parsing stops, edits keep being translated */
	GW_FO_SPLIT_LINE,   /* the RCPT line began in an earlier segment */
	GW_FO_EDITS_FULL,   /* per-flow edit list full */
	GW_FO_DESYNC,	    /* not SMTP, or the reply stream made no sense */
	GW_FO_NONLINEAR,    /* multi-segment mbuf */
	GW_FO_NO_MBUF,	    /* could not build an edited segment */
	GW_FO_POLICY,	    /* the table was full or contended */
	GW_FO_FRAGMENT,	    /* IP fragment to an SMTP port (forwarded) */
	GW_FO_COUNT
};

struct gw_dp_stats {
	uint64_t rx, tx, tx_dropped;
	uint64_t passthrough; /* not SMTP to a protected server */
	uint64_t smtp_packets;
	uint64_t malformed;
	uint64_t flows_created, flows_expired, flows_active;
	uint64_t lines_removed, replies_injected, replies_resent, retransmit_dropped;
	uint64_t segments_split, sack_translated;
	uint64_t verdict[GW_V_COUNT];
	uint64_t failopen[GW_FO_COUNT];
};

void gw_dp_stats_print(FILE *f, const struct gw_dp_stats *s);

#endif /* GREYWALL_DP_STATS_H */
