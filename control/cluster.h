/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Several greywall nodes judging as one, through Redis (hiredis).
 *
 * Every first seen and every pass a node's data paths make (the policy
 * server's decisions, the relay filter's and greywall-dp's verdict events,
 * all drained by greywalld already) is queued here as the entry's state read
 * from the local table, and published in batches to one Redis stream per
 * cluster. Each node reads the stream from its own stored position and
 * merges its peers' entries into its local tables with gw_table_merge (the
 * rules of a local update). Two threads do the Redis I/O, one publishing and
 * one reading, so neither the data paths nor greywalld's loop ever wait on
 * Redis; the reader merges straight into the lock-free tables.
 *
 * Redis down: the queue holds what was not yet published (bounded, counted
 * when full), both threads reconnect with back-off, and the reader resumes
 * from its position: nothing is lost while the stream keeps it, and merges
 * are idempotent, so an entry read twice does no harm.
 *
 * Keys, for cluster_name NAME:
 *   greywall:NAME:events      the stream; entries "n" NODE, "t" ms, "d" records
 *   greywall:NAME:pos:NODE    NODE's last applied stream id
 *   greywall:NAME:check       a check value of the cluster's secret (not the secret)
 * A record is 24 bytes, little-endian: fp u64, first u32, last u32 (Unix
 * seconds), table u8 ('T' triplets, 'A' auto-whitelist), kind u8 (1 grey,
 * 2 passed), count u8, 5 bytes zero.
 */
#ifndef GREYWALL_CONTROL_CLUSTER_H
#define GREYWALL_CONTROL_CLUSTER_H

#include <stddef.h>

#include "greywall/conf.h"
#include "greywall/policy.h"

#define GW_SYNC_REC_SIZE 24

struct gw_cluster;

/*
 * The table secret a cluster node must use: cluster_secret's 32 hex digits.
 * Returns 1 with secret filled when cluster_redis is set, 0 when the node is
 * alone, -1 with the reason in err when the secret or cluster_redis's address
 * is missing or bad (greywalld --check asks this too).
 */
int gw_cluster_secret(const struct gw_conf *cfg, u64 secret[2], char *err, size_t errlen);

/*
 * A node joins with the cluster's secret or not at all: fingerprints made
 * under another secret are noise to every peer. Called with the triplet
 * table's secret once it is open (a table made before the node joined keeps
 * the secret it was made with). 0, or -1 with what to do in err.
 */
int gw_cluster_check_table(const struct gw_conf *cfg, const u64 table_secret[2], char *err,
			   size_t errlen);

/*
 * Start syncing the two tables (NULL when cluster_redis is empty, or on an
 * error, with the reason in err). Redis being down is no error: the threads
 * keep trying.
 */
struct gw_cluster *gw_cluster_start(const struct gw_conf *cfg, struct gw_table *triplets,
				    struct gw_table *awl, char *err, size_t errlen);

/*
 * A data path decided: queue fp's entry (and, for a pass, its client
 * network's auto-whitelist entry) for the peers. Never blocks on Redis.
 */
void gw_cluster_note(struct gw_cluster *c, u64 fp, const struct gw_client_net *net, int verdict);

/* Append the sync state as metric lines (with # HELP/# TYPE if types) to out; returns bytes. */
size_t gw_cluster_render(struct gw_cluster *c, int types, char *out, size_t cap);

/* Publish what is queued if Redis answers within a second, and stop. */
void gw_cluster_stop(struct gw_cluster *c);

#endif /* GREYWALL_CONTROL_CLUSTER_H */
