// SPDX-License-Identifier: BSD-2-Clause
/*
 * greywalld: the control-plane daemon. This version owns the configuration,
 * the shared triplet tables and the lists, and answers the Postfix policy
 * delegation protocol from them. SIGHUP reloads the lists; SIGTERM stops.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <errno.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "greywall/maintenance.h"
#include "greywall/table_file.h"
#include "policy_server.h"

static const char usage_text[] =
    "Usage: greywalld [-c FILE] [-f] [-v] [--check]\n"
    "\n"
    "greywalld owns greywall's configuration and its shared triplet tables, and answers\n"
    "Postfix's policy delegation protocol from them, as a drop-in for postgrey:\n"
    "\n"
    "    smtpd_recipient_restrictions = ..., reject_unauth_destination,\n"
    "        check_policy_service inet:127.0.0.1:10023\n"
    "\n"
    "The tables are the ones greywall-dp uses, so a relay can start here and move the\n"
    "decision into the data path later without losing a triplet.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   configuration, 'key = value' lines (default " GW_CONF_DEFAULT_PATH ";\n"
    "                      if that file is missing, built-in defaults are used)\n"
    "  -f, --foreground    log to stderr as well as syslog (mail facility)\n"
    "  -v, --log-verdicts  log every decision, Postfix NOQUEUE style\n"
    "      --check         check the configuration and lists, then exit (0 = good)\n"
    "  -h, --help          this text\n"
    "\n"
    "Signals: SIGHUP reloads the whitelist and blacklist files; SIGUSR1 writes a snapshot;\n"
    "SIGTERM writes a snapshot and stops. greyctl sends these for you.\n"
    "See control/greywall.conf for every key, its meaning and its default.\n";

static volatile sig_atomic_t stop, reload, snapshot_asked;
static struct gw_table_map trip, awl;
static u64 sweep_cursor[2];
static time_t next_snapshot;

static void snap_name(const struct gw_daemon_config *c, int which, char *out, size_t len)
{
	snprintf(out, len, "%s%s", c->snapshot_path, which ? ".awl" : "");
}

static void snapshot_now(const struct gw_daemon_config *c)
{
	char path[GW_PATH_MAX + 8], err[512];
	struct timespec a, b;
	int which;

	if (!c->snapshot_path[0])
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (which = 0; which < 2; which++) {
		snap_name(c, which, path, sizeof(path));
		if (gw_snapshot_write(which ? &awl.table : &trip.table, path, err, sizeof(err)))
			syslog(LOG_ERR, "%s", err);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	syslog(LOG_INFO, "snapshot written to %s in %.1f ms", c->snapshot_path,
	       (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
}

/* Once a second: a slice of the expiry sweep, and a snapshot when one is due. */
static void on_tick(struct gw_policy_ctx *ctx)
{
	const struct gw_daemon_config *c = ctx->cfg;
	u64 now = (u64)time(NULL), removed;
	u64 slice_t = trip.table.nbuckets / c->sweep_period + 1;
	u64 slice_a = awl.table.nbuckets / c->sweep_period + 1;

	removed = gw_table_sweep(&trip.table, &c->policy, now, &sweep_cursor[0], slice_t);
	removed += gw_table_sweep(&awl.table, &c->policy, now, &sweep_cursor[1], slice_a);
	if (removed && ctx->log_verdicts)
		syslog(LOG_INFO, "expired %llu entries", (unsigned long long)removed);
	if (c->snapshot_path[0] && ((time_t)now >= next_snapshot || snapshot_asked)) {
		snapshot_asked = 0;
		snapshot_now(c);
		next_snapshot = (time_t)now + c->snapshot_interval;
	}
}

