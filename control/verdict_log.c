// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "greywall/normalize.h"
#include "greywall/reply.h"
#include "greywall/verdict_text.h"
#include "verdict_log.h"

void (*gw_verdict_hook)(u64 fp, const struct gw_client_net *net, int verdict);

/* Bytes from a data path as a C string, control characters made '?' for the log. */
static void text_of(const u8 *b, u16 len, char *out, size_t cap)
{
	size_t i, n = len < cap - 1 ? len : cap - 1;

	for (i = 0; i < n; i++)
		out[i] = (b[i] < 0x20 || b[i] == 0x7f) ? '?' : (char)b[i];
	out[n] = 0;
}

static void log_line(const struct gw_verdict_sink *sink, const struct gw_verdict_seen *v,
		     const char *client, const char *sender, const char *rcpt)
{
	struct gw_reply_vars vars = {rcpt, sender, client, v->remaining};
	struct gw_verdict_text t = {
	    .verdict = v->verdict < GW_V_COUNT ? (enum gw_verdict)v->verdict : GW_V_COUNT,
	    .starttls = v->starttls,
	    .remaining = v->remaining,
	    .delay = sink->pc->delay,
	    .client_address = client,
	    .sender = sender,
	    .rcpt = rcpt,
	    .origin = sink->origin,
	};
	const char *tmpl = NULL;
	char text[GW_REPLY_MAX], line[GW_REPLY_MAX + 3 * GW_ADDR_MAX + 128];

	/* the reply the data path sent, as the MTA would have logged it */
	if (v->starttls && v->verdict == GW_V_GREYLIST)
		tmpl = GW_REPLY_TLS_DEFAULT;
	else if (!v->starttls && v->verdict == GW_V_GREYLIST)
		tmpl = GW_REPLY_GREYLIST_DEFAULT;
	else if (!v->starttls && v->verdict == GW_V_BLACKLIST)
		tmpl = GW_REPLY_BLACKLIST_DEFAULT;
	if (tmpl && gw_reply_render(tmpl, &vars, text, sizeof(text)) > 2)
		t.reply = text;
	gw_verdict_line(&t, line, sizeof(line));
	syslog(LOG_INFO, "%s", line);
}

void gw_verdict_record(const struct gw_verdict_sink *sink, const struct gw_verdict_seen *v)
{
	char client[INET6_ADDRSTRLEN], sender[GW_ADDR_MAX + 1], rcpt[GW_ADDR_MAX + 1];
	struct gw_triplet trip;
	u64 fp;
	int n;

	if (v->sender_len > GW_ADDR_MAX || v->rcpt_len > GW_ADDR_MAX)
		return;
	inet_ntop(v->family == GW_AF_INET ? AF_INET : AF_INET6, v->client, client, sizeof(client));
	text_of(v->sender, v->sender_len, sender, sizeof(sender));
	text_of(v->rcpt, v->rcpt_len, rcpt, sizeof(rcpt));
	log_line(sink, v, client, sender, rcpt);
	if ((!sink->names && !sink->judged && !gw_verdict_hook) || v->starttls || !v->rcpt_len)
		return;
	/* the fingerprint the data path used, whatever the verdict (a whitelist skips the table) */
	n = gw_normalize_address(v->rcpt, v->rcpt_len, trip.rcpt, &sink->pc->norm, false);
	if (n < 0)
		return;
	trip.rcpt_len = (u16)n;
	if (v->sender_normalized) {
		memcpy(trip.sender, v->sender, v->sender_len);
		n = v->sender_len;
	} else {
		n = gw_normalize_address(v->sender, v->sender_len, trip.sender, &sink->pc->norm,
					 true);
		if (n < 0)
			return;
	}
	trip.sender_len = (u16)n;
	/* keyed as the data path keyed it: by the client's sender pool if it is in one */
	{
		u64 pool = 0;
		u8 colors;

		if (sink->lists && *sink->lists)
			gw_lists_client_lookup(*sink->lists, v->family, v->client, 128, &colors,
					       &pool);
		gw_client_net_keyed(&trip.net, sink->pc, v->family, v->client, pool);
	}
	fp = gw_triplet_fp(sink->secret, &trip);
	if (sink->names)
		gw_names_note(sink->names, fp, v->time, v->verdict, v->family, v->client, sender,
			      rcpt);
	if (gw_verdict_hook)
		gw_verdict_hook(fp, &trip.net, v->verdict);
	/* a fail-open is no judgement: the policy server still decides that RCPT */
	if (sink->judged && v->verdict != GW_V_FAIL_OPEN && !gw_verdict_rejects(v->verdict))
		gw_judged_note(sink->judged, fp, v->time, v->verdict);
}

static struct gw_judged_slot *judged_slot(struct gw_judged *j, u64 fp)
{
	/* the fingerprint is a SipHash output: its low bits are as good as any */
	return &j->slot[fp % GW_JUDGED_SLOTS];
}

void gw_judged_note(struct gw_judged *j, u64 fp, u64 time, u8 verdict)
{
	struct gw_judged_slot *s = judged_slot(j, fp);

	if (s->fp != fp || !s->credits || time > s->time + GW_JUDGED_WINDOW)
		*s = (struct gw_judged_slot){.fp = fp, .credits = 0};
	s->credits++;
	s->time = time;
	s->verdict = verdict;
}

int gw_judged_take(struct gw_judged *j, u64 fp, u64 now)
{
	struct gw_judged_slot *s = judged_slot(j, fp);

	/* the filter's clock may be a second ahead of ours: only the past is bounded */
	if (s->fp != fp || !s->credits || now > s->time + GW_JUDGED_WINDOW)
		return -1;
	s->credits--;
	return s->verdict;
}
