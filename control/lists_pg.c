// SPDX-License-Identifier: BSD-2-Clause
/*
 * Lists from PostgreSQL: see lists_pg.h for the design, and
 * control/greywall_lists.sql for the schema.
 */
#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "lists_pg.h"

/* Reconnect back-off: from the first to the longest wait, in seconds. */
#define BACKOFF_MIN 1
#define BACKOFF_MAX 30

struct row {
	enum gw_list_color color;
	char *entry; /* "client 192.0.2.0/24", "sender @example.com", ... */
};

struct gw_lists_pg {
	char conninfo[GW_CONF_PATH_MAX], table[64], channel[64];
	unsigned resync;
	PGconn *conn; /* the thread's, once it runs */
	int wake;     /* eventfd: a new generation for greywalld's loop */
	int stopfd;   /* eventfd: the thread stops */
	pthread_t thread;
	int started;

	pthread_mutex_t mu; /* everything below */
	struct row *rows;   /* the last good generation */
	size_t nrows;
	int have_rows;
	unsigned long long loads, failures, notifies;
	time_t last_load;
	int connected;
	char last_error[300];
};

#define GW_PG_VALUE_MAX 1000

static bool value_is_one_word(const char *v)
{
	size_t n = 0;

	for (; *v; v++, n++)
		if ((unsigned char)*v <= ' ' || (unsigned char)*v == 0x7f)
			return false;
	return n > 0 && n <= GW_PG_VALUE_MAX;
}

static void free_rows(struct row *r, size_t n)
{
	size_t i;

	for (i = 0; r && i < n; i++)
		free(r[i].entry);
	free(r);
}

/* Record an error; logged once per new text, with what stays in force. */
static void set_error(struct gw_lists_pg *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct gw_lists_pg *p, const char *fmt, ...)
{
	char msg[sizeof(p->last_error)], when[32];
	va_list ap;
	struct tm tm;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = 0; /* libpq's messages end in a line feed */
	pthread_mutex_lock(&p->mu);
	p->failures++;
	if (strcmp(msg, p->last_error)) {
		if (p->have_rows) {
			gmtime_r(&p->last_load, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			syslog(LOG_ERR,
			       "lists from PostgreSQL: %s; keeping the last good lists (%zu rows "
			       "read at %s)",
			       msg, p->nrows, when);
		} else {
			syslog(LOG_ERR,
			       "lists from PostgreSQL: %s; none read yet, the list files alone are "
			       "in force",
			       msg);
		}
	}
	snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	pthread_mutex_unlock(&p->mu);
}

static int same_rows(const struct row *a, size_t na, const struct row *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (a[i].color != b[i].color || strcmp(a[i].entry, b[i].entry))
			return 0;
	return 1;
}

/*
 * Read the whole table and check every row with the files' parser. Returns 1
 * if a new generation is in force, 0 if the rows are unchanged, -1 on an error
 * (recorded; the last good generation stays).
 */
static int load(struct gw_lists_pg *p)
{
	char sql[256], why[256];
	struct gw_lists *check;
	struct row *rows = NULL;
	PGresult *res;
	int i, n, changed;

	snprintf(sql, sizeof(sql), "SELECT id, list, kind, value FROM %s ORDER BY id", p->table);
	res = PQexec(p->conn, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_error(p, "reading %s: %s", p->table, PQerrorMessage(p->conn));
		PQclear(res);
		return -1;
	}
	n = PQntuples(res);
	check = gw_lists_new();
	rows = calloc((size_t)n + 1, sizeof(*rows));
	if (!check || !rows) {
		set_error(p, "out of memory for %d rows", n);
		goto refuse;
	}
	for (i = 0; i < n; i++) {
		const char *list = PQgetvalue(res, i, 1), *kind = PQgetvalue(res, i, 2);
		const char *value = PQgetvalue(res, i, 3);
		size_t len = strlen(kind) + strlen(value) + 2;

		if (strcmp(list, "white") && strcmp(list, "black")) {
			set_error(p, "%s row id %s: list must be 'white' or 'black'", p->table,
				  PQgetvalue(res, i, 0));
			goto refuse;
		}
		/* one word of printable bytes, as a list file's line holds it: a row with a
		 * newline or a space would publish a line greywall-dp cannot read */
		if (!value_is_one_word(value)) {
			set_error(
			    p,
			    "%s row id %s: the value must be one word of printable characters, "
			    "at most %d",
			    p->table, PQgetvalue(res, i, 0), GW_PG_VALUE_MAX);
			goto refuse;
		}
		rows[i].color = list[0] == 'w' ? GW_WHITE : GW_BLACK;
		rows[i].entry = malloc(len);
		if (!rows[i].entry) {
			set_error(p, "out of memory for %d rows", n);
			goto refuse;
		}
		snprintf(rows[i].entry, len, "%s %s", kind, value);
		/* a bad row refuses the whole generation, as a bad line refuses a file */
		if (gw_lists_add(check, rows[i].color, rows[i].entry, why, sizeof(why))) {
			set_error(p, "%s row id %s: %s (the rows read before stay in force)",
				  p->table, PQgetvalue(res, i, 0), why);
			goto refuse;
		}
	}
	PQclear(res);
	gw_lists_free(check);
	pthread_mutex_lock(&p->mu);
	changed = !p->have_rows || !same_rows(p->rows, p->nrows, rows, (size_t)n);
	if (changed) {
		free_rows(p->rows, p->nrows);
		p->rows = rows;
		p->nrows = (size_t)n;
		rows = NULL;
	}
	p->have_rows = 1;
	p->loads++;
	p->last_load = time(NULL);
	if (p->last_error[0])
		syslog(LOG_INFO, "lists from PostgreSQL: read again (%d rows)", n);
	p->last_error[0] = 0;
	pthread_mutex_unlock(&p->mu);
	free_rows(rows, (size_t)n);
	return changed;
refuse:
	PQclear(res);
	gw_lists_free(check);
	free_rows(rows, (size_t)n);
	return -1;
}

static void wake_loop(struct gw_lists_pg *p)
{
	u64 one = 1;

	if (write(p->wake, &one, sizeof(one)) != sizeof(one))
		syslog(LOG_ERR, "lists from PostgreSQL: cannot wake the event loop: %s",
		       strerror(errno));
}

static void disconnect(struct gw_lists_pg *p)
{
	PQfinish(p->conn);
	p->conn = NULL;
	pthread_mutex_lock(&p->mu);
	p->connected = 0;
	pthread_mutex_unlock(&p->mu);
}

/* Connect, LISTEN and read the table. 0, or -1 with the error recorded. */
static int connect_db(struct gw_lists_pg *p)
{
	/* ours first: the connection string's own connect_timeout wins */
	const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *vals[] = {"3", "greywalld", p->conninfo, NULL};
	char sql[128];
	PGresult *res;

	p->conn = PQconnectdbParams(keys, vals, 1);
	if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
		set_error(p, "cannot connect: %s",
			  p->conn ? PQerrorMessage(p->conn) : "out of memory");
		disconnect(p);
		return -1;
	}
	snprintf(sql, sizeof(sql), "LISTEN %s", p->channel);
	res = PQexec(p->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_error(p, "%s: %s", sql, PQerrorMessage(p->conn));
		PQclear(res);
		disconnect(p);
		return -1;
	}
	PQclear(res);
	pthread_mutex_lock(&p->mu);
	p->connected = 1;
	pthread_mutex_unlock(&p->mu);
	/* LISTEN came first: a change made while we read is announced after */
	if (load(p) < 0 && PQstatus(p->conn) != CONNECTION_OK) {
		disconnect(p);
		return -1;
	}
	return 0;
}

