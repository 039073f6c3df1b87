/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GREYWALL_DP_STATS_H
#define GREYWALL_DP_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "greywall/dp_shm.h"

void gw_dp_stats_print(FILE *f, const struct gw_dp_stats *s);
/* The same lines, each starting with prefix (e.g. "greywall-dp: lcore 1:"). */
void gw_dp_stats_print_prefixed(FILE *f, const char *prefix, const struct gw_dp_stats *s);

#endif /* GREYWALL_DP_STATS_H */
