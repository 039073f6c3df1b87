// SPDX-License-Identifier: BSD-2-Clause
/*
 * greywalld: the control-plane daemon. This version owns the configuration,
 * the shared triplet tables and the lists, and answers the Postfix policy
 * delegation protocol from them. SIGHUP reloads the lists; SIGTERM stops.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#include "admin.h"
#include "cluster.h"
#include "config.h"
#include "greywall/maintenance.h"
#include "greywall/relay.h"
#include "greywall/table_file.h"
#include "dp_link.h"
#include "lists_pg.h"
#include "policy_server.h"
#include "privdrop.h"
#include "relay_events.h"
#include "relay_maps.h"
#include "report.h"

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
    "With relay_maps set (e.g. /sys/fs/bpf/greywall/maps), greywalld drives the XDP/TC\n"
    "relay filter instead: its triplet and auto-whitelist maps are the tables, the\n"
    "policy settings go into its config map at start, and the lists are published\n"
    "into its list maps at start and on every reload, a whole set at a time.\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   configuration, 'key = value' lines (default " GW_CONF_DEFAULT_PATH ";\n"
    "                      if that file is missing, built-in defaults are used)\n"
    "  -f, --foreground    log to stderr as well as syslog (mail facility)\n"
    "  -v, --log-verdicts  log every decision, Postfix NOQUEUE style\n"
    "      --check         check the configuration and lists, then exit (0 = good)\n"
    "  -h, --help          this text\n"
    "\n"
    "With user set, greywalld opens its tables, maps and sockets as root and then runs\n"
    "as that user (keeping only CAP_BPF when it drives the relay filter); the snapshot\n"
    "directory must be writable by it, and policy_listen must be a port above 1023.\n"
    "\n"
    "Signals: SIGHUP reloads the whitelist and blacklist files; SIGUSR1 writes a snapshot;\n"
    "SIGTERM writes a snapshot and stops.\n"
    "\n"
    "Administration: greyctl talks to the control socket (control_socket, mode 0660,\n"
    "group control_group): one command line in (ping, reload, snapshot, stats), an\n"
    "'ok' or 'error: REASON' line and details out. Prometheus metrics are served at\n"
    "http://METRICS_LISTEN/metrics (127.0.0.1:9425 by default).\n"
    "See control/greywall.conf for every key, its meaning and its default.\n";

static volatile sig_atomic_t stop, reload, snapshot_asked;
static struct gw_table_map trip, awl;
static u64 sweep_cursor[2];
static time_t next_snapshot;
static struct gw_metrics_src metrics;
static struct gw_relay_maps relay;
static int relay_open;
static struct gw_names *names;
static struct gw_relay_events *events;
static struct gw_judged judged; /* the filter's passes, for the policy server to take */
static struct gw_dp_link dp;
static struct gw_verdict_sink dp_sink;
static time_t next_names_expiry;
static struct gw_cluster *cluster;
static struct gw_lists_pg *lists_pg;
static u64 cluster_secret[2];

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void snap_name(const struct gw_daemon_config *c, int which, char *out, size_t len)
{
	snprintf(out, len, "%s%s", c->snapshot_path, which ? ".awl" : "");
}

