// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "greywall/decide_rcpt.h"
#include "greywall/verdict_text.h"
#include "policy_server.h"
#include "sd_notify.h"
#include "verdict_log.h"

struct attrs {
	const char *state, *client, *sender, *rcpt, *helo, *name;
	size_t state_len, client_len, sender_len, rcpt_len, helo_len, name_len;
};

static void take(const char *line, size_t len, const char *name, const char **v, size_t *vlen)
{
	size_t n = strlen(name);

	if (len > n && !memcmp(line, name, n) && line[n] == '=') {
		*v = line + n + 1;
		*vlen = len - n - 1;
	}
}

static void parse_attrs(const char *req, size_t len, struct attrs *a)
{
	const char *p = req, *end = req + len;

	memset(a, 0, sizeof(*a));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		take(p, l, "protocol_state", &a->state, &a->state_len);
		take(p, l, "client_address", &a->client, &a->client_len);
		take(p, l, "sender", &a->sender, &a->sender_len);
		take(p, l, "recipient", &a->rcpt, &a->rcpt_len);
		take(p, l, "helo_name", &a->helo, &a->helo_len);
		take(p, l, "client_name", &a->name, &a->name_len);
		p += l + 1;
	}
}

/*
 * The backstop deployment: the data path in front (the relay filter) already
 * let this RCPT through and its verdict event left a credit, taken here. The
 * answer is DUNNO without a second step on the triplet (its pass count), a
 * second verdict counted or a second log line. A triplet pass must still read
 * as passed in the table, or the request is decided as usual.
 */
static bool judged_by_data_path(struct gw_policy_ctx *ctx, const struct gw_triplet *trip,
				unsigned long long now)
{
	u64 fp = gw_triplet_fp(ctx->policy.secret, trip), st;
	struct gw_slot *slot;
	int v;

	/* the filter submits its event before the RCPT goes on to Postfix: read it first */
	if (ctx->catch_up)
		ctx->catch_up(ctx);
	v = gw_judged_take(ctx->judged, fp, now);
	if (v < 0)
		return false;
	if (v != GW_V_PASS)
		return true; /* lists, exemptions, auto-whitelist: the table was not touched */
	slot = gw_table_lookup(ctx->policy.triplets, fp);
	return slot && gw_slot_read(slot, fp, &st) && gw_state_kind(st) == GW_ST_PASSED;
}

/*
 * The verdict in postgrey's log shape (verdict_text.h), so its log watchers
 * keep working. Postfix logs a deferred RCPT's reject itself.
 */
static void log_verdict(struct gw_policy_ctx *ctx, const struct attrs *a, const char *client,
			u8 family, const u8 *addr, const struct gw_triplet *trip,
			const struct gw_decision *d, const char *sender, const char *rcpt)
{
	struct gw_verdict_text t = {
	    .verdict = d->verdict,
	    .remaining = d->remaining,
	    .delay = ctx->cfg->policy.delay,
	    .client_address = client,
	    .sender = sender,
	    .rcpt = rcpt,
	};
	char name[256], line[GW_REPLY_MAX + 3 * GW_ADDR_MAX + 128];

	if (d->verdict == GW_V_PASS_WHITELIST || d->verdict == GW_V_BLACKLIST) {
		/* the decision keeps no note of which list matched: ask them again */
		struct gw_list_hits hits;

		gw_lists_match(ctx->lists, family, addr, trip->sender, trip->sender_len, trip->rcpt,
			       trip->rcpt_len, &hits);
		t.white = hits.white;
		t.black = hits.black;
	}
	if (a->name) {
		snprintf(name, sizeof(name), "%.*s", (int)a->name_len, a->name);
		t.client_name = name;
	}
	gw_verdict_line(&t, line, sizeof(line));
	syslog(LOG_INFO, "%s", line);
}

