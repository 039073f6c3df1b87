// SPDX-License-Identifier: BSD-2-Clause
/*
 * greyctl relay: read or change the relay filter's config map and print its
 * counters, with no daemon (greywalld pushes the same config from
 * greywall.conf at start). The map access is greywalld's own
 * (control/relay_maps.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greyctl.h"
#include "greywall/relay_defaults.h"

/* One KEY=VALUE into c; -1 if the key is unknown or the value out of its range. */
static int set_relay_key(struct gw_relay_config *c, const char *kv)
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

static void print_relay(const struct gw_relay_config *c, const unsigned long long *vals)
{
	static const char *const stat_names[] = {GW_RELAY_STAT_NAMES};
	int i;

	if (json)
		printf("{\"config\": {\"delay\": %u, \"retry_window\": %u, \"max_age\": %u, "
		       "\"awl_clients\": %u, \"awl_interval\": %u, \"smtp_port\": %u, "
		       "\"mask_pipelining\": %u}, \"counters\": {",
		       c->policy.delay, c->policy.retry_window, c->policy.max_age,
		       c->policy.awl_clients, c->policy.awl_interval, c->smtp_port,
		       c->mask_pipelining);
	else
		printf("delay = %u\nretry_window = %u\nmax_age = %u\nawl_clients = %u\n"
		       "awl_interval = %u\nsmtp_port = %u\nmask_pipelining = %u\n",
		       c->policy.delay, c->policy.retry_window, c->policy.max_age,
		       c->policy.awl_clients, c->policy.awl_interval, c->smtp_port,
		       c->mask_pipelining);
	for (i = 0; i < GW_RS_COUNT; i++) {
		if (json)
			printf("%s\"%s\": %llu", i ? ", " : "", stat_names[i], vals[i]);
		else
			printf("%s %llu\n", stat_names[i], vals[i]);
	}
	if (json)
		printf("}}\n");
}

static int run_relay(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"maps", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long long vals[GW_RS_COUNT];
	const char *maps = cfg.relay_maps;
	struct gw_relay_maps rm;
	struct gw_relay_config c;
	char err[1024], why[600];
	int opt, i, rc = EXIT_OK;

	optind = 0; /* a fresh scan: greyctl's own options were parsed before */
	while ((opt = getopt_long(argc, argv, "+m:h", opts, NULL)) != -1) {
		if (opt == 'm')
			maps = optarg;
		else
			return opt == 'h' ? command_help(&greyctl_relay)
					  : command_usage_error(&greyctl_relay, NULL);
	}
	if (!maps[0])
		return command_usage_error(&greyctl_relay,
					   "no relay_maps in the configuration: give --maps DIR");
	if (gw_relay_maps_open(&rm, maps, err, sizeof(err)) ||
	    gw_relay_config_get(&rm, &c, err, sizeof(err))) {
		fprintf(stderr, "greyctl: relay filter: %s\n", err);
		return EXIT_FAIL;
	}
	for (i = optind; i < argc; i++) {
		if (set_relay_key(&c, argv[i])) {
			gw_relay_maps_close(&rm);
			snprintf(why, sizeof(why), "bad setting '%.500s'", argv[i]);
			return command_usage_error(&greyctl_relay, why);
		}
	}
	if (optind < argc && gw_relay_config_set(&rm, &c, err, sizeof(err))) {
		fprintf(stderr, "greyctl: relay filter: %s\n", err);
		rc = EXIT_FAIL;
	} else if (gw_relay_read_stats(&rm, vals)) {
		fprintf(stderr, "greyctl: relay filter: cannot read the counters\n");
		rc = EXIT_FAIL;
	} else {
		print_relay(&c, vals);
	}
	gw_relay_maps_close(&rm);
	return rc;
}

const struct greyctl_command greyctl_relay = {
    "relay",
    "[--maps DIR] [KEY=VALUE...]",
    "  relay [KEY=VALUE...]       the relay filter's config map, changed key by key, and\n"
    "                             its counters (summed over CPUs), with no daemon\n",
    "Prints the XDP/TC relay filter's config map and its per-CPU counters, summed, from\n"
    "the maps pinned at relay_maps (or --maps DIR, e.g. /sys/fs/bpf/greywall/maps).\n"
    "Each KEY=VALUE changes one setting first; a filter that has seen no packet yet\n"
    "starts from the built-in defaults. greywalld pushes greywall.conf's policy into\n"
    "the same map at start.\n"
    "\n"
    "Keys (seconds unless noted): delay, retry_window, max_age, awl_clients (count),\n"
    "awl_interval, smtp_port (number), mask_pipelining (0 or 1).\n",
    run_relay,
};
