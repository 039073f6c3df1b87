// SPDX-License-Identifier: BSD-2-Clause
/* greyctl triplets: the triplet table's entries, with their names when greywalld has them. */
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

#define GW_NAMES_BATCH 400 /* fingerprints per "names" request: fits GW_CONTROL_LINE_MAX */

/* A triplet's text as greywalld knows it. */
struct triplet_name {
	u64 fp;
	char client[64], sender[GW_ADDR_MAX + 1], rcpt[GW_ADDR_MAX + 1];
};

/* Ask greywalld for the names of fps[0, n); unknown ones keep fp 0. Quiet if it is not there. */
static void fetch_names(const u64 *fps, size_t n, struct triplet_name *out)
{
	static char answer[1 << 20];
	char cmd[GW_NAMES_BATCH * 17 + 8];
	size_t i, done;

	memset(out, 0, n * sizeof(*out));
	for (done = 0; done < n; done += GW_NAMES_BATCH) {
		size_t len = (size_t)snprintf(cmd, sizeof(cmd), "names");
		char *line, *save = NULL;

		for (i = done; i < n && i < done + GW_NAMES_BATCH; i++)
			len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %016llx",
						(unsigned long long)fps[i]);
		if (control_request(cmd, answer, sizeof(answer)) != GW_CONTROL_DONE ||
		    strncmp(answer, "ok\n", 3))
			return;
		for (line = strtok_r(answer + 3, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			struct triplet_name nm = {0};
			char *f[4];

			if (split_tabs(line, f, 4) < 4)
				continue;
			nm.fp = strtoull(f[0], NULL, 16);
			snprintf(nm.client, sizeof(nm.client), "%s", f[1]);
			snprintf(nm.sender, sizeof(nm.sender), "%s", f[2]);
			snprintf(nm.rcpt, sizeof(nm.rcpt), "%s", f[3]);
			for (i = done; i < n && i < done + GW_NAMES_BATCH; i++)
				if (fps[i] == nm.fp)
					out[i] = nm;
		}
	}
}

/* The table's entries (only fp's, if not 0), with their names when greywalld has them. */
static int list_triplets(struct gw_table_map *t, u64 limit, u64 only)
{
	static const char *const kinds[] = {"new", "greylisted", "passed", "dying"};
	struct triplet_name *nm = NULL;
	u64 *fps = NULL, *sts = NULL, i, n = 0, cap = 0;
	u32 s;

	for (i = 0; i < t->table.nbuckets && n < limit; i++) {
		for (s = 0; s < GW_SLOTS_PER_BUCKET && n < limit; s++) {
			struct gw_slot *sl = &t->table.buckets[i].slot[s];
			u64 fp = gw_load64(&sl->fp), st;

			if (fp <= GW_FP_TOMBSTONE || (only && fp != only) ||
			    !gw_slot_read(sl, fp, &st))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				fps = realloc(fps, cap * sizeof(*fps));
				sts = realloc(sts, cap * sizeof(*sts));
				if (!fps || !sts) {
					fprintf(stderr, "greyctl: out of memory\n");
					return EXIT_FAIL;
				}
			}
			fps[n] = fp;
			sts[n++] = st;
		}
	}
	if (only && !n) {
		fprintf(stderr, "greyctl: %016llx is not in the table\n", (unsigned long long)only);
		gw_table_map_close(t);
		return EXIT_FAIL;
	}
	nm = calloc(n ? n : 1, sizeof(*nm));
	if (!nm) {
		fprintf(stderr, "greyctl: out of memory\n");
		return EXIT_FAIL;
	}
	fetch_names(fps, n, nm);
	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		char first[32], last[32];
		u64 st = sts[i];

		fmt_time(t->table.epoch + gw_state_first(st), first, sizeof(first));
		fmt_time(t->table.epoch + (u64)gw_state_last_min(st) * 60, last, sizeof(last));
		if (json) {
			printf("%s{\"fingerprint\": \"%016llx\", \"state\": \"%s\", "
			       "\"first_seen\": \"%s\", \"last_seen\": \"%s\", \"count\": %u",
			       i ? ", " : "", (unsigned long long)fps[i], kinds[gw_state_kind(st)],
			       first, last, gw_state_count(st));
			if (nm[i].fp) {
				printf(", \"client\": ");
				json_string(nm[i].client);
				printf(", \"sender\": ");
				json_string(nm[i].sender);
				printf(", \"recipient\": ");
				json_string(nm[i].rcpt);
			}
			printf("}");
		} else {
			printf("%016llx  %-10s  first %s  last %s  count %u",
			       (unsigned long long)fps[i], kinds[gw_state_kind(st)], first, last,
			       gw_state_count(st));
			if (nm[i].fp)
				printf("  %s <%s> -> <%s>", nm[i].client, nm[i].sender, nm[i].rcpt);
			putchar('\n');
		}
	}
	if (json)
		printf("]\n");
	free(fps);
	free(sts);
	free(nm);
	gw_table_map_close(t);
	return EXIT_OK;
}

