/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywalld and greyctl driving the relay filter through its pinned maps
 * (bpf/maps.h): the config map, and the list maps, which are published a
 * whole generation at a time (GW_RELAY_LIST_COLOR in relay.h).
 */
#ifndef GREYWALL_CONTROL_RELAY_MAPS_H
#define GREYWALL_CONTROL_RELAY_MAPS_H

#include <stddef.h>

#include "greywall/lists.h"
#include "greywall/policy.h"
#include "greywall/relay.h"

struct gw_relay_maps {
	int config_fd, clients_v4_fd, clients_v6_fd, addresses_fd, stats_fd;
	int lock_fd; /* the maps directory, flock()ed by whoever writes */
};

struct gw_relay_sync_stats {
	unsigned long long written, deleted, entries;
	unsigned gen; /* the generation now in force */
};

/* Open the maps pinned in dir (e.g. /sys/fs/bpf/greywall/maps). 0, or -1 with err. */
int gw_relay_maps_open(struct gw_relay_maps *rm, const char *dir, char *err, size_t errlen);
void gw_relay_maps_close(struct gw_relay_maps *rm);

/*
 * The filter's config, or the built-in one while no packet has installed it.
 * 0, or -1 with err.
 */
int gw_relay_config_get(struct gw_relay_maps *rm, struct gw_relay_config *c, char *err,
			size_t errlen);

/* Write the filter's whole config (under the maps' lock). 0, or -1 with err. */
int gw_relay_config_set(struct gw_relay_maps *rm, const struct gw_relay_config *c, char *err,
			size_t errlen);

/*
 * Set the filter's policy (timers, prefixes, normalisation) and make its
 * clock read Unix time; the SMTP port, reply texts and list generation are
 * kept. 0, or -1 with err.
 */
int gw_relay_push_policy(struct gw_relay_maps *rm, const struct gw_config *policy, char *err,
			 size_t errlen);

/*
 * Make lists the filter's list set: every entry is written with the new
 * generation's colour beside the old one, list_gen flips, and after a grace
 * period for lookups in flight the entries the new set lacks are deleted.
 * Addresses are keyed with the triplet table's secret. 0, or -1 with err (the
 * old set stays in force).
 */
int gw_relay_push_lists(struct gw_relay_maps *rm, const struct gw_lists *lists, const u64 secret[2],
			struct gw_relay_sync_stats *st, char *err, size_t errlen);

/*
 * greyctl's way when no greywalld runs: load the list files, take the secret
 * from the triplets map in dir, and publish. 0, or -1 with err.
 */
int gw_relay_publish_files(const char *dir, const char *white_path, const char *black_path,
			   const char *pools_path, struct gw_relay_sync_stats *st, char *err,
			   size_t errlen);

/* The counters summed over CPUs, into vals[GW_RS_COUNT]. 0, or -1. */
int gw_relay_read_stats(struct gw_relay_maps *rm, unsigned long long *vals);

#endif /* GREYWALL_CONTROL_RELAY_MAPS_H */