static void *follow(void *arg)
{
	struct gw_lists_pg *p = arg;
	time_t next_resync = time(NULL) + p->resync;
	int backoff = BACKOFF_MIN;

	for (;;) {
		struct pollfd fds[2] = {{p->stopfd, POLLIN, 0}, {-1, POLLIN, 0}};
		time_t now = time(NULL);
		int timeout, rc;

		if (!p->conn) {
			if (connect_db(p) == 0) {
				wake_loop(p);
				next_resync = time(NULL) + p->resync;
				backoff = BACKOFF_MIN;
			} else {
				timeout = backoff * 1000;
				backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
				if (poll(fds, 1, timeout) > 0)
					break;
				continue;
			}
		}
		fds[1].fd = PQsocket(p->conn);
		timeout = next_resync > now ? (int)(next_resync - now) * 1000 : 0;
		rc = poll(fds, 2, timeout);
		if (rc < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		if (fds[1].revents) {
			PGnotify *nt;
			int n = 0;

			if (!PQconsumeInput(p->conn)) {
				set_error(p, "connection lost: %s", PQerrorMessage(p->conn));
				disconnect(p);
				continue;
			}
			while ((nt = PQnotifies(p->conn))) {
				n++;
				PQfreemem(nt);
			}
			if (n) {
				pthread_mutex_lock(&p->mu);
				p->notifies += (unsigned long long)n;
				pthread_mutex_unlock(&p->mu);
				if (load(p) > 0)
					wake_loop(p);
			}
		}
		if (time(NULL) >= next_resync) {
			/* the safety net: a NOTIFY lost with a connection, a change without the
			 * trigger */
			next_resync = time(NULL) + p->resync;
			if (load(p) > 0)
				wake_loop(p);
		}
		if (p->conn && PQstatus(p->conn) != CONNECTION_OK) {
			set_error(p, "connection lost: %s", PQerrorMessage(p->conn));
			disconnect(p);
		}
	}
	return NULL;
}

/* A table or channel name: a plain SQL identifier, so it needs no quoting. */
static int plain_identifier(const char *s)
{
	if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

struct gw_lists_pg *gw_lists_pg_start(const struct gw_conf *cfg, char *err, size_t errlen)
{
	struct gw_lists_pg *p;

	if (!cfg->lists_pg[0])
		return NULL;
	if (!plain_identifier(cfg->lists_pg_table) || !plain_identifier(cfg->lists_pg_channel)) {
		snprintf(err, errlen,
			 "lists_pg_table and lists_pg_channel must be plain SQL names (letters, "
			 "digits, '_')");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(p->conninfo, sizeof(p->conninfo), "%s", cfg->lists_pg);
	snprintf(p->table, sizeof(p->table), "%s", cfg->lists_pg_table);
	snprintf(p->channel, sizeof(p->channel), "%s", cfg->lists_pg_channel);
	p->resync = cfg->lists_pg_resync;
	pthread_mutex_init(&p->mu, NULL);
	p->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->wake < 0 || p->stopfd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		gw_lists_pg_stop(p);
		return NULL;
	}
	/* the first read now, so the lists greywalld starts with hold the rows */
	connect_db(p);
	if (pthread_create(&p->thread, NULL, follow, p)) {
		snprintf(err, errlen, "cannot start the PostgreSQL lists thread");
		gw_lists_pg_stop(p);
		return NULL;
	}
	p->started = 1;
	syslog(LOG_INFO, "lists from PostgreSQL: table %s, channel %s, full read every %u s",
	       p->table, p->channel, p->resync);
	return p;
}

int gw_lists_pg_fd(const struct gw_lists_pg *p)
{
	return p ? p->wake : -1;
}

void gw_lists_pg_ack(struct gw_lists_pg *p)
{
	u64 n;

	if (p && read(p->wake, &n, sizeof(n)) < 0 && errno != EAGAIN)
		syslog(LOG_ERR, "lists from PostgreSQL: eventfd: %s", strerror(errno));
}

int gw_lists_pg_add_to(struct gw_lists_pg *p, struct gw_lists *l, char *err, size_t errlen)
{
	char why[256];
	size_t i;
	int rc = 0;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->nrows && !rc; i++) {
		/* checked when read: only memory can fail here */
		if (gw_lists_add(l, p->rows[i].color, p->rows[i].entry, why, sizeof(why))) {
			snprintf(err, errlen, "PostgreSQL list row '%s': %s", p->rows[i].entry,
				 why);
			rc = -1;
		}
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void gw_lists_pg_print(struct gw_lists_pg *p, FILE *f)
{
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->nrows; i++)
		fprintf(f, "%s %s\n", p->rows[i].color == GW_WHITE ? "white" : "black",
			p->rows[i].entry);
	pthread_mutex_unlock(&p->mu);
}

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	o->len = (size_t)n >= o->cap - o->len ? o->cap : o->len + (size_t)n;
}

static void metric(struct out *o, int types, const char *name, const char *type, const char *help,
		   unsigned long long v)
{
	if (types)
		put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	put(o, "%s %llu\n", name, v);
}

size_t gw_lists_pg_render(struct gw_lists_pg *p, int types, char *out, size_t cap)
{
	struct out o = {out, 0, cap};
	char err[sizeof(p->last_error)];
	size_t i, j;

	if (!p || !cap)
		return 0;
	pthread_mutex_lock(&p->mu);
	metric(&o, types, "greywall_lists_pg_connected", "gauge",
	       "1 while the lists database answers.", (unsigned long long)p->connected);
	metric(&o, types, "greywall_lists_pg_rows", "gauge",
	       "Rows of the last good read, in force.", (unsigned long long)p->nrows);
	metric(&o, types, "greywall_lists_pg_reads_total", "counter",
	       "Good full reads of the lists table.", p->loads);
	metric(&o, types, "greywall_lists_pg_failures_total", "counter",
	       "Failed connections and reads, and refused generations.", p->failures);
	metric(&o, types, "greywall_lists_pg_notifies_total", "counter",
	       "Change notifications received.", p->notifies);
	metric(&o, types, "greywall_lists_pg_last_read_timestamp_seconds", "gauge",
	       "When the lists in force were read.", (unsigned long long)p->last_load);
	snprintf(err, sizeof(err), "%s", p->last_error);
	pthread_mutex_unlock(&p->mu);
	for (i = j = 0; err[i]; i++)
		if (err[i] != '"' && err[i] != '\\' && err[i] != '\n')
			err[j++] = err[i];
	err[j] = 0;
	if (types)
		put(&o, "# HELP greywall_lists_pg_info The last error, empty when all is well.\n"
			"# TYPE greywall_lists_pg_info gauge\n");
	put(&o, "greywall_lists_pg_info{last_error=\"%s\"} 1\n", err);
	return o.len;
}

void gw_lists_pg_stop(struct gw_lists_pg *p)
{
	u64 one = 1;

	if (!p)
		return;
	if (p->started) {
		if (write(p->stopfd, &one, sizeof(one)) != sizeof(one))
			syslog(LOG_ERR, "lists from PostgreSQL: cannot stop the thread");
		else
			pthread_join(p->thread, NULL);
	}
	PQfinish(p->conn);
	if (p->wake >= 0)
		close(p->wake);
	if (p->stopfd >= 0)
		close(p->stopfd);
	free_rows(p->rows, p->nrows);
	free(p);
}