static size_t reply(char *out, size_t outlen, const char *action)
{
	int n = snprintf(out, outlen, "action=%s\n\n", action);

	return n < 0 || (size_t)n >= outlen ? 0 : (size_t)n;
}

size_t gw_policy_answer(struct gw_policy_ctx *ctx, const char *req, size_t len, char *out,
			size_t outlen, unsigned long long now)
{
	const struct gw_config *pc = &ctx->cfg->policy;
	struct gw_triplet trip;
	struct gw_list_hits hits;
	struct gw_decision d;
	struct attrs a;
	char client[INET6_ADDRSTRLEN], text[GW_REPLY_MAX], action[GW_REPLY_MAX + 16];
	char rcpt_raw[GW_ADDR_MAX + 1], sender_raw[GW_ADDR_MAX + 1];
	u8 addr[16] = {0}, family;
	int n;

	ctx->requests++;
	/*
	 * Postfix never sends a NUL: one in a request is an attacker hoping a
	 * C string ends early ("203.0.113.77\0junk" read as 203.0.113.77).
	 */
	if (memchr(req, 0, len)) {
		ctx->bad_requests++;
		return reply(out, outlen, "DUNNO");
	}
	parse_attrs(req, len, &a);
	if (!a.state || a.state_len != 4 || memcmp(a.state, "RCPT", 4))
		return reply(out, outlen, "DUNNO"); /* greylisting decides at RCPT only */
	/* an empty recipient names no mailbox: no triplet for it */
	if (!a.client || a.client_len >= sizeof(client) || !a.rcpt || !a.rcpt_len ||
	    a.rcpt_len > GW_PATH_LONG_MAX || (a.sender && a.sender_len > GW_PATH_LONG_MAX)) {
		ctx->bad_requests++;
		return reply(out, outlen, "DUNNO");
	}
	memcpy(client, a.client, a.client_len);
	client[a.client_len] = 0;
	if (inet_pton(AF_INET, client, addr) == 1) {
		family = GW_AF_INET;
	} else if (inet_pton(AF_INET6, client, addr) == 1) {
		family = GW_AF_INET6;
	} else {
		ctx->bad_requests++;
		return reply(out, outlen, "DUNNO");
	}
	n = a.sender ? gw_normalize_address((const u8 *)a.sender, (u32)a.sender_len, trip.sender,
					    &pc->norm, true)
		     : 0;
	if (n < 0 || gw_rcpt_triplet(&ctx->policy, ctx->lists, family, addr, trip.sender, (u16)n,
				     (const u8 *)a.rcpt, (u32)a.rcpt_len, &trip, &hits) < 0) {
		ctx->bad_requests++;
		return reply(out, outlen, "DUNNO");
	}
	if (ctx->judged && judged_by_data_path(ctx, &trip, now)) {
		ctx->judged_by_data_path++;
		return reply(out, outlen, "DUNNO");
	}
	gw_decide(&ctx->policy, &trip, &hits, now, &d);
	ctx->verdicts[d.verdict]++;
	if (gw_verdict_hook)
		gw_verdict_hook(d.fp, &trip.net, (int)d.verdict);

	/* names past GW_ADDR_MAX are cut for the reply and the log; the key had them whole */
	snprintf(rcpt_raw, sizeof(rcpt_raw), "%.*s",
		 (int)(a.rcpt_len > GW_ADDR_MAX ? GW_ADDR_MAX : a.rcpt_len), a.rcpt);
	snprintf(sender_raw, sizeof(sender_raw), "%.*s", a.sender ? (int)a.sender_len : 0,
		 a.sender ? a.sender : "");
	if (ctx->names) /* a whitelisted decision skips the table, so d.fp may be unset */
		gw_names_note(ctx->names, gw_triplet_fp(ctx->policy.secret, &trip), now,
			      (u8)d.verdict, family, addr, sender_raw, rcpt_raw);
	if (d.verdict == GW_V_GREYLIST || d.verdict == GW_V_BLACKLIST) {
		struct gw_reply_vars v = {rcpt_raw, sender_raw, client, d.remaining};
		const char *tmpl = d.verdict == GW_V_GREYLIST ? ctx->cfg->policy_defer_text
							      : ctx->cfg->policy_reject_text;
		int tl = gw_reply_render(tmpl, &v, text, sizeof(text));

		if (tl < 2)
			return reply(out, outlen, "DUNNO");
		text[tl - 2] = 0; /* Postfix adds its own line end */
		/* DEFER_IF_PERMIT: a later reject still wins, as with postgrey */
		snprintf(action, sizeof(action), "%s %s",
			 d.verdict == GW_V_GREYLIST ? "DEFER_IF_PERMIT" : "550 5.7.1", text);
		if (ctx->log_verdicts)
			log_verdict(ctx, &a, client, family, addr, &trip, &d, sender_raw, rcpt_raw);
		return reply(out, outlen, action);
	}
	if (ctx->log_verdicts)
		log_verdict(ctx, &a, client, family, addr, &trip, &d, sender_raw, rcpt_raw);
	return reply(out, outlen, "DUNNO");
}

