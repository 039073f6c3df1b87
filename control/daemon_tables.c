// SPDX-License-Identifier: BSD-2-Clause
/* greywalld's tables: restored at start, swept and snapshotted while it runs. */
#include <arpa/inet.h>
#include <errno.h>
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

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void snap_name(const struct gw_conf *c, int which, char *out, size_t len)
{
	snprintf(out, len, "%s%s", c->snapshot_path, which ? ".awl" : "");
}

/* Returns 0, or -1 with the reason in err (also logged). */
int gw_daemon_snapshot_now(struct gw_daemon *d, char *err, size_t errlen)
{
	const struct gw_conf *c = &d->cfg;
	char path[GW_CONF_PATH_MAX + 8];
	struct timespec a, b;
	int which, rc = 0;

	if (!c->snapshot_path[0]) {
		snprintf(err, errlen, "snapshots are off (snapshot_path is empty)");
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (which = 0; which < 2 && !rc; which++) {
		snap_name(c, which, path, sizeof(path));
		rc = gw_snapshot_write(which ? &d->awl.table : &d->trip.table, path, err, errlen);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (rc) {
		d->metrics.snapshot_failures++;
		syslog(LOG_ERR, "%s", err);
		return -1;
	}
	d->metrics.last_snapshot_seconds = seconds_between(&a, &b);
	d->metrics.last_snapshot_time = (long long)time(NULL);
	syslog(LOG_INFO, "snapshot written to %s in %.1f ms", c->snapshot_path,
	       d->metrics.last_snapshot_seconds * 1e3);
	return 0;
}

/* Once a second: a slice of the expiry sweep, and a snapshot when one is due. */
void gw_daemon_tick(struct gw_policy_ctx *ctx)
{
	struct gw_daemon *d = gw_daemon_of(ctx);
	const struct gw_conf *c = ctx->cfg;
	u64 now = (u64)time(NULL), removed;
	u64 slice_t = d->trip.table.nbuckets / c->sweep_period + 1;
	u64 slice_a = d->awl.table.nbuckets / c->sweep_period + 1;
	struct timespec a, b;
	char err[512];

	if (d->names && (time_t)now >= d->next_names_expiry) {
		gw_names_expire(d->names, now > c->policy.max_age ? now - c->policy.max_age : 0);
		d->next_names_expiry = (time_t)now + 60;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	removed = gw_table_sweep(&d->trip.table, &c->policy, now, &d->sweep_cursor[0], slice_t);
	removed += gw_table_sweep(&d->awl.table, &c->policy, now, &d->sweep_cursor[1], slice_a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	d->metrics.last_sweep_seconds = seconds_between(&a, &b);
	d->metrics.sweep_removed += removed;
	if (removed && ctx->log_verdicts)
		syslog(LOG_INFO, "expired %llu entries", (unsigned long long)removed);
	if (c->snapshot_path[0] && ((time_t)now >= d->next_snapshot || *d->snapshot_asked)) {
		*d->snapshot_asked = 0;
		gw_daemon_snapshot_now(d, err, sizeof(err));
		d->next_snapshot = (time_t)now + c->snapshot_interval;
	}
}

/*
 * After a reboot /dev/shm is empty: bring the tables back from the last
 * snapshot. *restored says whether the triplet table was.
 */
int gw_daemon_restore_if_missing(const struct gw_conf *c, int *restored, char *err, size_t errlen)
{
	const char *const tables[2] = {c->table_path, c->awl_path};
	char path[GW_CONF_PATH_MAX + 8], dir[GW_CONF_PATH_MAX], *slash;
	unsigned made;
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
	if (gw_snapshot_restore_missing(c->snapshot_path, tables, c->capacity, &made, err,
					errlen)) {
		size_t l = strlen(err);

		snprintf(err + l, errlen - l, " (move it aside to start empty)");
		return -1;
	}
	for (which = 0; which < 2; which++) {
		snap_name(c, which, path, sizeof(path));
		if (made & (1u << which))
			fprintf(stderr, "greywalld: restored %s from %s\n", tables[which], path);
	}
	*restored = made & 1;
	return 0;
}

/*
 * greywall-dp starts beside greywalld at boot and may make the tables first:
 * the files are there, but hold nothing greywalld ever saw. Until greywalld
 * has looked at a table once (GW_TABLE_SETTLED), the snapshot goes into it,
 * entry by entry, beside whatever greywall-dp has written meanwhile. Then the
 * tables are settled: a later start never brings back what the sweeper or
 * greyctl removed since.
 */
int gw_daemon_restore_into_new_tables(struct gw_daemon *d, int restored_files, char *err,
				      size_t errlen)
{
	const struct gw_conf *c = &d->cfg;
	struct gw_table *tables[2] = {&d->trip.table, &d->awl.table};
	char path[GW_CONF_PATH_MAX + 8];
	int which, rc;
	u64 n;

	for (which = 0; which < 2 && c->snapshot_path[0] && !restored_files; which++) {
		if (__atomic_load_n(&tables[which]->hdr->flags, __ATOMIC_ACQUIRE) &
		    GW_TABLE_SETTLED)
			break;
		snap_name(c, which, path, sizeof(path));
		if (access(path, F_OK))
			continue;
		rc = gw_snapshot_merge_into(path, tables[which], &n, err, errlen);
		if (rc < 0) {
			size_t l = strlen(err);

			snprintf(err + l, errlen - l, " (move it aside to start empty)");
			return -1;
		}
		if (rc > 0) {
			/* the auto-whitelist is keyed with the triplet table's secret: both or none
			 */
			syslog(LOG_WARNING, "%s", err);
			break;
		}
		syslog(LOG_INFO, "restored %llu entries from %s into %s, which greywall-dp made",
		       (unsigned long long)n, path, which ? c->awl_path : c->table_path);
	}
	for (which = 0; which < 2; which++)
		__atomic_or_fetch(&tables[which]->hdr->flags, GW_TABLE_SETTLED, __ATOMIC_RELEASE);
	return 0;
}

/*
 * The relay filter's maps outlive greywalld but not a reboot: a map that
 * comes up empty takes the last snapshot back. One that holds entries is
 * newer than any snapshot and is left alone.
 */
int gw_daemon_restore_into_maps(struct gw_daemon *d, char *err, size_t errlen)
{
	const struct gw_conf *c = &d->cfg;
	struct gw_table *tables[2] = {&d->trip.table, &d->awl.table};
	char path[GW_CONF_PATH_MAX + 8];
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
int gw_daemon_check_table_room(const struct gw_conf *c, char *err, size_t errlen)
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
