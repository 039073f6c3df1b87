// SPDX-License-Identifier: BSD-2-Clause
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "greywall/relay.h"
#include "relay_events.h"
#include "verdict_log.h"

struct gw_relay_events {
	struct ring_buffer *rb;
	int fd;
	const struct gw_config *pc;
	const u64 *secret;
	struct gw_names *names;
	struct gw_judged *judged;
	struct gw_lists *const volatile *lists;
};

static int on_event(void *arg, void *data, size_t size)
{
	struct gw_relay_events *e = arg;
	const struct gw_relay_event *ev = data;
	struct gw_verdict_sink sink = {e->pc,	       e->secret, e->names,
				       "relay filter", e->judged, e->lists};
	struct gw_verdict_seen v;

	if (size < sizeof(*ev))
		return 0;
	v = (struct gw_verdict_seen){
	    .time = ev->time,
	    .verdict = ev->verdict,
	    .family = ev->family,
	    .starttls = ev->kind == GW_RK_TLS || !ev->rcpt_len,
	    .sender_normalized = true,
	    .client = ev->client,
	    .sender = ev->sender,
	    .rcpt = ev->rcpt,
	    .sender_len = ev->sender_len,
	    .rcpt_len = ev->rcpt_len,
	    .remaining = ev->remaining,
	};
	gw_verdict_record(&sink, &v);
	return 0;
}

struct gw_relay_events *gw_relay_events_open(const char *path, const struct gw_config *pc,
					     const u64 *secret, struct gw_names *names,
					     struct gw_judged *judged, char *err, size_t errlen)
{
	struct gw_relay_events *e = calloc(1, sizeof(*e));

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->pc = pc;
	e->secret = secret;
	e->names = names;
	e->judged = judged;
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

void gw_relay_events_use_lists(struct gw_relay_events *e, struct gw_lists *const volatile *lists)
{
	e->lists = lists;
}
