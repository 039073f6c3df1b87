// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "greywall/normalize.h"
#include "greywall/relay.h"
#include "greywall/reply.h"
#include "relay_events.h"

struct gw_relay_events {
	struct ring_buffer *rb;
	int fd;
	const struct gw_config *pc;
	const u64 *secret;
	struct gw_names *names;
};

static const char *const verdict_names[GW_V_COUNT] = {GW_VERDICT_NAMES};

/* Bytes from the filter as a C string, control characters made '?' for the log. */
static void text_of(const u8 *b, u16 len, char *out, size_t cap)
{
	size_t i, n = len < cap - 1 ? len : cap - 1;

	for (i = 0; i < n; i++)
		out[i] = (b[i] < 0x20 || b[i] == 0x7f) ? '?' : (char)b[i];
	out[n] = 0;
}

static void log_event(const struct gw_relay_event *ev, const char *client, const char *sender,
		      const char *rcpt)
{
	struct gw_reply_vars v = {rcpt, sender, client, ev->remaining};
	char text[GW_REPLY_MAX];
	const char *tmpl = NULL;

	if (ev->kind == GW_RK_TLS) {
		syslog(LOG_INFO, "NOQUEUE: reject: STARTTLS from unknown[%s]: %s (relay filter)",
		       client, GW_REPLY_TLS_DEFAULT);
		return;
	}
	if (ev->kind == GW_RK_GREYLIST)
		tmpl = GW_REPLY_GREYLIST_DEFAULT;
	else if (ev->kind == GW_RK_BLACKLIST)
		tmpl = GW_REPLY_BLACKLIST_DEFAULT;
	if (tmpl && gw_reply_render(tmpl, &v, text, sizeof(text)) > 2) {
		text[strcspn(text, "\r\n")] = 0;
		syslog(
		    LOG_INFO,
		    "NOQUEUE: reject: RCPT from unknown[%s]: %s; from=<%s> to=<%s> (relay filter)",
		    client, text, sender, rcpt);
		return;
	}
	syslog(LOG_INFO, "%s: RCPT from unknown[%s]: from=<%s> to=<%s> (relay filter)",
	       ev->verdict < GW_V_COUNT ? verdict_names[ev->verdict] : "?", client, sender, rcpt);
}

static int on_event(void *arg, void *data, size_t size)
{
	struct gw_relay_events *e = arg;
	const struct gw_relay_event *ev = data;
	char client[INET6_ADDRSTRLEN], sender[GW_ADDR_MAX + 1], rcpt[GW_ADDR_MAX + 1];
	struct gw_triplet trip;
	int n;

	if (size < sizeof(*ev) || ev->sender_len > GW_ADDR_MAX || ev->rcpt_len > GW_ADDR_MAX)
		return 0;
	inet_ntop(ev->family == GW_AF_INET ? AF_INET : AF_INET6, ev->client, client,
		  sizeof(client));
	text_of(ev->sender, ev->sender_len, sender, sizeof(sender));
	text_of(ev->rcpt, ev->rcpt_len, rcpt, sizeof(rcpt));
	log_event(ev, client, sender, rcpt);
	if (!e->names || ev->kind == GW_RK_TLS || !ev->rcpt_len)
		return 0; /* a STARTTLS pseudo-triplet has no recipient to name */
	/* the filter sends the sender normalised and the recipient as the client wrote it */
	n = gw_normalize_address(ev->rcpt, ev->rcpt_len, trip.rcpt, &e->pc->norm, false);
	if (n < 0)
		return 0;
	trip.rcpt_len = (u16)n;
	memcpy(trip.sender, ev->sender, ev->sender_len);
	trip.sender_len = ev->sender_len;
	gw_client_net_of(&trip.net, e->pc, ev->family, ev->client);
	gw_names_note(e->names, gw_triplet_fp(e->secret, &trip), ev->time, ev->verdict, ev->family,
		      ev->client, sender, rcpt);
	return 0;
}

struct gw_relay_events *gw_relay_events_open(const char *path, const struct gw_config *pc,
					     const u64 *secret, struct gw_names *names, char *err,
					     size_t errlen)
{
	struct gw_relay_events *e = calloc(1, sizeof(*e));

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->pc = pc;
	e->secret = secret;
	e->names = names;
	e->fd = bpf_obj_get(path);
	if (e->fd < 0) {
		snprintf(err, errlen, "cannot open the relay filter's events %s: %s", path,
			 strerror(errno));
		free(e);
		return NULL;
	}
	e->rb = ring_buffer__new(e->fd, on_event, e, NULL);
	if (!e->rb) {
		snprintf(err, errlen, "%s: cannot read it as a ring buffer: %s", path,
			 strerror(errno));
		close(e->fd);
		free(e);
		return NULL;
	}
	return e;
}

int gw_relay_events_fd(const struct gw_relay_events *e)
{
	return ring_buffer__epoll_fd(e->rb);
}

int gw_relay_events_drain(struct gw_relay_events *e)
{
	return e ? ring_buffer__consume(e->rb) : 0;
}

void gw_relay_events_close(struct gw_relay_events *e)
{
	if (!e)
		return;
	ring_buffer__free(e->rb);
	close(e->fd);
	free(e);
}
