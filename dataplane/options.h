/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GREYWALL_DP_OPTIONS_H
#define GREYWALL_DP_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "greywall/conf.h"
#include "greywall/lists.h"
#include "greywall/policy.h"
#include "greywall/reply.h"

/*
 * What greywall-dp runs by: greywall.conf (the file greywalld and greyctl
 * read), with the command line's settings over it, and what is derived from
 * both.
 */
struct gw_dp_config {
	struct gw_conf conf;
	/* full reply templates: the code and the text greywalld's Postfix would send */
	char reply_greylist[GW_REPLY_MAX + 64];
	char reply_blacklist[GW_REPLY_MAX + 64];
	char reply_tls[GW_REPLY_MAX + 16];
	bool shm_off; /* --shm none: no state shared with greywalld */
	uint32_t stats_interval;
	uint32_t duration; /* stop after this many seconds; 0 = until signalled */
	bool log_verdicts;
	struct gw_lists *lists;
};

/*
 * Parse the application arguments (after EAL's): -c FILE (or greywall.conf at
 * its default path, if there is one) first, then every other option over it.
 * Exits with a message on a bad one.
 */
void gw_dp_parse_args(struct gw_dp_config *cfg, int argc, char **argv);

/*
 * The list set from the configuration's files: whitelist, blacklist, pools, and
 * what greywalld adds to them (published_lists). NULL with the reason in err.
 */
struct gw_lists *gw_dp_load_lists(const struct gw_conf *c, char *err, size_t errlen);

/* The shared state's path: dp_shm, or the table path + ".dp"; "" = none. */
void gw_dp_shm_path(const struct gw_dp_config *cfg, char *out, size_t cap);

#endif /* GREYWALL_DP_OPTIONS_H */
