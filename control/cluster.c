// SPDX-License-Identifier: BSD-2-Clause
/*
 * Triplet sharing through Redis: see cluster.h for the design and the keys.
 */
#include <errno.h>
#include <stdarg.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "greywall/table_merge.h"
#include "verdict_log.h"

/* Records per stream entry: one XADD carries up to 24 KiB, so 100k events/s is ~100 XADD/s. */
#define BATCH_MAX 1024
/* Stream entries per XREAD. */
#define READ_COUNT 64
/* How long an XREAD waits for news: also how long a stop may take. */
#define READ_BLOCK_MS 500
/* Reconnect back-off: from the first to the longest wait. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct queued {
	u8 rec[GW_SYNC_REC_SIZE];
	u64 when_ms; /* when the verdict was drained: the lag the peers report starts here */
};

struct gw_cluster {
	char host[256], unix_path[256], node[64], user[64], password[128];
	int port;
	char stream[160], poskey[240], checkkey[160], check[40];
	unsigned long long stream_max;
	struct gw_table *trip, *awl;
	const struct gw_config *pc;

	pthread_mutex_t mu; /* the queue, last_error and last_id */
	pthread_cond_t qcv; /* the publisher waits here for news */
	pthread_cond_t cv;  /* back-off naps wait here for a stop */
	struct queued *q;
	size_t qcap, qhead, qlen;
	char last_error[256], last_id[64];
	int stop;
	pthread_t pub, sub;
	u8 batch[BATCH_MAX * GW_SYNC_REC_SIZE]; /* the publisher's, being sent */

	/* figures, written by one thread each, read with relaxed atomics */
	u64 out_events, out_batches, in_events, in_changed, in_stale, in_failed, in_batches;
	u64 dropped, reconnects, lag_ms, last_in_time, gaps;
	int pub_up, sub_up;
};

/* The cluster whose hook the verdict paths call: greywalld has one. */
static struct gw_cluster *live;

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

static void set_error(struct gw_cluster *c, const char *what, const char *why)
{
	char msg[sizeof(c->last_error)];

	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	pthread_mutex_lock(&c->mu);
	/* log a new error once, not at every back-off round */
	if (strcmp(msg, c->last_error))
		syslog(LOG_WARNING, "cluster: %s (nodes judge alone until Redis answers)", msg);
	snprintf(c->last_error, sizeof(c->last_error), "%s", msg);
	pthread_mutex_unlock(&c->mu);
}

static int stopping(struct gw_cluster *c)
{
	return __atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);
}

/* Sleep ms, waking at once on stop. */
static void nap(struct gw_cluster *c, unsigned ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&c->mu);
}

