// SPDX-License-Identifier: BSD-2-Clause
#include "stats.h"

static const char *const verdict_names[GW_V_COUNT] = {GW_DP_VERDICT_NAMES};
static const char *const failopen_names[GW_FO_COUNT] = {GW_DP_FAILOPEN_NAMES};
static const char *const counter_names[GW_DP_NCOUNTERS] = {GW_DP_COUNTER_NAMES};

/* edits_folded and every counter after it print as name=value */
#define FIRST_NAMED (__builtin_offsetof(struct gw_dp_stats, edits_folded) / 8)

void gw_dp_stats_print_prefixed(FILE *f, const char *p, const struct gw_dp_stats *s)
{
	int i;

	fprintf(f,
		"%s rx=%lu tx=%lu tx_dropped=%lu passthrough=%lu smtp_packets=%lu "
		"malformed=%lu\n",
		p, s->rx, s->tx, s->tx_dropped, s->passthrough, s->smtp_packets, s->malformed);
	fprintf(f,
		"%s flows created=%lu expired=%lu evicted=%lu active=%lu; lines_removed=%lu "
		"replies_injected=%lu replies_resent=%lu retransmit_dropped=%lu segments_split=%lu "
		"sack_translated=%lu reordered=%lu overlaps_rewritten=%lu",
		p, s->flows_created, s->flows_expired, s->flows_evicted, s->flows_active,
		s->lines_removed, s->replies_injected, s->replies_resent, s->retransmit_dropped,
		s->segments_split, s->sack_translated, s->reordered, s->overlaps_rewritten);
	/* the counters after those, each by its metrics name */
	for (i = FIRST_NAMED; i < GW_DP_NCOUNTERS; i++)
		fprintf(f, " %s=%lu", counter_names[i], ((const u64 *)s)[i]);
	fprintf(f, "\n");
	fprintf(f, "%s verdicts", p);
	for (i = 0; i < GW_V_COUNT; i++)
		fprintf(f, " %s=%lu", verdict_names[i], s->verdict[i]);
	fprintf(f, "\n%s fail-open", p);
	for (i = 0; i < GW_FO_COUNT; i++)
		fprintf(f, " %s=%lu", failopen_names[i], s->failopen[i]);
	fprintf(f, "\n");
	fflush(f);
}

void gw_dp_stats_print(FILE *f, const struct gw_dp_stats *s)
{
	gw_dp_stats_print_prefixed(f, "greywall-dp:", s);
}