/*
 * A policy client. Clients sit on a list in the order they were last served
 * (accepted, or a request answered): the head is the one that has waited
 * longest for nothing. Trickled bytes do not move a client, so a slow one
 * cannot make itself look busy.
 */
enum conn_kind { K_POLICY = 1, K_SIDE };
enum side_state { S_READING, S_WRITING, S_DRAINING };

struct conn {
	int kind; /* first: the event loop tells connections apart by it */
	int fd;
	bool dead; /* dropped: events of the batch in hand may still point here */
	struct conn *prev, *next;
	time_t served;	  /* accepted or last answered */
	time_t req_start; /* first byte of the request under way, 0 = none */
	/* side connections only */
	struct gw_side_listener *side;
	int state;
	struct gw_answer out;
	size_t out_off;
	size_t len;
	char buf[GW_POLICY_REQ_MAX];
};

struct conn_list {
	struct conn *head, *tail;
	unsigned n;
	struct conn *graveyard; /* dropped, freed once the event batch is done (bury) */
};

static void list_del(struct conn_list *l, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

static void list_add_tail(struct conn_list *l, struct conn *c)
{
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

int gw_listen_tcp(const char *key, const char *spec, char *err, size_t errlen)
{
	struct addrinfo *ai;
	int fd, one = 1;

	if (gw_listen_resolve(key, spec, &ai, err, errlen))
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 512)) {
		snprintf(err, errlen, "%s '%s': %s", key, spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/*
 * Close c and take it off its list. It is freed only by bury(), after the
 * event batch in hand: an expiry or an eviction may drop a connection whose
 * readiness is still further down the batch, and that event must find it
 * marked dead, not freed (or, worse, reused by the next accept).
 */
static void drop(int ep, struct conn_list *l, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	list_del(l, c);
	c->dead = true;
	c->next = l->graveyard;
	l->graveyard = c;
}

static void bury(struct conn_list *l)
{
	while (l->graveyard) {
		struct conn *c = l->graveyard;

		l->graveyard = c->next;
		free(c->out.p);
		free(c);
	}
}

/* Whether c has outlived its deadline: idle too long, or a request too slow to arrive. */
static bool conn_expired(const struct conn *c, time_t now)
{
	if (c->kind == K_SIDE) /* one exchange, start to end */
		return now - c->served >= GW_SIDE_SECONDS;
	if (c->req_start)
		return now - c->req_start >= GW_POLICY_REQUEST_SECONDS;
	return now - c->served >= GW_POLICY_IDLE_SECONDS;
}

/*
 * One read per readiness event (epoll is level-triggered, so leftovers come
 * back), then answer every complete request. False when the client must go.
 */
static bool serve_conn(struct gw_policy_ctx *ctx, struct conn_list *l, struct conn *c)
{
	char out[GW_REPLY_MAX + 64];
	ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	char *end;

	if (r == 0)
		return false;
	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	if (!c->len)
		c->req_start = time(NULL);
	c->len += (size_t)r;
	while ((end = memmem(c->buf, c->len, "\n\n", 2))) {
		size_t req = (size_t)(end - c->buf) + 1, n;

		n = gw_policy_answer(ctx, c->buf, req, out, sizeof(out),
				     (unsigned long long)time(NULL));
		/* an answer is a few hundred bytes: a client whose socket cannot take it goes */
		if (write(c->fd, out, n) != (ssize_t)n)
			return false;
		memmove(c->buf, c->buf + req + 1, c->len - req - 1);
		c->len -= req + 1;
		c->served = time(NULL);
		c->req_start = c->len ? c->served : 0;
		list_del(l, c);
		list_add_tail(l, c);
	}
	if (c->len == sizeof(c->buf)) {
		/* a request that never ends: the protocol has no way to answer it */
		ctx->bad_requests++;
		return false;
	}
	return true;
}

/*
 * Take new connections on lfd into l, of kind (and side, for K_SIDE). When max
 * are open, the one served longest ago goes instead of the newcomer: refusing
 * would let anyone who opens max idle connections lock Postfix out, while a
 * Postfix whose idle connection is closed just opens another. Each one closed
 * so is counted in *evicted, if given.
 */
static void accept_conns(int ep, int lfd, struct conn_list *l, unsigned max, int kind,
			 struct gw_side_listener *side, unsigned long long *evicted)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct conn *c;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		/* side connections count per listener: a flood on the metrics port evicts
		 * metrics connections only, never a greyctl request on the control socket */
		struct conn *oldest = side ? NULL : l->head;
		unsigned mine = side ? 0 : l->n;

		for (c = side ? l->head : NULL; c; c = c->next)
			if (c->side == side && !mine++)
				oldest = c;
		if (mine >= max && oldest) {
			if (evicted)
				(*evicted)++;
			drop(ep, l, oldest);
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->kind = kind;
		c->fd = fd;
		c->side = side;
		c->served = time(NULL);
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		list_add_tail(l, c);
	}
}

void gw_answer_put(struct gw_answer *a, const void *p, size_t n)
{
	if (a->failed || !n)
		return;
	if (a->cap - a->len < n) {
		size_t cap = a->cap ? a->cap : 4096;
		char *np;

		while (cap - a->len < n)
			cap *= 2;
		np = realloc(a->p, cap);
		if (!np) {
			a->failed = 1;
			return;
		}
		a->p = np;
		a->cap = cap;
	}
	memcpy(a->p + a->len, p, n);
	a->len += n;
}

static void side_want(int ep, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/*
 * Send what the client takes without waiting; once all is sent, shut down
 * our side and wait for the client's close, so that nothing unread on our
 * side turns the close into a reset that loses the answer's tail.
 */
static bool side_flush(int ep, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w =
		    send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			side_want(ep, c, EPOLLOUT);
			return true;
		}
		if (w <= 0)
			return false;
		c->out_off += (size_t)w;
	}
	free(c->out.p);
	c->out = (struct gw_answer){0};
	shutdown(c->fd, SHUT_WR);
	c->state = S_DRAINING;
	side_want(ep, c, EPOLLIN);
	return true;
}

/* One readiness event on a side connection. False when it must go. */
static bool serve_side_conn(struct gw_policy_ctx *ctx, int ep, struct conn *c)
{
	struct gw_side_listener *side = c->side;
	ssize_t r;
	size_t n;

	if (c->state == S_WRITING)
		return side_flush(ep, c);
	if (c->state == S_DRAINING) {
		char sink[512];

		r = read(c->fd, sink, sizeof(sink));
		return r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR));
	}
	/* one byte kept for the NUL the answer functions read up to */
	r = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (r == 0)
		return false;
	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	c->len += (size_t)r;
	c->buf[c->len] = 0;
	n = side->request_end(c->buf, c->len);
	if (!n)
		return c->len < sizeof(c->buf) - 1; /* past the byte budget: go */
	c->buf[n] = 0;
	side->answer(ctx, c->buf, n, &c->out);
	if (c->out.failed)
		return false;
	c->state = S_WRITING;
	return side_flush(ep, c);
}