static unsigned next_backoff(unsigned ms)
{
	return ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : ms * 2;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int parse_address(struct gw_cluster *c, const char *spec, char *err, size_t errlen);

int gw_cluster_secret(const struct gw_conf *cfg, u64 secret[2], char *err, size_t errlen)
{
	const char *s = cfg->cluster_secret;
	struct gw_cluster *probe;
	int i, bad;

	if (!cfg->cluster_redis[0])
		return 0;
	/* the address too, so --check refuses what the start would */
	probe = calloc(1, sizeof(*probe));
	bad = !probe || parse_address(probe, cfg->cluster_redis, err, errlen);
	free(probe);
	if (bad)
		return -1;
	if (strlen(s) != 32) {
		snprintf(
		    err, errlen,
		    "cluster_redis is set, so cluster_secret must be 32 hex digits, the same "
		    "on every node (make one with: od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')");
		return -1;
	}
	secret[0] = secret[1] = 0;
	for (i = 0; i < 32; i++) {
		int v = hexval((unsigned char)s[i]);

		if (v < 0) {
			snprintf(err, errlen, "cluster_secret: character %d is not a hex digit",
				 i + 1);
			return -1;
		}
		secret[i / 16] = secret[i / 16] << 4 | (u64)v;
	}
	return 1;
}

int gw_cluster_check_table(const struct gw_conf *cfg, const u64 table_secret[2], char *err,
			   size_t errlen)
{
	u64 want[2];
	int rc = gw_cluster_secret(cfg, want, err, errlen);

	if (rc <= 0)
		return rc;
	if (want[0] == table_secret[0] && want[1] == table_secret[1])
		return 0;
	snprintf(err, errlen,
		 "%s was made with another secret than cluster_secret, so its fingerprints "
		 "mean nothing to the cluster; stop every greywall user of it, move the table, "
		 "the auto-whitelist and the snapshot aside (their entries are lost) and start "
		 "again to make them with the cluster's secret",
		 cfg->table_path);
	return -1;
}

/*
 * What the cluster stores instead of the secret: one SipHash of a fixed
 * text under it. Nodes compare it, nobody can recover the secret from it.
 */
static void check_value(const u64 secret[2], char *out, size_t len)
{
	static const char text[] = "greywall cluster secret check";
	struct gw_siphash h;

	gw_siphash_init(&h, secret[0], secret[1]);
	gw_siphash_update(&h, (const u8 *)text, sizeof(text) - 1);
	snprintf(out, len, "%016llx", (unsigned long long)gw_siphash_final(&h));
}

static void put_le(u8 *p, u64 v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (u8)(v >> (8 * i));
}

static u64 get_le(const u8 *p, int n)
{
	u64 v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Queue t's entry for fp as it stands, if it is one worth sharing. */
static void queue_entry(struct gw_cluster *c, struct gw_table *t, u8 which, u64 fp, u64 when)
{
	struct gw_slot *slot = gw_table_lookup(t, fp);
	struct queued *e;
	u64 st;
	u32 kind;

	if (!slot || !gw_slot_read(slot, fp, &st))
		return;
	kind = gw_state_kind(st);
	if (kind != GW_ST_GREY && kind != GW_ST_PASSED)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->qlen == c->qcap) {
		/* the oldest may be in flight (sent, not yet answered): the newest goes */
		pthread_mutex_unlock(&c->mu);
		__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	e = &c->q[(c->qhead + c->qlen) % c->qcap];
	memset(e->rec, 0, sizeof(e->rec));
	put_le(e->rec, fp, 8);
	put_le(e->rec + 8, t->epoch + gw_state_first(st), 4);
	put_le(e->rec + 12, t->epoch + (u64)gw_state_last_min(st) * 60, 4);
	e->rec[16] = which;
	e->rec[17] = (u8)kind;
	e->rec[18] = (u8)gw_state_count(st);
	e->when_ms = when;
	c->qlen++;
	pthread_cond_signal(&c->qcv);
	pthread_mutex_unlock(&c->mu);
}

void gw_cluster_note(struct gw_cluster *c, u64 fp, const struct gw_client_net *net, int verdict)
{
	u64 when;

	if (!c || (verdict != GW_V_GREYLIST && verdict != GW_V_PASS) || fp < 2)
		return;
	when = now_ms();
	queue_entry(c, c->trip, 'T', fp, when);
	/* a pass credits the client network's auto-whitelist entry: share that too */
	if (verdict == GW_V_PASS && net && c->awl && c->pc->awl_clients)
		queue_entry(c, c->awl, 'A', gw_awl_fp(c->trip->hdr->secret, net), when);
}

static void hook(u64 fp, const struct gw_client_net *net, int verdict)
{
	gw_cluster_note(live, fp, net, verdict);
}

static redisContext *connect_redis(struct gw_cluster *c)
{
	struct timeval tv = {2, 0};
	redisContext *r;
	redisReply *rep;

	r = c->unix_path[0] ? redisConnectUnixWithTimeout(c->unix_path, tv)
			    : redisConnectWithTimeout(c->host, c->port, tv);
	if (!r || r->err) {
		set_error(c, "cannot connect to Redis", r ? r->errstr : "out of memory");
		redisFree(r);
		return NULL;
	}
	/* a command waits at most this long; XREAD's own block is shorter */
	tv.tv_sec = 3;
	redisSetTimeout(r, tv);
	if (c->password[0]) {
		rep = c->user[0] ? redisCommand(r, "AUTH %s %s", c->user, c->password)
				 : redisCommand(r, "AUTH %s", c->password);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			/* Redis's own words (WRONGPASS ...) never hold the password */
			set_error(c, "Redis refused AUTH", rep ? rep->str : r->errstr);
			freeReplyObject(rep);
			redisFree(r);
			return NULL;
		}
		freeReplyObject(rep);
	}
	/* the first node to come sets the check value; every other one must match it */
	rep = redisCommand(r, "SET %s %s NX", c->checkkey, c->check);
	freeReplyObject(rep);
	rep = redisCommand(r, "GET %s", c->checkkey);
	if (!rep || rep->type != REDIS_REPLY_STRING) {
		set_error(c, "Redis did not answer the secret check",
			  rep && rep->type == REDIS_REPLY_ERROR ? rep->str : r->errstr);
		freeReplyObject(rep);
		redisFree(r);
		return NULL;
	}
	if (strcmp(rep->str, c->check)) {
		set_error(
		    c, "refusing to sync",
		    "this node's cluster_secret differs from the cluster's (the check value in "
		    "Redis is another); give every node the same cluster_secret");
		freeReplyObject(rep);
		redisFree(r);
		return NULL;
	}
	freeReplyObject(rep);
	return r;
}

static void connected(struct gw_cluster *c, int *up)
{
	__atomic_store_n(up, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&c->pub_up, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&c->sub_up, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&c->mu);
		if (c->last_error[0])
			syslog(LOG_INFO, "cluster: Redis answers again, sharing with the peers");
		c->last_error[0] = 0;
		pthread_mutex_unlock(&c->mu);
	}
}

