// SPDX-License-Identifier: BSD-2-Clause
/*
 * What greywalld's event loop serves beside the policy protocol: the control
 * socket, the metrics page, list reloads, and the data paths' verdict events.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "greywall/maintenance.h"
#include "greywall/relay.h"
#include "report.h"

/*
 * A literal's length is the compiler's to count, never ours: hand-counted
 * lengths sent bytes past the end of two of them ("\0\0H" after a 405, a NUL
 * after the report error). "" s "" refuses anything but a string literal.
 */
#define PUT_LIT(a, s) gw_answer_put(a, "" s "", sizeof(s) - 1)

/* Publish the lists to the relay filter, if there is one. 0, or -1 with err. */
int gw_daemon_relay_publish(struct gw_daemon *d, const struct gw_lists *lists, char *err,
			    size_t errlen)
{
	struct gw_relay_sync_stats st;

	if (!d->relay_open)
		return 0;
	if (gw_relay_push_lists(&d->relay, lists, d->trip.table.hdr->secret, &st, err, errlen))
		return -1;
	syslog(LOG_INFO,
	       "relay filter: list generation %u in force: %llu entries, %llu keys "
	       "written, %llu removed",
	       st.gen, st.entries, st.written, st.deleted);
	return 0;
}

/*
 * What greywalld adds to the list files (SPF pools, database rows) into path
 * for greywall-dp: a temporary file, fsync, rename, so a reader sees the old
 * file or the new one whole. 0, or -1 with the reason in err.
 */
static int publish_for_dp(struct gw_daemon *d, const char *path, char *err, size_t errlen)
{
	char tmp[GW_CONF_PATH_MAX + 32];
	FILE *f;
	int fd, bad;

	/* our own temporary name: another writer's half-written file is never renamed in */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "published_lists %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "# what greywalld adds to the list files, for greywall-dp: do not edit\n");
	gw_spf_pools_print(d->spf_pools, f);
	gw_lists_pg_print(d->lists_pg, f);
	bad = fflush(f) || fsync(fileno(f));
	if (fclose(f) || bad || rename(tmp, path)) {
		snprintf(err, errlen, "published_lists %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Returns 0, or -1 with the reason in err; the old lists stay in force then. */
static int reload_lists(struct gw_policy_ctx *ctx, char *err, size_t errlen)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
	struct gw_lists *n = gw_lists_load_all(ctx->cfg->whitelist_path, ctx->cfg->blacklist_path,
					       ctx->cfg->pools_path, err, errlen);
	struct gw_lists *old;

	size_t spf_skipped = 0;

	/* the database's last good rows and the SPF pools' last good networks join the
	 * files' entries, published as one set */
	if (n)
		gw_spf_pools_add_to(d->spf_pools, n, &spf_skipped);
	if (!n || gw_lists_pg_add_to(d->lists_pg, n, err, errlen) ||
	    gw_daemon_relay_publish(d, n, err, errlen)) {
		/* keep serving the old lists: a typo must not open the gate */
		gw_lists_free(n);
		d->metrics.reload_failures++;
		syslog(LOG_ERR, "reload refused, keeping the current lists: %s", err);
		return -1;
	}
	old = ctx->lists;
	ctx->lists = n;
	gw_lists_free(old);
	/* greywall-dp takes the same additions from a file it watches */
	if ((d->spf_pools || d->lists_pg) && ctx->cfg->published_lists[0] &&
	    publish_for_dp(d, ctx->cfg->published_lists, err, errlen))
		syslog(LOG_WARNING, "%s; greywall-dp keeps what it had", err);
	d->metrics.reloads++;
	d->metrics.list_entries = gw_lists_size(n);
	syslog(LOG_INFO, "lists reloaded: %zu entries", gw_lists_size(n));
	return 0;
}

int gw_daemon_reload_lists(struct gw_policy_ctx *ctx, char *err, size_t errlen)
{
	return reload_lists(ctx, err, errlen);
}

void gw_daemon_reload(struct gw_policy_ctx *ctx)
{
	char err[512];

	reload_lists(ctx, err, sizeof(err));
}

static void put_str(struct gw_answer *a, const char *s)
{
	gw_answer_put(a, s, strlen(s));
}

/* The control protocol's request: one line. */
size_t gw_daemon_control_request_end(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	return nl ? (size_t)(nl - buf) + 1 : 0;
}

/*
 * An HTTP request ends at its empty line; a bare "GET /metrics" line with
 * no version (HTTP/0.9 style, as a quick nc probe sends) ends at its own.
 */
size_t gw_daemon_metrics_request_end(const char *buf, size_t len)
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
static void metrics_refresh(struct gw_daemon *d)
{
	static unsigned long long relay_vals[GW_RS_COUNT];

	if (d->relay_open && gw_relay_read_stats(&d->relay, relay_vals) == 0)
		d->metrics.relay = relay_vals;
	d->metrics.names = d->names ? gw_names_count(d->names) : 0;
	d->metrics.dp = gw_dp_link_shm(&d->dp);
	d->metrics.names_dropped = d->names ? gw_names_dropped(d->names) : 0;
}

void gw_daemon_catch_up_events(struct gw_policy_ctx *ctx)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
	(void)ctx;
	gw_relay_events_drain(d->events);
}

void gw_daemon_serve_events(struct gw_policy_ctx *ctx, int fd)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
	(void)ctx;
	(void)fd;
	gw_relay_events_drain(d->events);
}

