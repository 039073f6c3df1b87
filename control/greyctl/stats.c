// SPDX-License-Identifier: BSD-2-Clause
/* greyctl stats: table sizes and counters, and the relay filter's. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "greyctl.h"

static void print_table_stats(const char *name, const struct gw_table_map *m, int last)
{
	const struct gw_table_stats *s = &m->table.hdr->stats;
	u64 live, tomb, slots = m->table.nbuckets * GW_SLOTS_PER_BUCKET;

	gw_table_count(&m->table, &live, &tomb);
	if (json)
		printf("\"%s\": {\"slots\": %llu, \"live\": %llu, \"tombstones\": %llu, "
		       "\"inserts\": %llu, \"full\": %llu, \"expired\": %llu, \"evicted\": %llu, "
		       "\"contended\": %llu, \"bytes\": %zu}%s",
		       name, (unsigned long long)slots, (unsigned long long)live,
		       (unsigned long long)tomb, (unsigned long long)s->inserts,
		       (unsigned long long)s->full, (unsigned long long)s->expired,
		       (unsigned long long)s->evicted, (unsigned long long)s->contended,
		       gw_table_bytes(m->table.nbuckets), last ? "" : ", ");
	else
		printf(
		    "%-15s %llu live of %llu slots (%.1f %%), %llu tombstones; inserts %llu, "
		    "expired %llu, evicted %llu, full (fail open) %llu, contended %llu; %.1f MiB\n",
		    name, (unsigned long long)live, (unsigned long long)slots,
		    100.0 * (double)live / (double)slots, (unsigned long long)tomb,
		    (unsigned long long)s->inserts, (unsigned long long)s->expired,
		    (unsigned long long)s->evicted, (unsigned long long)s->full,
		    (unsigned long long)s->contended,
		    (double)gw_table_bytes(m->table.nbuckets) / 1048576.0);
}

/* The relay filter's counters, summed over CPUs. */
static int print_relay_stats(void)
{
	static const char *const names[] = {GW_RELAY_STAT_NAMES};
	unsigned long long vals[GW_RS_COUNT];
	struct gw_relay_maps rm;
	char err[1024];
	int i;

	if (gw_relay_maps_open(&rm, cfg.relay_maps, err, sizeof(err)) ||
	    gw_relay_read_stats(&rm, vals)) {
		fprintf(stderr, "greyctl: %s\n", err);
		return -1;
	}
	gw_relay_maps_close(&rm);
	if (json)
		printf("\"relay\": {");
	else
		printf("relay filter counters (%s):\n", cfg.relay_maps);
	for (i = 0; i < GW_RS_COUNT; i++) {
		if (json)
			printf("%s\"%s\": %llu", i ? ", " : "", names[i], vals[i]);
		else
			printf("  %-24s %llu\n", names[i], vals[i]);
	}
	if (json)
		printf("}");
	return 0;
}

/*
 * The cluster and PostgreSQL sync live in greywalld, not in the tables: its
 * own figures, as its stats page gives them (name value, one a line).
 */
static void print_sync_stats(void)
{
	static char page[65536];
	char *line, *save = NULL;
	int first = 1;

	if ((!cfg.cluster_redis[0] && !cfg.lists_pg[0]) ||
	    control_request("stats", page, sizeof(page)) != GW_CONTROL_DONE) {
		if (cfg.cluster_redis[0] || cfg.lists_pg[0])
			fprintf(stderr, "greyctl: greywalld does not answer: no sync state\n");
		return;
	}
	for (line = strtok_r(page, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "greywall_cluster_", 17) &&
		    strncmp(line, "greywall_lists_pg_", 18))
			continue;
		if (json) {
			printf("%s", first ? ", \"sync\": [" : ", ");
			json_string(line);
		} else
			printf("%s%s\n", first ? "sync (greywalld):\n  " : "  ", line);
		first = 0;
	}
	if (json && !first)
		printf("]");
}

static int cmd_stats(void)
{
	struct gw_table_map t, a;

	if (open_table(&t, cfg.table_path, GW_TABLE_TRIPLETS) ||
	    open_table(&a, cfg.awl_path, GW_TABLE_AWL))
		return EXIT_FAIL;
	if (json)
		printf("{");
	print_table_stats("triplets", &t, 0);
	print_table_stats("auto-whitelist", &a, !cfg.relay_maps[0]);
	if (cfg.relay_maps[0] && print_relay_stats()) {
		gw_table_map_close(&t);
		gw_table_map_close(&a);
		return EXIT_FAIL;
	}
	print_sync_stats();
	if (json)
		printf("}\n");
	gw_table_map_close(&t);
	gw_table_map_close(&a);
	return EXIT_OK;
}

static int run_stats(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_stats, argc, argv, 0, &first);

	return rc >= 0 ? rc : cmd_stats();
}

const struct greyctl_command greyctl_stats = {
    "stats",
    "",
    "  stats                      table sizes, fill and counters (and the relay filter's\n"
    "                             counters when relay_maps is set)\n",
    "Sizes, fill and counters of the triplet and auto-whitelist tables (table_path,\n"
    "awl_path), and the relay filter's counters when relay_maps is set. greywalld need\n"
    "not run: the tables are read where they are.\n",
    run_stats,
};