/* The publisher: queued records out, a batch per XADD, taken off the queue once Redis has it. */
static void *publish_loop(void *arg)
{
	struct gw_cluster *c = arg;
	u8 *buf = c->batch;
	redisContext *r = NULL;
	unsigned backoff = BACKOFF_MIN_MS;
	int final = 0;

	for (;;) {
		size_t n, i;
		u64 oldest = 0;
		redisReply *rep;
		char t[24];

		/* connected before the first news, so the stats say at once if Redis answers */
		if (!r && !final && !stopping(c)) {
			r = connect_redis(c);
			if (!r) {
				__atomic_store_n(&c->pub_up, 0, __ATOMIC_RELAXED);
				nap(c, backoff);
				backoff = next_backoff(backoff);
				continue;
			}
			__atomic_fetch_add(&c->reconnects, 1, __ATOMIC_RELAXED);
			connected(c, &c->pub_up);
			backoff = BACKOFF_MIN_MS;
		}
		pthread_mutex_lock(&c->mu);
		while (!c->qlen && !c->stop)
			pthread_cond_wait(&c->qcv, &c->mu);
		if (c->stop)
			final = 1;
		n = c->qlen < BATCH_MAX ? c->qlen : BATCH_MAX;
		for (i = 0; i < n; i++) {
			const struct queued *e = &c->q[(c->qhead + i) % c->qcap];

			memcpy(buf + i * GW_SYNC_REC_SIZE, e->rec, GW_SYNC_REC_SIZE);
			if (!oldest || e->when_ms < oldest)
				oldest = e->when_ms;
		}
		pthread_mutex_unlock(&c->mu);
		if (!n)
			break;
		if (!r)
			break; /* stopping, and Redis is away */
		snprintf(t, sizeof(t), "%llu", (unsigned long long)oldest);
		rep = redisCommand(r, "XADD %s MAXLEN ~ %llu * n %s t %s d %b", c->stream,
				   c->stream_max, c->node, t, buf, n * GW_SYNC_REC_SIZE);
		if (!rep || rep->type != REDIS_REPLY_STRING) {
			set_error(c, "publishing to Redis",
				  rep && rep->type == REDIS_REPLY_ERROR ? rep->str : r->errstr);
			freeReplyObject(rep);
			redisFree(r);
			r = NULL;
			__atomic_store_n(&c->pub_up, 0, __ATOMIC_RELAXED);
			if (final)
				break;
			/* the batch stays queued: sent again once Redis is back */
			nap(c, backoff);
			backoff = next_backoff(backoff);
			continue;
		}
		freeReplyObject(rep);
		pthread_mutex_lock(&c->mu);
		c->qhead = (c->qhead + n) % c->qcap;
		c->qlen -= n;
		pthread_mutex_unlock(&c->mu);
		__atomic_fetch_add(&c->out_events, n, __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->out_batches, 1, __ATOMIC_RELAXED);
	}
	redisFree(r);
	return NULL;
}