/* After a reboot /dev/shm is empty: bring the tables back from the last snapshot. */
static int restore_if_missing(const struct gw_daemon_config *c, char *err, size_t errlen)
{
	const char *tables[2] = {c->table_path, c->awl_path};
	char path[GW_PATH_MAX + 8], dir[GW_PATH_MAX], *slash;
	int which;

	if (!c->snapshot_path[0])
		return 0;
	snprintf(dir, sizeof(dir), "%s", c->snapshot_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0750) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	for (which = 0; which < 2; which++) {
		snap_name(c, which, path, sizeof(path));
		if (access(tables[which], F_OK) == 0 || access(path, F_OK) != 0)
			continue;
		if (gw_snapshot_restore(path, tables[which],
					which ? GW_TABLE_AWL : GW_TABLE_TRIPLETS, err, errlen)) {
			size_t l = strlen(err);

			snprintf(err + l, errlen - l, " (move it aside to start empty)");
			return -1;
		}
		fprintf(stderr, "greywalld: restored %s from %s\n", tables[which], path);
	}
	return 0;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else if (sig == SIGUSR1)
		snapshot_asked = 1;
	else
		stop = 1;
}

static void do_reload(struct gw_policy_ctx *ctx)
{
	char err[512];
	struct gw_lists *n = gw_lists_load_files(ctx->cfg->whitelist_path, ctx->cfg->blacklist_path,
						 err, sizeof(err));
	struct gw_lists *old;

	if (!n) {
		/* keep serving the old lists: a typo must not open the gate */
		syslog(LOG_ERR, "reload refused, keeping the current lists: %s", err);
		return;
	}
	old = ctx->lists;
	ctx->lists = n;
	gw_lists_free(old);
	syslog(LOG_INFO, "lists reloaded: %zu entries", gw_lists_size(n));
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"foreground", no_argument, NULL, 'f'},
	    {"log-verdicts", no_argument, NULL, 'v'}, {"check", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	static struct gw_daemon_config cfg;
	static struct gw_policy_ctx ctx;
	const char *path = NULL;
	int opt, foreground = 0, check = 0, rc;
	char err[1024];

	while ((opt = getopt_long(argc, argv, "c:fvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			ctx.log_verdicts = 1;
			break;
		case 'C':
			check = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'greywalld --help'.\n");
			return 2;
		}
	}
	gw_daemon_config_defaults(&cfg);
	if (path || access(GW_CONF_DEFAULT_PATH, F_OK) == 0) {
		if (gw_daemon_config_load(&cfg, path ? path : GW_CONF_DEFAULT_PATH, err,
					  sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
	} else if (!check) {
		fprintf(stderr, "greywalld: %s not found, using built-in defaults\n",
			GW_CONF_DEFAULT_PATH);
	}
	ctx.cfg = &cfg;
	ctx.lists = gw_lists_load_files(cfg.whitelist_path, cfg.blacklist_path, err, sizeof(err));
	if (!ctx.lists) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (check) {
		printf("greywalld: configuration good; %zu list entries\n",
		       gw_lists_size(ctx.lists));
		return 0;
	}
	openlog("greywalld", LOG_PID | (foreground ? LOG_PERROR : 0), LOG_MAIL);
	if (restore_if_missing(&cfg, err, sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (gw_table_map_open(&trip, cfg.table_path, cfg.capacity, GW_TABLE_TRIPLETS, GW_TF_CREATE,
			      NULL, err, sizeof(err)) ||
	    gw_table_map_open(&awl, cfg.awl_path, cfg.capacity / 8 + 1024, GW_TABLE_AWL,
			      GW_TF_CREATE | GW_TF_SECRET, trip.table.hdr->secret, err,
			      sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	ctx.policy =
	    (struct gw_policy){&trip.table, &awl.table, &cfg.policy, trip.table.hdr->secret};
	signal(SIGHUP, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	next_snapshot = time(NULL) + cfg.snapshot_interval;
	rc = gw_policy_serve(&ctx, cfg.policy_listen, &stop, &reload, do_reload, on_tick, err,
			     sizeof(err));
	snapshot_now(&cfg); /* after SIGTERM nothing is lost */
	if (rc)
		fprintf(stderr, "greywalld: %s\n", err);
	syslog(LOG_INFO, "stopping: %llu requests, %llu greylisted, %llu passed", ctx.requests,
	       ctx.verdicts[GW_V_GREYLIST], ctx.verdicts[GW_V_PASS]);
	gw_table_map_close(&trip);
	gw_table_map_close(&awl);
	gw_lists_free(ctx.lists);
	return rc ? 1 : 0;
}