/* Ten times a second: greywall-dp's rings have no fd to wake us. */
void gw_daemon_serve_dp_timer(struct gw_policy_ctx *ctx, int fd)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
	u64 expirations;

	(void)ctx;
	if (read(fd, &expirations, sizeof(expirations)) > 0)
		gw_dp_link_poll(&d->dp, &d->dp_sink);
}

/*
 * "pools": every sender pool in force (name, networks, where it comes from),
 * then each SPF target's state. "pools ADDRESS": the pool ADDRESS falls in.
 */
static void send_pools(struct gw_daemon *d, struct gw_answer *a, const char *arg, char *page,
		       size_t cap)
{
	const struct gw_pool_info *info;
	size_t n, i, used = 0;
	char line[512];

	while (*arg == ' ')
		arg++;
	if (*arg) {
		u8 addr[16] = {0}, family, colors;
		u64 pool;

		if (inet_pton(AF_INET, arg, addr) == 1)
			family = GW_AF_INET;
		else if (inet_pton(AF_INET6, arg, addr) == 1)
			family = GW_AF_INET6;
		else {
			PUT_LIT(a, "error: pools ADDRESS: not an IPv4 or IPv6 address\n");
			return;
		}
		gw_lists_client_lookup(d->ctx.lists, family, addr, 128, &colors, &pool);
		if (pool)
			snprintf(line, sizeof(line), "ok\n%.64s\tpool %s\n", arg,
				 gw_lists_pool_name(d->ctx.lists, pool));
		else
			snprintf(line, sizeof(line), "ok\n%.64s\tin no pool (keyed by its /%u)\n",
				 arg,
				 family == GW_AF_INET ? d->cfg.policy.v4_prefix
						      : d->cfg.policy.v6_prefix);
		put_str(a, line);
		return;
	}
	PUT_LIT(a, "ok\n");
	n = gw_lists_pools(d->ctx.lists, &info);
	for (i = 0; i < n && used < cap; i++) {
		int w = snprintf(page + used, cap - used, "pool\t%s\t%u networks\n", info[i].name,
				 (unsigned)info[i].cidrs);

		if (w < 0)
			break;
		used += (size_t)w < cap - used ? (size_t)w : cap - used - 1;
	}
	if (used < cap && d->cfg.pools_path[0])
		used += (size_t)snprintf(page + used, cap - used, "file\t%s\n", d->cfg.pools_path);
	if (used < cap - 1)
		used +=
		    gw_spf_pools_render(d->spf_pools, (int64_t)time(NULL), page + used, cap - used);
	gw_answer_put(a, page, used < cap ? used : cap - 1);
}