/* Returns 0, or -1 with the reason in err (also logged). */
static int snapshot_now(const struct gw_daemon_config *c, char *err, size_t errlen)
{
	char path[GW_PATH_MAX + 8];
	struct timespec a, b;
	int which, rc = 0;

	if (!c->snapshot_path[0]) {
		snprintf(err, errlen, "snapshots are off (snapshot_path is empty)");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (which = 0; which < 2 && !rc; which++) {
		snap_name(c, which, path, sizeof(path));
		rc = gw_snapshot_write(which ? &awl.table : &trip.table, path, err, errlen);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (rc) {
		metrics.snapshot_failures++;
		syslog(LOG_ERR, "%s", err);
		return -1;
	}
	metrics.last_snapshot_seconds = seconds_between(&a, &b);
	metrics.last_snapshot_time = (long long)time(NULL);
	syslog(LOG_INFO, "snapshot written to %s in %.1f ms", c->snapshot_path,
	       metrics.last_snapshot_seconds * 1e3);
	return 0;
}

/* Once a second: a slice of the expiry sweep, and a snapshot when one is due. */
static void on_tick(struct gw_policy_ctx *ctx)
{
	const struct gw_daemon_config *c = ctx->cfg;
	u64 now = (u64)time(NULL), removed;
	u64 slice_t = trip.table.nbuckets / c->sweep_period + 1;
	u64 slice_a = awl.table.nbuckets / c->sweep_period + 1;
	struct timespec a, b;
	char err[512];

	if (names && (time_t)now >= next_names_expiry) {
		gw_names_expire(names, now > c->policy.max_age ? now - c->policy.max_age : 0);
		next_names_expiry = (time_t)now + 60;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	removed = gw_table_sweep(&trip.table, &c->policy, now, &sweep_cursor[0], slice_t);
	removed += gw_table_sweep(&awl.table, &c->policy, now, &sweep_cursor[1], slice_a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	metrics.last_sweep_seconds = seconds_between(&a, &b);
	metrics.sweep_removed += removed;
	if (removed && ctx->log_verdicts)
		syslog(LOG_INFO, "expired %llu entries", (unsigned long long)removed);
	if (c->snapshot_path[0] && ((time_t)now >= next_snapshot || snapshot_asked)) {
		snapshot_asked = 0;
		snapshot_now(c, err, sizeof(err));
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
		if (mkdir(dir, 0750) == 0) {
			/* made here, for whoever greywalld runs as */
			struct passwd *pw = c->user[0] ? getpwnam(c->user) : NULL;

			if (pw && chown(dir, pw->pw_uid, pw->pw_gid)) {
				snprintf(err, errlen, "cannot give %s to %s: %s", dir, c->user,
					 strerror(errno));
				return -1;
			}
		} else if (errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -1;
		}
	}
	for (which = 0; which < 2; which++) {
		snap_name(c, which, path, sizeof(path));
		if (access(tables[which], F_OK) == 0 || access(path, F_OK) != 0)
			continue;
		if (gw_snapshot_restore(
			path, tables[which], which ? GW_TABLE_AWL : GW_TABLE_TRIPLETS,
			which ? c->capacity / 8 + 1024 : c->capacity, err, errlen)) {
			size_t l = strlen(err);

			snprintf(err + l, errlen - l, " (move it aside to start empty)");
			return -1;
		}
		fprintf(stderr, "greywalld: restored %s from %s\n", tables[which], path);
	}
	return 0;
}

/*
 * The relay filter's maps outlive greywalld but not a reboot: a map that
 * comes up empty takes the last snapshot back. One that holds entries is
 * newer than any snapshot and is left alone.
 */
static int restore_into_maps(const struct gw_daemon_config *c, char *err, size_t errlen)
{
	struct gw_table *tables[2] = {&trip.table, &awl.table};
	char path[GW_PATH_MAX + 8];
	int which, rc;

	if (!c->snapshot_path[0])
		return 0;
	for (which = 0; which < 2; which++) {
		snap_name(c, which, path, sizeof(path));
		if (access(path, F_OK))
			continue;
		rc = gw_snapshot_restore_into(path, tables[which], err, errlen);
		if (rc < 0) {
			size_t l = strlen(err);

			snprintf(err + l, errlen - l, " (move it aside to start empty)");
			return -1;
		}
		if (rc == 0)
			fprintf(stderr, "greywalld: restored the relay filter's %s map from %s\n",
				which ? "awl" : "triplets", path);
	}
	return 0;
}

/* A capacity the machine cannot hold is refused, at start and by --check alike. */
static int check_table_room(const struct gw_daemon_config *c, char *err, size_t errlen)
{
	const char *paths[2] = {c->table_path, c->awl_path};
	u64 bytes[2] = {gw_table_bytes(gw_table_nbuckets_for(c->capacity)),
			gw_table_bytes(gw_table_nbuckets_for(c->capacity / 8 + 1024))};
	size_t l;

	if (gw_table_path_is_bpf(c->table_path) ||
	    !gw_table_room_check(paths, bytes, 2, err, errlen))
		return 0;
	l = strlen(err);
	snprintf(err + l, errlen - l, " (capacity = %llu)", c->capacity);
	return -1;
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

/* Returns 0, or -1 with the reason in err; the old lists stay in force then. */
/* Publish the lists to the relay filter, if there is one. 0, or -1 with err. */
static int relay_publish(const struct gw_lists *lists, char *err, size_t errlen)
{
	struct gw_relay_sync_stats st;

	if (!relay_open)
		return 0;
	if (gw_relay_push_lists(&relay, lists, trip.table.hdr->secret, &st, err, errlen))
		return -1;
	syslog(LOG_INFO,
	       "relay filter: list generation %u in force: %llu entries, %llu keys "
	       "written, %llu removed",
	       st.gen, st.entries, st.written, st.deleted);
	return 0;
}

static int reload_lists(struct gw_policy_ctx *ctx, char *err, size_t errlen)
{
	struct gw_lists *n =
	    gw_lists_load_files(ctx->cfg->whitelist_path, ctx->cfg->blacklist_path, err, errlen);
	struct gw_lists *old;

	/* the database's last good rows join the files' entries, published as one set */
	if (!n || gw_lists_pg_add_to(lists_pg, n, err, errlen) || relay_publish(n, err, errlen)) {
		/* keep serving the old lists: a typo must not open the gate */
		gw_lists_free(n);
		metrics.reload_failures++;
		syslog(LOG_ERR, "reload refused, keeping the current lists: %s", err);
		return -1;
	}
	old = ctx->lists;
	ctx->lists = n;
	gw_lists_free(old);
	metrics.reloads++;
	metrics.list_entries = gw_lists_size(n);
	syslog(LOG_INFO, "lists reloaded: %zu entries", gw_lists_size(n));
	return 0;
}

static void do_reload(struct gw_policy_ctx *ctx)
{
	char err[512];

	reload_lists(ctx, err, sizeof(err));
}

/*
 * A literal's length is the compiler's to count, never ours: hand-counted
 * lengths sent bytes past the end of two of them ("\0\0H" after a 405, a NUL
 * after the report error). "" s "" refuses anything but a string literal.
 */
#define PUT_LIT(a, s) gw_answer_put(a, "" s "", sizeof(s) - 1)

static void put_str(struct gw_answer *a, const char *s)
{
	gw_answer_put(a, s, strlen(s));
}

/* The control protocol's request: one line. */
static size_t control_request_end(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	return nl ? (size_t)(nl - buf) + 1 : 0;
}

/*
 * An HTTP request ends at its empty line; a bare "GET /metrics" line with
 * no version (HTTP/0.9 style, as a quick nc probe sends) ends at its own.
 */
static size_t metrics_request_end(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len), *end;

	if (!nl)
		return 0;
	if (!memmem(buf, (size_t)(nl - buf), " HTTP/", 6))
		return (size_t)(nl - buf) + 1;
	end = memmem(buf, len, "\n\r\n", 3);
	if (end)
		return (size_t)(end - buf) + 3;
	end = memmem(buf, len, "\n\n", 2);
	return end ? (size_t)(end - buf) + 2 : 0;
}

/* Bring the figures that live elsewhere (the filter's maps, the names) into metrics. */
static void metrics_refresh(void)
{
	static unsigned long long relay_vals[GW_RS_COUNT];

	if (relay_open && gw_relay_read_stats(&relay, relay_vals) == 0)
		metrics.relay = relay_vals;
	metrics.names = names ? gw_names_count(names) : 0;
	metrics.dp = gw_dp_link_shm(&dp);
	metrics.names_dropped = names ? gw_names_dropped(names) : 0;
}

static void catch_up_events(struct gw_policy_ctx *ctx)
{
	(void)ctx;
	gw_relay_events_drain(events);
}

static void serve_events(struct gw_policy_ctx *ctx, int fd)
{
	(void)ctx;
	(void)fd;
	gw_relay_events_drain(events);
}

/* Ten times a second: greywall-dp's rings have no fd to wake us. */
static void serve_dp_timer(struct gw_policy_ctx *ctx, int fd)
{
	u64 expirations;

	(void)ctx;
	if (read(fd, &expirations, sizeof(expirations)) > 0)
		gw_dp_link_poll(&dp, &dp_sink);
}

/* The database has a new generation of list rows: reload as SIGHUP does. */
static void serve_lists_pg(struct gw_policy_ctx *ctx, int fd)
{
	char err[512];

	(void)fd;
	gw_lists_pg_ack(lists_pg);
	reload_lists(ctx, err, sizeof(err));
}

/* "names FP FP ...": the text of each triplet greywalld knows, one line each. */
static void send_names(struct gw_answer *a, char *args)
{
	char *tok, *save = NULL, line[GW_ADDR_MAX * 2 + 128], addr[INET6_ADDRSTRLEN];

	PUT_LIT(a, "ok\n");
	for (tok = strtok_r(args, " ", &save); tok && names; tok = strtok_r(NULL, " ", &save)) {
		const struct gw_name *nm = gw_names_get(names, strtoull(tok, NULL, 16));
		int n;

		if (!nm)
			continue;
		inet_ntop(nm->family == GW_AF_INET ? AF_INET : AF_INET6, nm->client, addr,
			  sizeof(addr));
		n = snprintf(line, sizeof(line), "%016llx\t%s\t%s\t%s\n",
			     (unsigned long long)nm->fp, addr, nm->sender, nm->rcpt);
		if (n > 0 && (size_t)n < sizeof(line))
			gw_answer_put(a, line, (size_t)n);
	}
}

static void control_answer(struct gw_policy_ctx *ctx, char *req, size_t len, struct gw_answer *a)
{
	static char page[65536];
	char err[600], msg[700];
	const char *cmd = req;
	size_t n;

	/* a NUL would end the command early: "ping\0anything" is not ping */
	if (memchr(req, 0, len)) {
		PUT_LIT(a, "error: a NUL in the command line\n");
		return;
	}
	req[strcspn(req, "\r\n")] = 0;
	if (!strcmp(cmd, "ping")) {
		PUT_LIT(a, "ok\n");
	} else if (!strcmp(cmd, "reload")) {
		if (reload_lists(ctx, err, sizeof(err)))
			snprintf(msg, sizeof(msg), "error: %s (the old lists stay in force)\n",
				 err);
		else
			snprintf(msg, sizeof(msg), "ok\nlists reloaded: %zu entries\n",
				 metrics.list_entries);
		put_str(a, msg);
	} else if (!strcmp(cmd, "snapshot")) {
		if (snapshot_now(ctx->cfg, err, sizeof(err)))
			snprintf(msg, sizeof(msg), "error: %s\n", err);
		else
			snprintf(msg, sizeof(msg), "ok\nsnapshot written to %s\n",
				 ctx->cfg->snapshot_path);
		put_str(a, msg);
	} else if (!strcmp(cmd, "stats")) {
		PUT_LIT(a, "ok\n");
		metrics_refresh();
		n = gw_metrics_render(&metrics, 0, page, sizeof(page));
		n += gw_cluster_render(cluster, 0, page + n, sizeof(page) - n);
		n += gw_lists_pg_render(lists_pg, 0, page + n, sizeof(page) - n);
		gw_answer_put(a, page, n);
	} else if (!strcmp(cmd, "report")) {
		gw_relay_events_drain(events);
		gw_dp_link_poll(&dp, &dp_sink);
		if (!names) {
			PUT_LIT(a, "error: names_capacity is 0: no names, no report\n");
			return;
		}
		PUT_LIT(a, "ok\n");
		n = gw_report_render(names, &trip.table, &ctx->cfg->policy, (u64)time(NULL),
				     ctx->cfg->report_after, page, sizeof(page));
		gw_answer_put(a, page, n);
	} else if (!strncmp(cmd, "names", 5) && (cmd[5] == ' ' || !cmd[5])) {
		gw_relay_events_drain(events);
		gw_dp_link_poll(&dp, &dp_sink);
		send_names(a, (char *)cmd + 5);
	} else {
		snprintf(msg, sizeof(msg),
			 "error: unknown command '%.64s' (ping, reload, snapshot, stats, report, "
			 "names)\n",
			 cmd);
		put_str(a, msg);
	}
}

/* Just enough HTTP/1.0 for a Prometheus scraper: GET /metrics. */
static void metrics_answer(struct gw_policy_ctx *ctx, char *req, size_t len, struct gw_answer *a)
{
	static char page[65536];
	char head[256];
	size_t n;
	int h;

	(void)ctx;
	(void)len;
	req[strcspn(req, "\r\n")] = 0;
	if (strncmp(req, "GET ", 4)) {
		PUT_LIT(a, "HTTP/1.0 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (strncmp(req + 4, "/metrics", 8) || (req[12] != ' ' && req[12] != '?' && req[12])) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
					 "Content-Length: 19\r\n\r\ntry GET /metrics\r\n\n";

		gw_answer_put(a, nf, sizeof(nf) - 1);
		return;
	}
	metrics_refresh();
	n = gw_metrics_render(&metrics, 1, page, sizeof(page));
	n += gw_cluster_render(cluster, 1, page + n, sizeof(page) - n);
	n += gw_lists_pg_render(lists_pg, 1, page + n, sizeof(page) - n);
	h = snprintf(head, sizeof(head),
		     "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
		     "Content-Length: %zu\r\n\r\n",
		     n);
	if (h < 0 || (size_t)h >= sizeof(head))
		return;
	gw_answer_put(a, head, (size_t)h);
	gw_answer_put(a, page, n);
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
	struct gw_side_listener sides[4] = {0};
	const char *path = NULL;
	int opt, foreground = 0, check = 0, rc, nsides = 0;
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
		if (cfg.warnings[0])
			fputs(cfg.warnings, stderr);
	} else if (!check) {
		fprintf(stderr, "greywalld: %s not found, using built-in defaults\n",
			GW_CONF_DEFAULT_PATH);
	}
	ctx.cfg = &cfg;
	if (cfg.user[0] && getpwnam(cfg.user)) /* it may own the lists it reloads */
		gw_lists_trust_owner(getpwnam(cfg.user)->pw_uid);
	if (cfg.names_capacity && !(names = gw_names_new(cfg.names_capacity))) {
		fprintf(stderr, "greywalld: no memory for %u names\n", cfg.names_capacity);
		return 1;
	}
	ctx.names = names;
	ctx.lists = gw_lists_load_files(cfg.whitelist_path, cfg.blacklist_path, err, sizeof(err));
	if (!ctx.lists) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (check_table_room(&cfg, err, sizeof(err)) ||
	    gw_cluster_secret(&cfg, cluster_secret, err, sizeof(err)) < 0) {
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
	/* a cluster node makes its table with the cluster's secret, and refuses another */
	if (gw_table_map_open(&trip, cfg.table_path, cfg.capacity, GW_TABLE_TRIPLETS,
			      GW_TF_CREATE | (cfg.cluster_redis[0] ? GW_TF_SECRET : 0),
			      cluster_secret, err, sizeof(err)) ||
	    gw_cluster_check_table(&cfg, trip.table.hdr->secret, err, sizeof(err)) ||
	    gw_table_map_open(&awl, cfg.awl_path, cfg.capacity / 8 + 1024, GW_TABLE_AWL,
			      GW_TF_CREATE | GW_TF_SECRET, trip.table.hdr->secret, err,
			      sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	/* two daemons on one table overwrite each other's snapshots: the second one stops */
	if (gw_table_lock(cfg.table_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (gw_table_path_is_bpf(cfg.table_path) && restore_into_maps(&cfg, err, sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	ctx.policy =
	    (struct gw_policy){&trip.table, &awl.table, &cfg.policy, trip.table.hdr->secret};
	if (cfg.relay_maps[0]) {
		/* the filter runs on with what it has if we stop, so refuse to start half-done */
		if (gw_relay_maps_open(&relay, cfg.relay_maps, err, sizeof(err)) ||
		    gw_relay_push_policy(&relay, &cfg.policy, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		relay_open = 1;
		if (relay_publish(ctx.lists, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		syslog(LOG_INFO, "relay filter: policy and lists pushed to %s", cfg.relay_maps);
		{
			char path[GW_PATH_MAX + 16];

			snprintf(path, sizeof(path), "%s/events", cfg.relay_maps);
			events = gw_relay_events_open(path, &cfg.policy, trip.table.hdr->secret,
						      names, &judged, err, sizeof(err));
			if (!events) {
				fprintf(stderr, "greywalld: %s\n", err);
				return 1;
			}
			ctx.judged = &judged;
			ctx.catch_up = catch_up_events;
		}
	}
	signal(SIGHUP, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	next_snapshot = time(NULL) + cfg.snapshot_interval;
	metrics.ctx = &ctx;
	metrics.triplets = &trip.table;
	metrics.awl = &awl.table;
	metrics.list_entries = gw_lists_size(ctx.lists);
	if (cfg.control_socket[0]) {
		char warning[512];

		sides[nsides].fd = gw_admin_listen_unix(cfg.control_socket, cfg.control_group,
							warning, sizeof(warning), err, sizeof(err));
		if (sides[nsides].fd < 0) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		if (warning[0])
			syslog(LOG_WARNING, "%s", warning);
		syslog(LOG_INFO, "control socket %s", cfg.control_socket);
		sides[nsides].request_end = control_request_end;
		sides[nsides++].answer = control_answer;
	}
	if (cfg.metrics_listen[0]) {
		sides[nsides].fd =
		    gw_listen_tcp("metrics_listen", cfg.metrics_listen, err, sizeof(err));
		if (sides[nsides].fd < 0) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		syslog(LOG_INFO, "metrics at http://%s/metrics", cfg.metrics_listen);
		sides[nsides].request_end = metrics_request_end;
		sides[nsides++].answer = metrics_answer;
	}
	if (cfg.user[0] && geteuid() == 0) {
		/* everything privileged is open: the rest runs as cfg.user */
		char snap_dir[GW_PATH_MAX];
		const char *must_write[2] = {snap_dir, NULL};
		char *slash;

		snprintf(snap_dir, sizeof(snap_dir), "%s", cfg.snapshot_path);
		slash = strrchr(snap_dir, '/');
		if (slash)
			*(slash == snap_dir ? slash + 1 : slash) = 0;
		else if (snap_dir[0])
			snprintf(snap_dir, sizeof(snap_dir), ".");
		if (gw_drop_privileges(cfg.user, relay_open, must_write, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		syslog(LOG_INFO, "running as user %s%s", cfg.user,
		       relay_open ? " with CAP_BPF only" : "");
	}
	if (!relay_open) {
		/* greywall-dp's shared state, found whenever greywall-dp starts */
		struct itimerspec every = {{0, 100000000}, {0, 100000000}};
		char dp_path[GW_PATH_MAX + 8];

		snprintf(dp_path, sizeof(dp_path), "%s", cfg.dp_shm);
		if (!dp_path[0])
			snprintf(dp_path, sizeof(dp_path), "%.500s.dp", cfg.table_path);
		gw_dp_link_init(&dp, dp_path);
		/* no credits: greywall-dp cuts in-line and its rings are read 10 times a second */
		dp_sink = (struct gw_verdict_sink){&cfg.policy, trip.table.hdr->secret, names,
						   "greywall-dp", NULL};
		sides[nsides].fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (sides[nsides].fd < 0 || timerfd_settime(sides[nsides].fd, 0, &every, NULL)) {
			fprintf(stderr, "greywalld: timerfd: %s\n", strerror(errno));
			return 1;
		}
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = serve_dp_timer;
	}
	if (cfg.cluster_redis[0] &&
	    !(cluster = gw_cluster_start(&cfg, &trip.table, &awl.table, err, sizeof(err)))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (cfg.lists_pg[0]) {
		/* after the privilege drop: the files are read again as greywalld's user anyway */
		if (!(lists_pg = gw_lists_pg_start(&cfg, err, sizeof(err))) ||
		    reload_lists(&ctx, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		sides[nsides].fd = gw_lists_pg_fd(lists_pg);
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = serve_lists_pg;
	}
	if (events) {
		sides[nsides].fd = gw_relay_events_fd(events);
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = serve_events;
	}
	rc = gw_policy_serve(&ctx, cfg.policy_listen, &stop, &reload, do_reload, on_tick, sides,
			     nsides, err, sizeof(err));
	{
		char snap_err[512];

		snapshot_now(&cfg, snap_err, sizeof(snap_err)); /* after SIGTERM nothing is lost */
	}
	if (cfg.control_socket[0])
		unlink(cfg.control_socket);
	if (rc)
		fprintf(stderr, "greywalld: %s\n", err);
	syslog(LOG_INFO, "stopping: %llu requests, %llu greylisted, %llu passed", ctx.requests,
	       ctx.verdicts[GW_V_GREYLIST], ctx.verdicts[GW_V_PASS]);
	gw_relay_events_drain(events);
	gw_relay_events_close(events);
	gw_dp_link_poll(&dp, &dp_sink);
	gw_dp_link_close(&dp);
	gw_cluster_stop(cluster);
	gw_lists_pg_stop(lists_pg);
	if (relay_open)
		gw_relay_maps_close(&relay);
	gw_names_free(names);
	gw_table_map_close(&trip);
	gw_table_map_close(&awl);
	gw_lists_free(ctx.lists);
	return rc ? 1 : 0;
}
