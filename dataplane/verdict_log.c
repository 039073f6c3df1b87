// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <rte_lcore.h>

#include "greywall/verdict_text.h"
#include "verdict_log.h"

/* Bytes from the wire as a C string; verdict_text makes control bytes '?'. */
static void cstr(char *dst, const u8 *src, u16 len, u16 max)
{
	if (len > max)
		len = max;
	memcpy(dst, src, len);
	dst[len] = 0;
}

void gw_dp_log_format(const struct gw_dp_log_rec *rec, u32 delay, char *out, size_t cap)
{
	const struct gw_dp_event *ev = &rec->ev;
	char client[INET6_ADDRSTRLEN], sender[GW_ADDR_MAX + 1], rcpt[GW_ADDR_MAX + 1];
	char helo[GW_HELO_MAX + 1], reply[GW_REPLY_MAX + 1];
	struct gw_verdict_text t = {
	    .verdict = ev->verdict < GW_V_COUNT ? (enum gw_verdict)ev->verdict : GW_V_COUNT,
	    .starttls = ev->cmd == GW_DP_EV_STARTTLS,
	    .remaining = ev->remaining,
	    .delay = delay,
	    .client_address = client,
	    .sender = sender,
	    .rcpt = rcpt,
	    .helo = helo,
	    .origin = "greywall-dp",
	};

	if (!inet_ntop(ev->family == GW_AF_INET ? AF_INET : AF_INET6, ev->client, client,
		       sizeof(client)))
		snprintf(client, sizeof(client), "?");
	cstr(sender, ev->sender, ev->sender_len, GW_ADDR_MAX);
	cstr(rcpt, ev->rcpt, ev->rcpt_len, GW_ADDR_MAX);
	cstr(helo, rec->helo, rec->helo_len, GW_HELO_MAX);
	if (rec->reply_len) {
		cstr(reply, (const u8 *)rec->reply, rec->reply_len, GW_REPLY_MAX);
		t.reply = reply;
	}
	gw_verdict_line(&t, out, cap);
}

struct gw_dp_log_writer {
	struct gw_dp_log_ring **rings;
	unsigned n;
	u32 delay;
	pthread_t thread;
	volatile int stop;
};

/* Write every waiting line; returns how many. */
static unsigned drain(struct gw_dp_log_writer *w)
{
	char line[GW_REPLY_MAX + 3 * GW_ADDR_MAX + 128];
	const struct gw_dp_log_rec *rec;
	unsigned i, done = 0;

	for (i = 0; i < w->n; i++)
		while ((rec = gw_dp_log_peek(w->rings[i]))) {
			gw_dp_log_format(rec, w->delay, line, sizeof(line));
			gw_dp_log_done(w->rings[i]);
			syslog(LOG_INFO, "%s", line);
			done++;
		}
	return done;
}

static void *writer(void *arg)
{
	struct gw_dp_log_writer *w = arg;
	const struct timespec nap = {0, GW_DP_LOG_DRAIN_MS * 1000000L};

	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
		if (!drain(w))
			nanosleep(&nap, NULL);
	drain(w);
	return NULL;
}

struct gw_dp_log_writer *gw_dp_log_start(struct gw_dp_log_ring **rings, unsigned n, u32 delay,
					 const char *ident, char *err, size_t errlen)
{
	struct gw_dp_log_writer *w = calloc(1, sizeof(*w));
	int rc;

	if (!w) {
		snprintf(err, errlen, "no memory for the log writer");
		return NULL;
	}
	*w = (struct gw_dp_log_writer){.rings = rings, .n = n, .delay = delay};
	/* a journal on stderr has syslog's copy already */
	openlog(ident, LOG_PID | LOG_NDELAY | (gw_stderr_is_journal() ? 0 : LOG_PERROR), LOG_MAIL);
	/* a control thread runs on the cores no lcore was given, never on a forwarding one */
	rc = rte_ctrl_thread_create(&w->thread, "gw-log", NULL, writer, w);
	if (rc) {
		snprintf(err, errlen, "cannot start the log writer: %s",
			 strerror(rc < 0 ? -rc : rc));
		free(w);
		return NULL;
	}
	return w;
}

void gw_dp_log_stop(struct gw_dp_log_writer *w)
{
	if (!w)
		return;
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	pthread_join(w->thread, NULL);
	free(w);
}