/* "names FP FP ...": the text of each triplet greywalld knows, one line each. */
static void send_names(struct gw_daemon *d, struct gw_answer *a, char *args)
{
	char *tok, *save = NULL, line[GW_ADDR_MAX * 2 + 128], addr[INET6_ADDRSTRLEN];

	PUT_LIT(a, "ok\n");
	for (tok = strtok_r(args, " ", &save); tok && d->names; tok = strtok_r(NULL, " ", &save)) {
		const struct gw_name *nm = gw_names_get(d->names, strtoull(tok, NULL, 16));
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

void gw_daemon_control_answer(struct gw_policy_ctx *ctx, char *req, size_t len, struct gw_answer *a)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
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
				 d->metrics.list_entries);
		put_str(a, msg);
	} else if (!strcmp(cmd, "snapshot")) {
		if (gw_daemon_snapshot_now(d, err, sizeof(err)))
			snprintf(msg, sizeof(msg), "error: %s\n", err);
		else
			snprintf(msg, sizeof(msg), "ok\nsnapshot written to %s\n",
				 ctx->cfg->snapshot_path);
		put_str(a, msg);
	} else if (!strcmp(cmd, "stats")) {
		PUT_LIT(a, "ok\n");
		metrics_refresh(d);
		n = gw_metrics_render(&d->metrics, 0, page, sizeof(page));
		n += gw_cluster_render(d->cluster, 0, page + n, sizeof(page) - n);
		n += gw_lists_pg_render(d->lists_pg, 0, page + n, sizeof(page) - n);
		gw_answer_put(a, page, n);
	} else if (!strcmp(cmd, "report")) {
		gw_relay_events_drain(d->events);
		gw_dp_link_poll(&d->dp, &d->dp_sink);
		if (!d->names) {
			PUT_LIT(a, "error: names_capacity is 0: no names, no report\n");
			return;
		}
		PUT_LIT(a, "ok\n");
		n = gw_report_render(d->names, &d->trip.table, &ctx->cfg->policy, (u64)time(NULL),
				     ctx->cfg->report_after, page, sizeof(page));
		gw_answer_put(a, page, n);
	} else if (!strncmp(cmd, "pools", 5) && (cmd[5] == ' ' || !cmd[5])) {
		send_pools(d, a, cmd + 5, page, sizeof(page));
	} else if (!strncmp(cmd, "names", 5) && (cmd[5] == ' ' || !cmd[5])) {
		gw_relay_events_drain(d->events);
		gw_dp_link_poll(&d->dp, &d->dp_sink);
		send_names(d, a, (char *)cmd + 5);
	} else {
		snprintf(msg, sizeof(msg),
			 "error: unknown command '%.64s' (ping, reload, snapshot, stats, report, "
			 "names, pools)\n",
			 cmd);
		put_str(a, msg);
	}
}

/* Just enough HTTP/1.0 for a Prometheus scraper: GET /metrics. */
void gw_daemon_metrics_answer(struct gw_policy_ctx *ctx, char *req, size_t len, struct gw_answer *a)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
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
	metrics_refresh(d);
	n = gw_metrics_render(&d->metrics, 1, page, sizeof(page));
	n += gw_cluster_render(d->cluster, 1, page + n, sizeof(page) - n);
	n += gw_lists_pg_render(d->lists_pg, 1, page + n, sizeof(page) - n);
	h = snprintf(head, sizeof(head),
		     "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
		     "Content-Length: %zu\r\n\r\n",
		     n);
	if (h < 0 || (size_t)h >= sizeof(head))
		return;
	gw_answer_put(a, head, (size_t)h);
	gw_answer_put(a, page, n);
}

void gw_daemon_serve_lists_pg(struct gw_policy_ctx *ctx, int fd)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
	char err[512];

	(void)fd;
	gw_lists_pg_ack(d->lists_pg);
	reload_lists(ctx, err, sizeof(err));
}

void gw_daemon_serve_spf(struct gw_policy_ctx *ctx, int fd)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
	char err[512];

	(void)fd;
	if (d->spf_pools && gw_spf_pools_process(d->spf_pools, (int64_t)time(NULL)) &&
	    reload_lists(ctx, err, sizeof(err)) == 0)
		syslog(LOG_INFO, "sender pools from SPF refreshed");
}

void gw_daemon_serve_spf_timer(struct gw_policy_ctx *ctx, int fd)
{
	u64 ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return; /* EAGAIN: a tick another wakeup took already */
	gw_daemon_serve_spf(ctx, -1);
}