static int cmd_triplets(int argc, char **argv, u64 limit)
{
	struct gw_table_map t;
	u64 i, removed = 0;
	u32 s;

	if (argc < 1)
		return usage_error("which action: list, show, del or flush?");
	if (open_table(&t, cfg.table_path, GW_TABLE_TRIPLETS))
		return EXIT_FAIL;
	if (!strcmp(argv[0], "list")) {
		if (argc != 1)
			return usage_error("list takes only --limit N");
		return list_triplets(&t, limit, 0);
	}
	if (!strcmp(argv[0], "show")) {
		char *end;
		u64 fp;

		if (argc != 2)
			return usage_error("show takes one FINGERPRINT");
		fp = strtoull(argv[1], &end, 16);
		if (*end || fp <= GW_FP_TOMBSTONE)
			return usage_error("a FINGERPRINT is 16 hex digits, as 'list' prints");
		return list_triplets(&t, 1, fp);
	}
	if (!strcmp(argv[0], "del") || !strcmp(argv[0], "flush")) {
		u64 want = 0;
		char *end;

		if (!strcmp(argv[0], "del")) {
			if (argc != 2)
				return usage_error("del takes one FINGERPRINT");
			want = strtoull(argv[1], &end, 16);
			if (*end || want <= GW_FP_TOMBSTONE)
				return usage_error(
				    "a FINGERPRINT is 16 hex digits, as 'list' prints");
		}
		for (i = 0; i < t.table.nbuckets; i++) {
			for (s = 0; s < GW_SLOTS_PER_BUCKET; s++) {
				struct gw_slot *sl = &t.table.buckets[i].slot[s];
				u64 fp = gw_load64(&sl->fp), st;

				if (fp <= GW_FP_TOMBSTONE || (want && fp != want) ||
				    !gw_slot_read(sl, fp, &st) || gw_state_kind(st) == GW_ST_DYING)
					continue;
				removed += gw_table_remove(&t.table, sl, fp, st);
			}
		}
		gw_table_map_close(&t);
		if (json)
			printf("{\"removed\": %llu}\n", (unsigned long long)removed);
		else
			printf("greyctl: %llu triplet%s removed\n", (unsigned long long)removed,
			       removed == 1 ? "" : "s");
		if (want && !removed) {
			fprintf(stderr, "greyctl: %s is not in the table\n", argv[1]);
			return EXIT_FAIL;
		}
		return EXIT_OK;
	}
	gw_table_map_close(&t);
	return usage_error("triplets actions are list, show, del and flush");
}

static int run_triplets(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"limit", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	u64 limit = ~0ULL;
	char *end;
	int opt;

	optind = 0; /* a fresh scan: greyctl's own options were parsed before */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			limit = strtoull(optarg, &end, 10);
			if (*end || !optarg[0])
				return command_usage_error(&greyctl_triplets,
							   "--limit takes a number");
			break;
		case 'h':
			return command_help(&greyctl_triplets);
		default:
			return command_usage_error(&greyctl_triplets, NULL);
		}
	}
	if (limit != ~0ULL && (optind >= argc || strcmp(argv[optind], "list")))
		return command_usage_error(&greyctl_triplets, "--limit goes with list");
	return cmd_triplets(argc - optind, argv + optind, limit);
}

const struct greyctl_command greyctl_triplets = {
    "triplets",
    "list [--limit N] | show FP | del FP | flush",
    "  triplets list [--limit N]  entries of the triplet table: fingerprint, state,\n"
    "                             first and last seen, count\n"
    "                             and, when greywalld knows it, the triplet's client,\n"
    "                             sender and recipient\n"
    "  triplets show FINGERPRINT  one triplet, as 'list' prints it (exit 1 if absent)\n"
    "  triplets del FINGERPRINT   forget one triplet (hex, as 'list' prints it)\n"
    "  triplets flush             forget every triplet (auto-whitelist kept)\n",
    "  list [--limit N]    entries of the triplet table: fingerprint, state, first and last\n"
    "                      seen, count and, when greywalld knows it, the triplet's client,\n"
    "                      sender and recipient (at most N of them)\n"
    "  show FINGERPRINT    one triplet, as list prints it (exit 1 if absent)\n"
    "  del FINGERPRINT     forget one triplet (16 hex digits, as list prints it)\n"
    "  flush               forget every triplet (the auto-whitelist is kept)\n",
    run_triplets,
};
