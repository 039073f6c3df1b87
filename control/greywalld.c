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

#include "greywall/version.h"
#include "admin.h"
#include "daemon.h"
#include "greywall/conf.h"
#include "greywall/control_socket.h"
#include "greywall/maintenance.h"
#include "greywall/relay.h"
#include "greywall/table_file.h"
#include "dp_link.h"
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
    "  -v, --log-verdicts  log every policy decision, as postgrey does\n"
    "      --check         check the configuration and lists, then exit (0 = good)\n"
    "  -h, --help          this text\n"
    "      --version       print greywalld's version\n"
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

static volatile sig_atomic_t stop, reload, snapshot_asked; /* set by signals */

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else if (sig == SIGUSR1)
		snapshot_asked = 1;
	else
		stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"log-verdicts", no_argument, NULL, 'v'},
	    {"check", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static struct gw_daemon greywalld;
	struct gw_daemon *d = &greywalld;
	struct gw_side_listener sides[8] = {0};
	const char *path = NULL;
	int opt, foreground = 0, check = 0, rc, nsides = 0, restored_files = 0;
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
			d->ctx.log_verdicts = 1;
			break;
		case 'C':
			check = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			puts("greywalld " GW_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'greywalld --help'.\n");
			return 2;
		}
	}
	gw_conf_defaults(&d->cfg);
	if (path || access(GW_CONF_DEFAULT_PATH, F_OK) == 0) {
		if (gw_conf_load(&d->cfg, path ? path : GW_CONF_DEFAULT_PATH, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		if (d->cfg.warnings[0])
			fputs(d->cfg.warnings, stderr);
	} else if (!check) {
		fprintf(stderr, "greywalld: %s not found, using built-in defaults\n",
			GW_CONF_DEFAULT_PATH);
	}
	d->ctx.cfg = &d->cfg;
	if (d->cfg.user[0] && getpwnam(d->cfg.user)) /* it may own the lists it reloads */
		gw_lists_trust_owner(getpwnam(d->cfg.user)->pw_uid);
	if (d->cfg.names_capacity && !(d->names = gw_names_new(d->cfg.names_capacity))) {
		fprintf(stderr, "greywalld: no memory for %u names\n", d->cfg.names_capacity);
		return 1;
	}
	d->ctx.names = d->names;
	d->ctx.lists = gw_lists_load_all(d->cfg.whitelist_path, d->cfg.blacklist_path,
					 d->cfg.pools_path, err, sizeof(err));
	if (!d->ctx.lists) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (gw_daemon_check_table_room(&d->cfg, err, sizeof(err)) ||
	    gw_cluster_secret(&d->cfg, d->cluster_secret, err, sizeof(err)) < 0 ||
	    gw_spf_pools_check(d->cfg.pools_spf, err, sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (check) {
		printf("greywalld: configuration good; %zu list entries\n",
		       gw_lists_size(d->ctx.lists));
		return 0;
	}
	/* a journal on stderr has syslog's copy already */
	openlog(d->cfg.syslog_ident,
		LOG_PID | (foreground && !gw_stderr_is_journal() ? LOG_PERROR : 0), LOG_MAIL);
	if (gw_daemon_restore_if_missing(&d->cfg, &restored_files, err, sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	/* a cluster node makes its table with the cluster's secret, and refuses another */
	if (gw_table_map_open(&d->trip, d->cfg.table_path, d->cfg.capacity, GW_TABLE_TRIPLETS,
			      GW_TF_CREATE | (d->cfg.cluster_redis[0] ? GW_TF_SECRET : 0),
			      d->cluster_secret, err, sizeof(err)) ||
	    gw_cluster_check_table(&d->cfg, d->trip.table.hdr->secret, err, sizeof(err)) ||
	    gw_table_map_open(&d->awl, d->cfg.awl_path, d->cfg.capacity / 8 + 1024, GW_TABLE_AWL,
			      GW_TF_CREATE | GW_TF_SECRET, d->trip.table.hdr->secret, err,
			      sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	/* two daemons on one table overwrite each other's snapshots: the second one stops */
	if (gw_table_lock(d->cfg.table_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (gw_table_path_is_bpf(d->cfg.table_path)
		? gw_daemon_restore_into_maps(d, err, sizeof(err))
		: gw_daemon_restore_into_new_tables(d, restored_files, err, sizeof(err))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	d->ctx.policy = (struct gw_policy){&d->trip.table, &d->awl.table, &d->cfg.policy,
					   d->trip.table.hdr->secret};
	if (d->cfg.relay_maps[0]) {
		/* the filter runs on with what it has if we stop, so refuse to start half-done */
		if (gw_relay_maps_open(&d->relay, d->cfg.relay_maps, err, sizeof(err)) ||
		    gw_relay_push_policy(&d->relay, &d->cfg.policy, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		d->relay_open = 1;
		if (gw_daemon_relay_publish(d, d->ctx.lists, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		syslog(LOG_INFO, "relay filter: policy and lists pushed to %s", d->cfg.relay_maps);
		{
			char path[GW_CONF_PATH_MAX + 16];

			snprintf(path, sizeof(path), "%.500s/events", d->cfg.relay_maps);
			d->events =
			    gw_relay_events_open(path, &d->cfg.policy, d->trip.table.hdr->secret,
						 d->names, &d->judged, err, sizeof(err));
			if (!d->events) {
				fprintf(stderr, "greywalld: %s\n", err);
				return 1;
			}
			gw_relay_events_use_lists(d->events, &d->ctx.lists);
			d->ctx.judged = &d->judged;
			d->ctx.catch_up = gw_daemon_catch_up_events;
		}
	}
	signal(SIGHUP, on_signal);
	signal(SIGUSR1, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	d->next_snapshot = time(NULL) + d->cfg.snapshot_interval;
	d->snapshot_asked = &snapshot_asked;
	d->metrics.ctx = &d->ctx;
	d->metrics.triplets = &d->trip.table;
	d->metrics.awl = &d->awl.table;
	d->metrics.list_entries = gw_lists_size(d->ctx.lists);
	if (d->cfg.control_socket[0]) {
		char warning[512];

		sides[nsides].fd = gw_control_listen(d->cfg.control_socket, d->cfg.control_group,
						     warning, sizeof(warning), err, sizeof(err));
		if (sides[nsides].fd < 0) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		if (warning[0])
			syslog(LOG_WARNING, "%s", warning);
		syslog(LOG_INFO, "control socket %s", d->cfg.control_socket);
		sides[nsides].request_end = gw_daemon_control_request_end;
		sides[nsides++].answer = gw_daemon_control_answer;
	}
	if (d->cfg.metrics_listen[0]) {
		sides[nsides].fd =
		    gw_listen_tcp("metrics_listen", d->cfg.metrics_listen, err, sizeof(err));
		if (sides[nsides].fd < 0) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		syslog(LOG_INFO, "metrics at http://%s/metrics", d->cfg.metrics_listen);
		sides[nsides].request_end = gw_daemon_metrics_request_end;
		sides[nsides++].answer = gw_daemon_metrics_answer;
	}
	if (d->cfg.user[0] && geteuid() == 0) {
		/* everything privileged is open: the rest runs as cfg.user */
		char snap_dir[GW_CONF_PATH_MAX];
		const char *must_write[2] = {snap_dir, NULL};
		char *slash;

		snprintf(snap_dir, sizeof(snap_dir), "%.511s", d->cfg.snapshot_path);
		slash = strrchr(snap_dir, '/');
		if (slash)
			*(slash == snap_dir ? slash + 1 : slash) = 0;
		else if (snap_dir[0])
			snprintf(snap_dir, sizeof(snap_dir), ".");
		if (gw_drop_privileges(d->cfg.user, d->relay_open, must_write, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		syslog(LOG_INFO, "running as user %s%s", d->cfg.user,
		       d->relay_open ? " with CAP_BPF only" : "");
	}
	if (!d->relay_open) {
		/* greywall-dp's shared state, found whenever greywall-dp starts */
		struct itimerspec every = {{0, 100000000}, {0, 100000000}};
		char dp_path[GW_CONF_PATH_MAX + 8];

		snprintf(dp_path, sizeof(dp_path), "%.511s", d->cfg.dp_shm);
		if (!dp_path[0])
			snprintf(dp_path, sizeof(dp_path), "%.500s.dp", d->cfg.table_path);
		gw_dp_link_init(&d->dp, dp_path);
		/* no credits: greywall-dp cuts in-line and its rings are read 10 times a second */
		d->dp_sink = (struct gw_verdict_sink){&d->cfg.policy, d->trip.table.hdr->secret,
						      d->names,	      "greywall-dp",
						      NULL,	      &d->ctx.lists};
		sides[nsides].fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (sides[nsides].fd < 0 || timerfd_settime(sides[nsides].fd, 0, &every, NULL)) {
			fprintf(stderr, "greywalld: timerfd: %s\n", strerror(errno));
			return 1;
		}
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = gw_daemon_serve_dp_timer;
	}
	if (d->cfg.cluster_redis[0] &&
	    !(d->cluster =
		  gw_cluster_start(&d->cfg, &d->trip.table, &d->awl.table, err, sizeof(err)))) {
		fprintf(stderr, "greywalld: %s\n", err);
		return 1;
	}
	if (d->cfg.pools_spf[0]) {
		/* the resolver's answers, and a second's tick for the refreshes that fall due */
		struct itimerspec second = {{1, 0}, {1, 0}};

		d->spf_pools =
		    gw_spf_pools_new(d->cfg.pools_spf, d->cfg.spf_server, err, sizeof(err));
		if (!d->spf_pools) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		gw_spf_pools_process(d->spf_pools, (int64_t)time(NULL)); /* the first queries */
		sides[nsides].fd = gw_spf_pools_fd(d->spf_pools);
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = gw_daemon_serve_spf;
		sides[nsides].fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (sides[nsides].fd < 0 || timerfd_settime(sides[nsides].fd, 0, &second, NULL)) {
			fprintf(stderr, "greywalld: timerfd: %s\n", strerror(errno));
			return 1;
		}
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = gw_daemon_serve_spf_timer;
	}
	if (d->cfg.lists_pg[0]) {
		/* after the privilege drop: the files are read again as greywalld's user anyway */
		if (!(d->lists_pg = gw_lists_pg_start(&d->cfg, err, sizeof(err))) ||
		    gw_daemon_reload_lists(&d->ctx, err, sizeof(err))) {
			fprintf(stderr, "greywalld: %s\n", err);
			return 1;
		}
		sides[nsides].fd = gw_lists_pg_fd(d->lists_pg);
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = gw_daemon_serve_lists_pg;
	}
	if (d->events) {
		sides[nsides].fd = gw_relay_events_fd(d->events);
		sides[nsides].no_accept = 1;
		sides[nsides++].serve = gw_daemon_serve_events;
	}
	rc = gw_policy_serve(&d->ctx, d->cfg.policy_listen, &stop, &reload, gw_daemon_reload,
			     gw_daemon_tick, sides, nsides, err, sizeof(err));
	{
		char snap_err[512];

		gw_daemon_snapshot_now(d, snap_err,
				       sizeof(snap_err)); /* after SIGTERM nothing is lost */
	}
	if (d->cfg.control_socket[0])
		unlink(d->cfg.control_socket);
	if (rc)
		fprintf(stderr, "greywalld: %s\n", err);
	syslog(LOG_INFO, "stopping: %llu requests, %llu greylisted, %llu passed", d->ctx.requests,
	       d->ctx.verdicts[GW_V_GREYLIST], d->ctx.verdicts[GW_V_PASS]);
	gw_relay_events_drain(d->events);
	gw_relay_events_close(d->events);
	gw_dp_link_poll(&d->dp, &d->dp_sink);
	gw_dp_link_close(&d->dp);
	gw_cluster_stop(d->cluster);
	gw_lists_pg_stop(d->lists_pg);
	gw_spf_pools_free(d->spf_pools);
	if (d->relay_open)
		gw_relay_maps_close(&d->relay);
	gw_names_free(d->names);
	gw_table_map_close(&d->trip);
	gw_table_map_close(&d->awl);
	gw_lists_free(d->ctx.lists);
	return rc ? 1 : 0;
}
