/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The Postfix policy delegation protocol (check_policy_service), answered
 * from the same triplet tables as the data paths: a drop-in for postgrey.
 * A request is "name=value" lines ended by an empty line; the answer is
 * "action=..." and an empty line.
 */
#ifndef GREYWALL_CONTROL_POLICY_SERVER_H
#define GREYWALL_CONTROL_POLICY_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "greywall/conf.h"
#include "greywall/lists.h"
#include "names.h"

#define GW_POLICY_REQ_MAX 8192
/*
 * A policy client's deadlines. Idle: longer than Postfix's own
 * smtpd_policy_service_max_idle (300 s), so Postfix is the one that closes
 * a connection it pools. Request: from its first byte to its empty line.
 */
#define GW_POLICY_IDLE_SECONDS	  330
#define GW_POLICY_REQUEST_SECONDS 10

struct gw_judged;

struct gw_policy_ctx {
	const struct gw_conf *cfg;
	struct gw_policy policy;
	struct gw_lists *volatile lists; /* swapped whole on reload */
	unsigned long long verdicts[GW_V_COUNT];
	unsigned long long requests, bad_requests;
	/* clients closed to make room for a new one, and past their deadline */
	unsigned long long evicted_clients, timed_out_clients;
	int log_verdicts;
	struct gw_names *names; /* the text of each triplet decided, if not NULL */
	/*
	 * The backstop deployment: passes the relay filter made (its verdict events)
	 * are not judged and counted again when Postfix asks about the same RCPT.
	 * catch_up reads the events still waiting; both may be NULL.
	 */
	struct gw_judged *judged;
	void (*catch_up)(struct gw_policy_ctx *ctx);
	unsigned long long judged_by_data_path; /* requests answered from a data path's pass */
};

/*
 * Answer one complete request (the bytes before its empty line). Writes the
 * reply with its terminating empty line into out; returns its length.
 */
size_t gw_policy_answer(struct gw_policy_ctx *ctx, const char *req, size_t len, char *out,
			size_t outlen, unsigned long long now);

/*
 * A side answer under construction: grows as it is written, sent by the
 * event loop as fast as the client takes it. failed: out of memory.
 */
struct gw_answer {
	char *p;
	size_t len, cap;
	int failed;
};

void gw_answer_put(struct gw_answer *a, const void *p, size_t n);

/*
 * A side listener (control socket, metrics). Its connections are served
 * from the one event loop without blocking it: each has a buffer of
 * GW_POLICY_REQ_MAX bytes for its request and GW_SIDE_SECONDS from accept
 * to answer it whole, and at most GW_SIDE_CONNS_MAX are open per listener
 * (its oldest goes for a new one: a flood on one port evicts nothing of another). request_end says how long the complete request in
 * buf is (0: not yet); answer gets it NUL-terminated and writes the answer,
 * after which the connection is shut down for writing and closed.
 *
 * With no_accept, fd is not a listening socket but anything else that polls
 * readable (the relay filter's ring buffer), and serve gets it as it is.
 */
#define GW_SIDE_SECONDS	  5
#define GW_SIDE_CONNS_MAX 64

struct gw_side_listener {
	int fd;
	size_t (*request_end)(const char *buf, size_t len);
	void (*answer)(struct gw_policy_ctx *ctx, char *req, size_t len, struct gw_answer *a);
	void (*serve)(struct gw_policy_ctx *ctx, int fd);
	int no_accept;
};

/*
 * Bind and listen on "host:port" (gw_listen_resolve's rules; key names the
 * setting in errors). Returns the fd, or -1 with a reason in err.
 */
int gw_listen_tcp(const char *key, const char *spec, char *err, size_t errlen);

/*
 * Serve until *stop is set; listen_on may be empty (no policy server), and
 * sides (nsides of them) are served from the same loop. Returns 0, or -1
 * with a reason in err.
 */
int gw_policy_serve(struct gw_policy_ctx *ctx, const char *listen_on, volatile sig_atomic_t *stop,
		    volatile sig_atomic_t *reload, void (*on_reload)(struct gw_policy_ctx *),
		    void (*on_tick)(struct gw_policy_ctx *), struct gw_side_listener *sides,
		    int nsides, char *err, size_t errlen);

#endif /* GREYWALL_CONTROL_POLICY_SERVER_H */
