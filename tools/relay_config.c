// SPDX-License-Identifier: BSD-2-Clause
/*
 * Read or change the relay filter's config map, and print its counters:
 * the stopgap until greywalld pushes the config itself (issue 5).
 *
 * Usage: greywall-relay-config PIN_DIR [KEY=VALUE ...]
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/relay.h"
#include "greywall/relay_defaults.h"

static const char *const stat_names[] = {GW_RELAY_STAT_NAMES};

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
	char path[4096];
	struct gw_relay_config c;
	int cfg_fd, stats_fd, ncpu, i;
	u32 zero = 0, k;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	snprintf(path, sizeof(path), "%s/maps/config", argv[1]);
	cfg_fd = bpf_obj_get(path);
	if (cfg_fd < 0) {
		fprintf(stderr, "greywall-relay-config: %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (bpf_map_lookup_elem(cfg_fd, &zero, &c)) {
		fprintf(stderr, "greywall-relay-config: cannot read %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	if (c.magic != GW_RELAY_CONFIG_MAGIC)
		c = gw_relay_default_config;
	if (argc > 2) {
		for (i = 2; i < argc; i++) {
			if (set_key(&c, argv[i])) {
				fprintf(stderr, "greywall-relay-config: bad setting '%s'\n",
					argv[i]);
				usage(stderr);
				return 2;
			}
		}
		if (bpf_map_update_elem(cfg_fd, &zero, &c, BPF_ANY)) {
			fprintf(stderr, "greywall-relay-config: cannot write %s: %s\n", path,
				strerror(errno));
			return 1;
		}
	}
	printf("delay = %u\nretry_window = %u\nmax_age = %u\nawl_clients = %u\n"
	       "awl_interval = %u\nsmtp_port = %u\nmask_pipelining = %u\n",
	       c.policy.delay, c.policy.retry_window, c.policy.max_age, c.policy.awl_clients,
	       c.policy.awl_interval, c.smtp_port, c.mask_pipelining);

	snprintf(path, sizeof(path), "%s/maps/stats", argv[1]);
	stats_fd = bpf_obj_get(path);
	ncpu = libbpf_num_possible_cpus();
	if (stats_fd < 0 || ncpu <= 0) {
		fprintf(stderr, "greywall-relay-config: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (k = 0; k < GW_RS_COUNT; k++) {
		u64 vals[ncpu], sum = 0;

		if (bpf_map_lookup_elem(stats_fd, &k, vals))
			return 1;
		for (i = 0; i < ncpu; i++)
			sum += vals[i];
		printf("%s %llu\n", stat_names[k], (unsigned long long)sum);
	}
	return 0;
}
