/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywalld's state, in one struct that every part of it is handed (the
 * event loop's callbacks get its policy context and find the rest with
 * gw_daemon_of), rather than file-scope globals.
 */
#ifndef GREYWALL_CONTROL_DAEMON_H
#define GREYWALL_CONTROL_DAEMON_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

#include "admin.h"
#include "dp_link.h"
#include "greywall/conf.h"
#include "greywall/table_file.h"
#include "policy_server.h"
#include "relay_events.h"
#include "relay_maps.h"

struct gw_daemon {
	struct gw_policy_ctx ctx; /* what the policy server and the event loop are given */
	struct gw_conf cfg;
	struct gw_table_map trip, awl;
	u64 sweep_cursor[2]; /* where each table's expiry sweep goes on */
	time_t next_snapshot, next_names_expiry;
	volatile sig_atomic_t *snapshot_asked; /* set by SIGUSR1 */
	struct gw_metrics_src metrics;
	struct gw_relay_maps relay; /* the relay filter's maps, when relay_open */
	int relay_open;
	struct gw_names *names;		/* the triplets' texts, or NULL */
	struct gw_relay_events *events; /* the relay filter's verdict events, or NULL */
	struct gw_judged judged;	/* the filter's passes, for the policy server to take */
	struct gw_dp_link dp;		/* greywall-dp's shared state */
	struct gw_verdict_sink dp_sink;
};

static inline struct gw_daemon *gw_daemon_of(struct gw_policy_ctx *ctx)
{
	return (struct gw_daemon *)((char *)ctx - offsetof(struct gw_daemon, ctx));
}

#endif /* GREYWALL_CONTROL_DAEMON_H */