/* Once a second: every client past its deadline goes. */
static void expire_clients(struct gw_policy_ctx *ctx, int ep, struct conn_list *l, time_t now)
{
	struct conn *c = l->head, *next;

	for (; c; c = next) {
		next = c->next;
		if (conn_expired(c, now)) {
			if (c->kind == K_POLICY)
				ctx->timed_out_clients++;
			drop(ep, l, c);
		}
	}
}

int gw_policy_serve(struct gw_policy_ctx *ctx, const char *listen_on, volatile sig_atomic_t *stop,
		    volatile sig_atomic_t *reload, void (*on_reload)(struct gw_policy_ctx *),
		    void (*on_tick)(struct gw_policy_ctx *), struct gw_side_listener *sides,
		    int nsides, char *err, size_t errlen)
{
	time_t last_tick = time(NULL);
	struct epoll_event ev = {.events = EPOLLIN}, evs[64];
	struct conn_list clients = {0}, side_conns = {0};
	int lfd = -1, ep, k;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	if (listen_on[0]) {
		lfd = gw_listen_tcp("policy_listen", listen_on, err, errlen);
		if (lfd < 0) {
			close(ep);
			return -1;
		}
		ev.data.ptr = NULL;
		epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
		syslog(LOG_INFO, "policy server listening on %s", listen_on);
	}
	for (k = 0; k < nsides; k++) {
		ev.data.ptr = &sides[k];
		epoll_ctl(ep, EPOLL_CTL_ADD, sides[k].fd, &ev);
	}
	/* systemd starts Postfix after this: every socket is open, the tables are restored */
	gw_sd_notify("READY=1");
	while (!*stop) {
		int n = epoll_wait(ep, evs, 64, 1000), i;

		if (*reload && on_reload) {
			*reload = 0;
			on_reload(ctx);
		}
		if (time(NULL) != last_tick) {
			last_tick = time(NULL);
			expire_clients(ctx, ep, &clients, last_tick);
			expire_clients(ctx, ep, &side_conns, last_tick);
			if (on_tick)
				on_tick(ctx); /* once a second: sweeps and snapshots */
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (nsides && (void *)c >= (void *)sides &&
			    (void *)c < (void *)(sides + nsides)) {
				struct gw_side_listener *side = (void *)c;

				if (side->no_accept)
					side->serve(ctx, side->fd);
				else
					/* the oldest is the nearest its deadline anyway */
					accept_conns(ep, side->fd, &side_conns, GW_SIDE_CONNS_MAX,
						     K_SIDE, side, NULL);
				continue;
			}
			if (!c) {
				accept_conns(ep, lfd, &clients, ctx->cfg->max_clients, K_POLICY,
					     NULL, &ctx->evicted_clients);
				continue;
			}
			if (c->dead)
				continue; /* dropped earlier in this batch */
			if (c->kind == K_SIDE) {
				if (!serve_side_conn(ctx, ep, c))
					drop(ep, &side_conns, c);
			} else if (!serve_conn(ctx, &clients, c)) {
				drop(ep, &clients, c);
			}
		}
		bury(&clients);
		bury(&side_conns);
	}
	gw_sd_notify("STOPPING=1"); /* the snapshot that follows may take a while */
	while (clients.head)
		drop(ep, &clients, clients.head);
	while (side_conns.head)
		drop(ep, &side_conns, side_conns.head);
	bury(&clients);
	bury(&side_conns);
	close(ep);
	if (lfd >= 0)
		close(lfd);
	return 0;
}
