// SPDX-License-Identifier: BSD-2-Clause
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "dp_link.h"

void gw_dp_link_init(struct gw_dp_link *l, const char *path)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "%s", path);
}

static void attach(struct gw_dp_link *l)
{
	char err[600];

	if (l->map.shm && !gw_dp_shm_replaced(&l->map, l->path))
		return;
	if (l->map.shm) {
		syslog(LOG_INFO, "greywall-dp restarted: following its new %s", l->path);
		gw_dp_shm_close(&l->map);
	}
	if (access(l->path, F_OK))
		return; /* not started yet */
	if (gw_dp_shm_open(&l->map, l->path, err, sizeof(err)) == 0)
		syslog(LOG_INFO, "reading greywall-dp's counters and verdicts from %s", l->path);
	else
		syslog(LOG_WARNING, "%s", err);
}

void gw_dp_link_poll(struct gw_dp_link *l, const struct gw_verdict_sink *sink)
{
	struct gw_dp_event ev;
	u32 k;

	if (!l->path[0])
		return;
	attach(l);
	if (!l->map.shm)
		return;
	for (k = 0; k < l->map.shm->nlcores && k < GW_DP_SHM_LCORES; k++) {
		while (gw_dp_event_pop(&l->map.shm->ring[k], &ev)) {
			struct gw_verdict_seen v = {
			    .time = ev.time,
			    .verdict = ev.verdict,
			    .family = ev.family,
			    .starttls = ev.cmd == GW_DP_EV_STARTTLS,
			    .client = ev.client,
			    .sender = ev.sender,
			    .rcpt = ev.rcpt,
			    .sender_len = ev.sender_len > GW_ADDR_MAX ? 0 : ev.sender_len,
			    .rcpt_len = ev.rcpt_len > GW_ADDR_MAX ? 0 : ev.rcpt_len,
			    .remaining = ev.remaining,
			};

			gw_verdict_record(sink, &v);
			l->events++;
		}
	}
}

const struct gw_dp_shm *gw_dp_link_shm(const struct gw_dp_link *l)
{
	return l->map.shm;
}

void gw_dp_link_close(struct gw_dp_link *l)
{
	gw_dp_shm_close(&l->map);
}
