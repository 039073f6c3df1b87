// SPDX-License-Identifier: BSD-2-Clause
/*
 * Read or change the relay filter's config map, and print its counters,
 * with no daemon (greywalld does the same through relay_maps); the map
 * access is greywalld's own code (control/relay_maps.c).
 *
 * Usage: greywall-relay-config PIN_DIR [KEY=VALUE ...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/relay.h"
#include "greywall/relay_defaults.h"
#include "relay_maps.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: greywall-relay-config PIN_DIR [KEY=VALUE ...]\n"
		"\n"
		"Prints the relay filter's config and per-CPU counters (summed) from the maps\n"
		"pinned under PIN_DIR/maps. Each KEY=VALUE changes one setting first; a filter\n"
		"that has seen no packet yet starts from the built-in defaults.\n"
		"\n"
		"Keys (seconds unless noted): delay, retry_window, max_age, awl_clients (count),\n"
		"awl_interval, smtp_port (number), mask_pipelining (0 or 1).\n"
		"\n"
		"Exit status: 0 on success, 1 if a map cannot be read or written, 2 on a usage\n"
		"error.\n");
}

static int set_key(struct gw_relay_config *c, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *end;
	unsigned long v;

	if (!eq || eq == kv)
		return -1;
	errno = 0;
	v = strtoul(eq + 1, &end, 10);
	if (errno || *end || end == eq + 1 || v > 0xffffffffUL)
		return -1;
#define KEY(name) (!strncmp(kv, name, (size_t)(eq - kv)) && strlen(name) == (size_t)(eq - kv))
	if (KEY("delay"))
		c->policy.delay = (u32)v;
	else if (KEY("retry_window"))
		c->policy.retry_window = (u32)v;
	else if (KEY("max_age"))
		c->policy.max_age = (u32)v;
	else if (KEY("awl_clients"))
		c->policy.awl_clients = (u32)v;
	else if (KEY("awl_interval"))
		c->policy.awl_interval = (u32)v;
	else if (KEY("smtp_port") && v > 0 && v < 65536)
		c->smtp_port = (u16)v;
	else if (KEY("mask_pipelining") && v <= 1)
		c->mask_pipelining = (u8)v;
	else
		return -1;
#undef KEY
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const stat_names[] = {GW_RELAY_STAT_NAMES};
	unsigned long long vals[GW_RS_COUNT];
	struct gw_relay_maps rm;
	struct gw_relay_config c;
	char path[4096], err[1024];
	int i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	snprintf(path, sizeof(path), "%s/maps", argv[1]);
	if (gw_relay_maps_open(&rm, path, err, sizeof(err)) ||
	    gw_relay_config_get(&rm, &c, err, sizeof(err))) {
		fprintf(stderr, "greywall-relay-config: %s\n", err);
		return 1;
	}
	if (argc > 2) {
		for (i = 2; i < argc; i++) {
			if (set_key(&c, argv[i])) {
				fprintf(stderr, "greywall-relay-config: bad setting '%s'\n",
					argv[i]);
				usage(stderr);
				return 2;
			}
		}
		if (gw_relay_config_set(&rm, &c, err, sizeof(err))) {
			fprintf(stderr, "greywall-relay-config: %s\n", err);
			return 1;
		}
	}
	printf("delay = %u\nretry_window = %u\nmax_age = %u\nawl_clients = %u\n"
	       "awl_interval = %u\nsmtp_port = %u\nmask_pipelining = %u\n",
	       c.policy.delay, c.policy.retry_window, c.policy.max_age, c.policy.awl_clients,
	       c.policy.awl_interval, c.smtp_port, c.mask_pipelining);
	if (gw_relay_read_stats(&rm, vals)) {
		fprintf(stderr, "greywall-relay-config: cannot read the counters\n");
		return 1;
	}
	for (i = 0; i < GW_RS_COUNT; i++)
		printf("%s %llu\n", stat_names[i], vals[i]);
	gw_relay_maps_close(&rm);
	return 0;
}