/* One stream entry's records into the local tables. */
static void apply_entry(struct gw_cluster *c, const redisReply *fields, u64 now)
{
	const redisReply *node = NULL, *data = NULL, *t = NULL;
	size_t i;

	for (i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i], *v = fields->element[i + 1];

		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING || k->len != 1)
			continue;
		if (k->str[0] == 'n')
			node = v;
		else if (k->str[0] == 'd')
			data = v;
		else if (k->str[0] == 't')
			t = v;
	}
	/* our own news is in our tables already */
	if (!node || !data || !strcmp(node->str, c->node))
		return;
	for (i = 0; i + GW_SYNC_REC_SIZE <= data->len; i += GW_SYNC_REC_SIZE) {
		const u8 *p = (const u8 *)data->str + i;
		struct gw_table *tab = p[16] == 'T' ? c->trip : p[16] == 'A' ? c->awl : NULL;
		enum gw_merge_result m;

		if (!tab)
			continue;
		m = gw_table_merge(tab, c->pc, get_le(p, 8), p[17], p[18], get_le(p + 8, 4),
				   get_le(p + 12, 4), now);
		__atomic_fetch_add(&c->in_events, 1, __ATOMIC_RELAXED);
		if (m == GW_MERGE_CHANGED)
			__atomic_fetch_add(&c->in_changed, 1, __ATOMIC_RELAXED);
		else if (m == GW_MERGE_STALE)
			__atomic_fetch_add(&c->in_stale, 1, __ATOMIC_RELAXED);
		else if (m == GW_MERGE_FAILED)
			__atomic_fetch_add(&c->in_failed, 1, __ATOMIC_RELAXED);
	}
	if (t) {
		u64 sent = strtoull(t->str, NULL, 10), at = now_ms();

		__atomic_store_n(&c->lag_ms, at > sent ? at - sent : 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&c->last_in_time, now, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->in_batches, 1, __ATOMIC_RELAXED);
}

/* Where to read from after a (re)connect: our own position if we have one, else Redis's. */
static void load_position(struct gw_cluster *c, redisContext *r)
{
	redisReply *rep;

	if (c->last_id[0])
		return;
	rep = redisCommand(r, "GET %s", c->poskey);
	pthread_mutex_lock(&c->mu);
	/* a node new to the cluster reads the whole stream: it learns what its peers know */
	snprintf(c->last_id, sizeof(c->last_id), "%s",
		 rep && rep->type == REDIS_REPLY_STRING && rep->len < 40 ? rep->str : "0");
	pthread_mutex_unlock(&c->mu);
	freeReplyObject(rep);
}

/* "ms-seq" stream ids, compared as Redis orders them. */
static int id_before(const char *a, const char *b)
{
	unsigned long long am = 0, as = 0, bm = 0, bs = 0;

	sscanf(a, "%llu-%llu", &am, &as);
	sscanf(b, "%llu-%llu", &bm, &bs);
	return am < bm || (am == bm && as < bs);
}

/*
 * Entries between our position and the stream's first are gone (trimmed by
 * cluster_stream_max while we were away, or lost with a Redis that restarted
 * without its data): say so, since what they held never reaches our tables.
 */
static void check_gap(struct gw_cluster *c, redisContext *r)
{
	redisReply *rep = redisCommand(r, "XRANGE %s - + COUNT 1", c->stream);
	char id[64];

	pthread_mutex_lock(&c->mu);
	snprintf(id, sizeof(id), "%s", c->last_id);
	pthread_mutex_unlock(&c->mu);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
	    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements >= 1 &&
	    rep->element[0]->element[0]->type == REDIS_REPLY_STRING && strcmp(id, "0") &&
	    id_before(id, rep->element[0]->element[0]->str)) {
		__atomic_fetch_add(&c->gaps, 1, __ATOMIC_RELAXED);
		syslog(LOG_WARNING,
		       "cluster: the stream begins at %s, after this node's position %s: what "
		       "the peers shared in between is lost to this node (raise "
		       "cluster_stream_max, or run Redis with appendonly)",
		       rep->element[0]->element[0]->str, id);
	}
	freeReplyObject(rep);
}

