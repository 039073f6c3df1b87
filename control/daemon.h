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
#include "cluster.h"
#include "lists_pg.h"
#include "spf_pools.h"
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
	struct gw_cluster *cluster;	/* triplets shared through Redis, or NULL */
	struct gw_lists_pg *lists_pg;	/* list rows from PostgreSQL, or NULL */
	u64 cluster_secret[2];		/* every node's table secret */
	struct gw_spf_pools *spf_pools; /* sender pools from SPF records, or NULL */
};

static inline struct gw_daemon *gw_daemon_of(struct gw_policy_ctx *ctx)
{
	return (struct gw_daemon *)((char *)ctx - offsetof(struct gw_daemon, ctx));
}

/* daemon_tables.c: the tables' upkeep */

/* Write both snapshots now. 0, or -1 with the reason in err (also logged). */
int gw_daemon_snapshot_now(struct gw_daemon *d, char *err, size_t errlen);
/* Once a second, from the event loop: a slice of the expiry sweep, a snapshot when due. */
void gw_daemon_tick(struct gw_policy_ctx *ctx);
/*
 * Before the tables are opened: make missing table files from the snapshot.
 * *restored is set if the triplet table was.
 */
int gw_daemon_restore_if_missing(const struct gw_conf *c, int *restored, char *err, size_t errlen);
/* After: the snapshot into table files greywall-dp made first, then the tables are settled. */
int gw_daemon_restore_into_new_tables(struct gw_daemon *d, int restored_files, char *err,
				      size_t errlen);
/* The same for the relay filter's maps, which outlive greywalld but not a reboot. */
int gw_daemon_restore_into_maps(struct gw_daemon *d, char *err, size_t errlen);
/* Whether tables of the configured capacity fit here. 0, or -1 with err. */
int gw_daemon_check_table_room(const struct gw_conf *c, char *err, size_t errlen);

/* daemon_serve.c: what the event loop serves beside the policy protocol */

/* Publish the lists to the relay filter, if there is one. 0, or -1 with err. */
int gw_daemon_relay_publish(struct gw_daemon *d, const struct gw_lists *lists, char *err,
			    size_t errlen);
/* Rebuild and publish the list set. 0, or -1 with err (the old set stays, logged). */
int gw_daemon_reload_lists(struct gw_policy_ctx *ctx, char *err, size_t errlen);
/* SIGHUP: reload the lists (a bad file keeps the old ones, logged). */
void gw_daemon_reload(struct gw_policy_ctx *ctx);
/* The control socket (admin.h's protocol) and the metrics page, as side listeners. */
size_t gw_daemon_control_request_end(const char *buf, size_t len);
void gw_daemon_control_answer(struct gw_policy_ctx *ctx, char *req, size_t len,
			      struct gw_answer *a);
size_t gw_daemon_metrics_request_end(const char *buf, size_t len);
void gw_daemon_metrics_answer(struct gw_policy_ctx *ctx, char *req, size_t len,
			      struct gw_answer *a);
/* The data paths' verdict events: the relay filter's ring, greywall-dp's shared rings. */
void gw_daemon_catch_up_events(struct gw_policy_ctx *ctx);
void gw_daemon_serve_events(struct gw_policy_ctx *ctx, int fd);
void gw_daemon_serve_dp_timer(struct gw_policy_ctx *ctx, int fd);
/* The database has a new generation of list rows: reload as SIGHUP does. */
void gw_daemon_serve_lists_pg(struct gw_policy_ctx *ctx, int fd);
/* SPF answers arrived (or a refresh is due): a changed pool reloads the lists. */
void gw_daemon_serve_spf(struct gw_policy_ctx *ctx, int fd);
void gw_daemon_serve_spf_timer(struct gw_policy_ctx *ctx, int fd);

#endif /* GREYWALL_CONTROL_DAEMON_H */
