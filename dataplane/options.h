/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef GREYWALL_DP_OPTIONS_H
#define GREYWALL_DP_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "greywall/lists.h"
#include "greywall/policy.h"
#include "greywall/reply.h"

#define GW_DP_MAX_PREFIXES 64
#define GW_DP_MAX_PORTS	   8

struct gw_prefix {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

struct gw_dp_config {
	struct gw_config policy;
	struct gw_prefix protect[GW_DP_MAX_PREFIXES];
	unsigned nprotect;
	uint16_t smtp_ports[GW_DP_MAX_PORTS];
	unsigned nsmtp_ports;
	const char *table_path;
	const char *awl_path;
	const char *shm_path; /* NULL: table_path + ".dp"; "": none */
	uint64_t capacity;
	const char *whitelist_path;
	const char *blacklist_path;
	const char *reply_greylist;
	const char *reply_blacklist;
	const char *reply_tls;
	const char *control_socket; /* greyctl's way in: "" = none (SIGHUP only) */
	const char *control_group;  /* who may use it besides root */
	uint32_t max_flows;
	uint32_t flow_idle; /* seconds without packets before a flow is forgotten */
	uint32_t stats_interval;
	uint32_t duration; /* stop after this many seconds; 0 = until signalled */
	uint32_t mtu;	   /* IP MTU toward the client: longer injected replies are split */
	bool log_verdicts;
	struct gw_lists *lists;
};

/* Parse the application arguments (after EAL's). Exits with a message on a bad one. */
void gw_dp_parse_args(struct gw_dp_config *cfg, int argc, char **argv);

bool gw_prefix_match(const struct gw_prefix *p, uint8_t family, const uint8_t *addr);

#endif /* GREYWALL_DP_OPTIONS_H */