/* The reader: peers' entries from our position on, merged, the position stored after. */
static void *read_loop(void *arg)
{
	struct gw_cluster *c = arg;
	redisContext *r = NULL;
	unsigned backoff = BACKOFF_MIN_MS;

	while (!stopping(c)) {
		redisReply *rep, *entries;
		char id[64];
		size_t i;
		u64 now;

		if (!r) {
			r = connect_redis(c);
			if (!r) {
				__atomic_store_n(&c->sub_up, 0, __ATOMIC_RELAXED);
				nap(c, backoff);
				backoff = next_backoff(backoff);
				continue;
			}
			load_position(c, r);
			check_gap(c, r);
			connected(c, &c->sub_up);
			backoff = BACKOFF_MIN_MS;
		}
		pthread_mutex_lock(&c->mu);
		snprintf(id, sizeof(id), "%s", c->last_id);
		pthread_mutex_unlock(&c->mu);
		rep = redisCommand(r, "XREAD COUNT %d BLOCK %d STREAMS %s %s", READ_COUNT,
				   READ_BLOCK_MS, c->stream, id);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			set_error(c, "reading from Redis",
				  rep && rep->type == REDIS_REPLY_ERROR ? rep->str : r->errstr);
			freeReplyObject(rep);
			redisFree(r);
			r = NULL;
			__atomic_store_n(&c->sub_up, 0, __ATOMIC_RELAXED);
			nap(c, backoff);
			backoff = next_backoff(backoff);
			continue;
		}
		/* nil: nothing new within the block time */
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
		    rep->element[0]->type != REDIS_REPLY_ARRAY || rep->element[0]->elements < 2) {
			freeReplyObject(rep);
			continue;
		}
		entries = rep->element[0]->element[1];
		now = (u64)time(NULL);
		for (i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
			const redisReply *e = entries->element[i];

			if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
			    e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= 40)
				continue;
			if (e->element[1]->type == REDIS_REPLY_ARRAY)
				apply_entry(c, e->element[1], now);
			snprintf(id, sizeof(id), "%s", e->element[0]->str);
		}
		freeReplyObject(rep);
		pthread_mutex_lock(&c->mu);
		snprintf(c->last_id, sizeof(c->last_id), "%s", id);
		pthread_mutex_unlock(&c->mu);
		/* stored after the merge: a crash in between reads these again, which is harmless
		 */
		rep = redisCommand(r, "SET %s %s", c->poskey, id);
		freeReplyObject(rep);
	}
	redisFree(r);
	return NULL;
}

static int parse_address(struct gw_cluster *c, const char *spec, char *err, size_t errlen)
{
	const char *colon;
	char *end;
	long port;

	if (!strncmp(spec, "unix:", 5)) {
		snprintf(c->unix_path, sizeof(c->unix_path), "%s", spec + 5);
		return 0;
	}
	colon = strrchr(spec, ':');
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(c->host)) {
		snprintf(err, errlen, "cluster_redis '%s': expected host:port or unix:/path", spec);
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535) {
		snprintf(err, errlen, "cluster_redis '%s': port must be a number from 1 to 65535",
			 spec);
		return -1;
	}
	memcpy(c->host, spec, (size_t)(colon - spec));
	c->host[colon - spec] = 0;
	if (c->host[0] == '[' && c->host[strlen(c->host) - 1] == ']') {
		memmove(c->host, c->host + 1, strlen(c->host) - 2);
		c->host[colon - spec - 2] = 0;
	}
	c->port = (int)port;
	return 0;
}

struct gw_cluster *gw_cluster_start(const struct gw_conf *cfg, struct gw_table *triplets,
				    struct gw_table *awl, char *err, size_t errlen)
{
	struct gw_cluster *c;
	u64 secret[2];

