/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywalld's side of greywall-dp's shared state (greywall/dp_shm.h): found
 * when greywall-dp starts (the file appears), followed when it restarts (a
 * new file under the same name), drained of verdict events, read for metrics.
 */
#ifndef GREYWALL_CONTROL_DP_LINK_H
#define GREYWALL_CONTROL_DP_LINK_H

#include "greywall/dp_shm.h"
#include "verdict_log.h"

struct gw_dp_link {
	char path[512];
	struct gw_dp_shm_map map;
	unsigned long long events;
};

/* Follow path (empty: nothing to follow). */
void gw_dp_link_init(struct gw_dp_link *l, const char *path);

/* Attach or re-attach as needed, then hand every waiting event to sink. */
void gw_dp_link_poll(struct gw_dp_link *l, const struct gw_verdict_sink *sink);

/* The shared state, or NULL while greywall-dp has not made one. */
const struct gw_dp_shm *gw_dp_link_shm(const struct gw_dp_link *l);

void gw_dp_link_close(struct gw_dp_link *l);

#endif /* GREYWALL_CONTROL_DP_LINK_H */