	if (!cfg->cluster_redis[0])
		return NULL;
	if (gw_cluster_secret(cfg, secret, err, errlen) < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || parse_address(c, cfg->cluster_redis, err, errlen)) {
		if (!c)
			snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	snprintf(c->user, sizeof(c->user), "%s", cfg->cluster_redis_user);
	snprintf(c->password, sizeof(c->password), "%s", cfg->cluster_redis_password);
	if (cfg->cluster_node[0])
		snprintf(c->node, sizeof(c->node), "%s", cfg->cluster_node);
	else if (gethostname(c->node, sizeof(c->node)) || !c->node[0])
		snprintf(c->node, sizeof(c->node), "node-%d", (int)getpid());
	snprintf(c->stream, sizeof(c->stream), "greywall:%s:events", cfg->cluster_name);
	snprintf(c->poskey, sizeof(c->poskey), "greywall:%s:pos:%s", cfg->cluster_name, c->node);
	snprintf(c->checkkey, sizeof(c->checkkey), "greywall:%s:check", cfg->cluster_name);
	check_value(secret, c->check, sizeof(c->check));
	c->stream_max = cfg->cluster_stream_max;
	c->trip = triplets;
	c->awl = awl;
	c->pc = &cfg->policy;
	c->qcap = cfg->cluster_queue;
	c->q = calloc(c->qcap, sizeof(*c->q));
	snprintf(c->last_error, sizeof(c->last_error), "not connected yet");
	if (!c->q) {
		snprintf(err, errlen, "no memory for a cluster queue of %zu events", c->qcap);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->qcv, NULL);
	if (pthread_create(&c->pub, NULL, publish_loop, c)) {
		snprintf(err, errlen, "cannot start the cluster publisher thread");
		free(c->q);
		free(c);
		return NULL;
	}
	if (pthread_create(&c->sub, NULL, read_loop, c)) {
		gw_cluster_stop(c);
		snprintf(err, errlen, "cannot start the cluster reader thread");
		return NULL;
	}
	live = c;
	gw_verdict_hook = hook;
	syslog(LOG_INFO, "cluster: node %s shares its tables through Redis %s, stream %s", c->node,
	       cfg->cluster_redis, c->stream);
	return c;
}

void gw_cluster_stop(struct gw_cluster *c)
{
	if (!c)
		return;
	if (live == c) {
		gw_verdict_hook = NULL;
		live = NULL;
	}
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_cond_broadcast(&c->qcv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->pub, NULL);
	if (c->sub)
		pthread_join(c->sub, NULL);
	if (c->qlen)
		syslog(LOG_WARNING, "cluster: %zu events were not published before the stop",
		       c->qlen);
	free(c->q);
	free(c);
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
		   double v)
{
	if (types)
		put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	put(o, "%s %.15g\n", name, v);
}

#define LOAD(x) ((double)__atomic_load_n(&(x), __ATOMIC_RELAXED))

size_t gw_cluster_render(struct gw_cluster *c, int types, char *out, size_t cap)
{
	struct out o = {out, 0, cap};
	char err[sizeof(c->last_error)], id[64];
	size_t queued;
	size_t i, j;

	if (!c || !cap)
		return 0;
	pthread_mutex_lock(&c->mu);
	queued = c->qlen;
	snprintf(err, sizeof(err), "%s", c->last_error);
	snprintf(id, sizeof(id), "%s", c->last_id);
	pthread_mutex_unlock(&c->mu);
	/* a label value may not hold a raw quote, backslash or line end */
	for (i = j = 0; err[i]; i++)
		if (err[i] != '"' && err[i] != '\\' && err[i] != '\n')
			err[j++] = err[i];
	err[j] = 0;
	metric(&o, types, "greywall_cluster_connected", "gauge",
	       "1 while both Redis connections (publish, read) are up.",
	       LOAD(c->pub_up) && LOAD(c->sub_up) ? 1 : 0);
	metric(&o, types, "greywall_cluster_lag_seconds", "gauge",
	       "Age of the last peer batch applied, from its verdict to its merge here.",
	       LOAD(c->lag_ms) / 1e3);
	metric(&o, types, "greywall_cluster_events_out_total", "counter",
	       "Entries published to the cluster stream.", LOAD(c->out_events));
	metric(&o, types, "greywall_cluster_events_in_total", "counter",
	       "Peer entries read from the cluster stream.", LOAD(c->in_events));
	metric(&o, types, "greywall_cluster_events_changed_total", "counter",
	       "Peer entries that changed a local table.", LOAD(c->in_changed));
	metric(&o, types, "greywall_cluster_events_stale_total", "counter",
	       "Peer entries already expired by this node's clock.", LOAD(c->in_stale));
	metric(&o, types, "greywall_cluster_events_failed_total", "counter",
	       "Peer entries with no slot in a full or contended table.", LOAD(c->in_failed));
	metric(&o, types, "greywall_cluster_queued", "gauge",
	       "Entries waiting to be published (Redis slow or down).", (double)queued);
	metric(&o, types, "greywall_cluster_dropped_total", "counter",
	       "Entries not shared because the queue was full.", LOAD(c->dropped));
	metric(&o, types, "greywall_cluster_gaps_total", "counter",
	       "Reconnects that found the stream starting after this node's position.",
	       LOAD(c->gaps));
	metric(&o, types, "greywall_cluster_connects_total", "counter",
	       "Connections the publisher made to Redis.", LOAD(c->reconnects));
	metric(&o, types, "greywall_cluster_last_in_timestamp_seconds", "gauge",
	       "When a peer batch was last applied.", LOAD(c->last_in_time));
	if (types)
		put(&o, "# HELP greywall_cluster_info Node name, stream position and last error.\n"
			"# TYPE greywall_cluster_info gauge\n");
	put(&o, "greywall_cluster_info{node=\"%s\",position=\"%s\",last_error=\"%s\"} 1\n", c->node,
	    id, err);
	return o.len;
}
