// SPDX-License-Identifier: BSD-2-Clause
/*
 * The verdict step: what the dataplane does with parsed SMTP. A stream step
 * (client_stream.c, server_stream.c) feeds the parser a segment's new bytes
 * here; the callbacks remember the envelope, decide each RCPT (and STARTTLS,
 * and a plaintext greeting while TLS is pending) with the shared policy, and
 * turn a rejecting verdict into a removed line plus a reply to inject. Back in
 * the stream step, the segment is then rewritten around the cut lines
 * (segment.c) and the replies go out (inject.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "greywall/decide_rcpt.h"

static void client_text(const struct gw_flow *f, char *buf, size_t len)
{
	inet_ntop(f->key.family == 4 ? AF_INET : AF_INET6, f->key.client, buf, (socklen_t)len);
}

static void cstr(char *dst, const uint8_t *src, uint16_t len)
{
	memcpy(dst, src, len);
	dst[len] = 0;
}

/*
 * --log-verdicts: the decision and its reply into this lcore's log ring, for
 * the log writer thread to format and write (verdict_log.h). No syscall here.
 */
static void log_verdict(struct gw_engine *e, struct gw_flow *f, const char *cmd, const char *rcpt,
			const struct gw_decision *d, const char *reply)
{
	struct gw_dp_log_rec *r;
	size_t n;

	if (!e->log)
		return;
	r = gw_dp_log_reserve(e->log);
	if (!r) {
		e->stats.log_lines_dropped++;
		return;
	}
	r->ev.time = e->now_wall;
	/* a rejecting verdict with no reply went on to the server: that is a fail-open pass */
	r->ev.verdict =
	    (u8)(gw_verdict_rejects(d->verdict) && !reply ? GW_V_FAIL_OPEN : d->verdict);
	r->ev.family = f->key.family;
	r->ev.cmd = strcmp(cmd, "RCPT") ? GW_DP_EV_STARTTLS : GW_DP_EV_RCPT;
	r->ev.remaining = d->remaining;
	memcpy(r->ev.client, f->key.client, 16);
	r->ev.sender_len = f->sender_raw_len; /* the sender judged with, MAIL in force or not */
	memcpy(r->ev.sender, f->sender_raw, r->ev.sender_len);
	n = strlen(rcpt);
	r->ev.rcpt_len = (u16)(n > GW_ADDR_MAX ? GW_ADDR_MAX : n);
	memcpy(r->ev.rcpt, rcpt, r->ev.rcpt_len);
	r->helo_len = f->helo_len > GW_HELO_MAX ? GW_HELO_MAX : f->helo_len;
	memcpy(r->helo, f->helo, r->helo_len);
	n = reply ? strcspn(reply, "\r\n") : 0;
	r->reply_len = (u16)(n > GW_REPLY_MAX ? GW_REPLY_MAX : n);
	memcpy(r->reply, reply ? reply : "", r->reply_len);
	gw_dp_log_commit(e->log);
}

/* Hand the decision to greywalld through the shared ring; a full ring drops and counts it. */
static void emit_event(struct gw_engine *e, struct gw_flow *f, const char *cmd, const char *rcpt,
		       const struct gw_decision *d)
{
	struct gw_dp_event *ev;
	size_t n;

	if (!e->events || !(ev = gw_dp_event_reserve(e->events)))
		return;
	ev->time = e->now_wall;
	ev->verdict = (u8)d->verdict;
	ev->family = f->key.family;
	/* a greeting refused while TLS is pending belongs to the STARTTLS pseudo-triplet */
	ev->cmd = strcmp(cmd, "RCPT") ? GW_DP_EV_STARTTLS : GW_DP_EV_RCPT;
	ev->remaining = d->remaining;
	memcpy(ev->client, f->key.client, 16);
	ev->sender_len = f->sender_raw_len; /* the sender judged with */
	memcpy(ev->sender, f->sender_raw, ev->sender_len);
	n = strlen(rcpt);
	ev->rcpt_len = (u16)(n > GW_ADDR_MAX ? GW_ADDR_MAX : n);
	memcpy(ev->rcpt, rcpt, ev->rcpt_len);
	gw_dp_event_commit(e->events);
}

/*
 * Remove the current line and queue a reply for it. Returns false (and the
 * line is forwarded) if the line cannot be cut here.
 */
static bool drop_with_reply(struct gw_seg *s, const struct gw_smtp_cmd *cmd, const char *tmpl,
			    const struct gw_reply_vars *v, u32 *tag)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	struct gw_reply_buf *r;
	unsigned slot;
	void *obj;
	int n;

	if (cmd->offset < s->cut_from) {
		/* its beginning went out before we could hold it back */
		e->stats.failopen[GW_FO_SPLIT_LINE]++;
		return false;
	}
	if (rte_mempool_get(e->reply_pool, &obj) != 0) {
		e->stats.failopen[GW_FO_NO_MBUF]++;
		return false;
	}
	r = obj;
	slot = (unsigned)__builtin_ctz(~f->replies_used); /* edit_room() saw a free one */
	n = gw_reply_render(tmpl, v, r->text, sizeof(r->text));
	if (n < 0 || !gw_seqmap_add(&f->c2s, GW_EDIT_REMOVE, (uint32_t)cmd->offset,
				    (uint16_t)cmd->len, (uint8_t)slot)) {
		rte_mempool_put(e->reply_pool, obj);
		e->stats.failopen[GW_FO_EDITS_FULL]++;
		return false;
	}
	r->len = (uint16_t)n;
	r->ends_session = 0;
	*tag = slot;
	f->replies[slot] = r;
	f->replies_used |= 1u << slot;
	e->stats.lines_removed++;
	return true;
}

/*
 * Room for one more cut line and its reply. Edits leave the lists as both
 * peers ack past them (engine.c folds them), so a full list only means the
 * client has many cuts in flight at once: its line waits (GW_ACT_DEFER), as
 * TCP would make it wait for a full window, and is judged when it comes again.
 */
static bool edit_room(const struct gw_flow *f)
{
	return f->replies_used != (GW_FLOW_REPLIES >= 32 ? ~0u : (1u << GW_FLOW_REPLIES) - 1) &&
	       f->c2s.n < GW_SEQMAP_MAX && f->s2c.n < GW_SEQMAP_MAX;
}

/*
 * No edit room for this line: it waits (deferred, resent by the client, decided
 * then, so nothing is counted twice), unless its start already went out and it
 * cannot wait either; then it goes on, counted.
 */
static enum gw_smtp_action no_edit_room(struct gw_seg *s, const struct gw_smtp_cmd *cmd)
{
	if (cmd->offset < s->cut_from) {
		s->e->stats.failopen[GW_FO_EDITS_FULL]++;
		return GW_ACT_FORWARD;
	}
	s->e->stats.lines_deferred++;
	return GW_ACT_DEFER;
}

/* Count a verdict; a rejecting one cuts the line and queues its reply (blacklist or tmpl). */
static enum gw_smtp_action act_on_verdict(struct gw_seg *s, const struct gw_smtp_cmd *cmd,
					  const struct gw_decision *d, const char *what,
					  const char *rcpt, const char *sender, const char *tmpl,
					  u32 *tag)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	char client[INET6_ADDRSTRLEN];

	e->stats.verdict[d->verdict]++;
	emit_event(e, f, what, rcpt, d);
	if (gw_verdict_rejects(d->verdict)) {
		struct gw_reply_vars v;

		client_text(f, client, sizeof(client));
		v = (struct gw_reply_vars){rcpt, sender, client, d->remaining};
		if (drop_with_reply(s, cmd,
				    d->verdict == GW_V_BLACKLIST ? e->cfg->reply_blacklist : tmpl,
				    &v, tag)) {
			/* an opportunistic-TLS client goes on in plaintext after it:
			 * see gw_end_session (inject.c) */
			f->replies[*tag]->ends_session =
			    cmd->verb == GW_CMD_STARTTLS && d->verdict == GW_V_GREYLIST;
			log_verdict(e, f, what, rcpt, d, f->replies[*tag]->text);
			return GW_ACT_DROP;
		}
	}
	log_verdict(e, f, what, rcpt, d, NULL);
	return GW_ACT_FORWARD;
}

/*
 * A path as the client wrote it, made fit to key: MTAs take paths greywall's
 * parser does not (it handed over the raw argument then, GW_CMDF_PATH_RAW),
 * and a control byte in one is made '?', so every MAIL and RCPT the server
 * may act on gets a key. Returns the length of the copy in buf, or the path.
 */
/*
 * A byte a key does not take as it is: a control byte, and in a raw argument an
 * '@' too. A raw argument has no domain to us, so what the MTA may read as
 * another address ("postmaster@x<bob@y>") is never exempt or listed, only keyed.
 */
static bool unkeyable(u8 c, bool raw)
{
	return c < 0x20 || c == 0x7f || (raw && c == '@');
}

static const u8 *keyable_path(const struct gw_smtp_cmd *cmd, u8 *buf, u32 *len)
{
	bool raw = cmd->flags & GW_CMDF_PATH_RAW;
	u32 i;

	*len = cmd->path_len;
	for (i = 0; i < cmd->path_len; i++)
		if (unkeyable(cmd->path[i], raw))
			break;
	if (i == cmd->path_len)
		return cmd->path;
	for (i = 0; i < cmd->path_len; i++)
		buf[i] = unkeyable(cmd->path[i], raw) ? '?' : cmd->path[i];
	return buf;
}

/*
 * An RCPT line too long to hold whole (past max_line), judged on its first
 * max_line bytes as the MTA will be: passed, it goes on; rejected, it cannot
 * be cut (its end is not known yet), so it is refused instead: none of it
 * reaches the server and the flow takes nothing more from the client. Its
 * session stalls until the server times it out; the triplet's clock runs, so
 * a real MTA's retry after the delay passes.
 */
static enum gw_smtp_action decide_long_line(struct gw_seg *s, const struct gw_smtp_cmd *cmd,
					    const struct gw_decision *d, const char *what,
					    const char *rcpt)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;

	e->stats.verdict[d->verdict]++;
	emit_event(e, f, what, rcpt, d);
	if (gw_verdict_rejects(d->verdict) && cmd->offset < s->cut_from) {
		/* its beginning went out before we could hold it back */
		e->stats.failopen[GW_FO_SPLIT_LINE]++;
		log_verdict(e, f, what, rcpt, d, NULL);
		return GW_ACT_FORWARD;
	}
	if (!gw_verdict_rejects(d->verdict)) {
		log_verdict(e, f, what, rcpt, d, NULL);
		return GW_ACT_FORWARD;
	}
	f->line_refused = 1;
	e->stats.long_lines_refused++;
	log_verdict(e, f, what, rcpt, d, "(line longer than max_line: refused)");
	return GW_ACT_DEFER;
}

static enum gw_smtp_action decide_rcpt(struct gw_seg *s, const struct gw_smtp_cmd *cmd, u32 *tag)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	struct gw_triplet trip;
	struct gw_decision d;
	char rcpt[GW_ADDR_MAX + 1], sender[GW_ADDR_MAX + 1];
	u8 buf[GW_PATH_MAX];
	const u8 *path;
	u32 path_len;
	bool truncated = cmd->flags & GW_CMDF_TRUNCATED;

	/*
	 * Without a MAIL in force (none yet, or after an RSET or a message) the
	 * RCPT is judged all the same, with the last sender or the null one: the
	 * server may keep a transaction we took for ended (it refuses "RSET x"
	 * and keeps the sender), and a line we read one way must never decide
	 * whether an RCPT is judged at all.
	 */
	if (!truncated && !edit_room(f))
		return no_edit_room(s, cmd);
	path = keyable_path(cmd, buf, &path_len);
	if (gw_decide_rcpt(&e->policy, e->cfg->lists, f->key.family, f->key.client, f->sender,
			   f->sender_len, path, path_len, e->now_wall, &trip, &d) < 0)
		return GW_ACT_FORWARD; /* past GW_PATH_LONG_MAX: no MTA takes that line */
	/* the names as written, cut to what a log line and an event carry */
	cstr(rcpt, path, path_len > GW_ADDR_MAX ? GW_ADDR_MAX : (uint16_t)path_len);
	cstr(sender, f->sender_raw, f->sender_raw_len);
	if (truncated)
		return decide_long_line(s, cmd, &d, "RCPT", rcpt);
	return act_on_verdict(s, cmd, &d, "RCPT", rcpt, sender, e->cfg->reply_greylist, tag);
}

/* The client's network (or pool) and its list hits, for the pseudo-triplet of STARTTLS. */
static void client_network(const struct gw_engine *e, const struct gw_flow *f,
			   struct gw_client_net *net, struct gw_list_hits *hits)
{
	gw_client_lookup(&e->policy, e->cfg->lists, f->key.family, f->key.client, net, hits);
}

static enum gw_smtp_action decide_starttls(struct gw_seg *s, const struct gw_smtp_cmd *cmd,
					   u32 *tag)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	struct gw_client_net net;
	struct gw_list_hits hits;
	struct gw_decision d;
	bool truncated = cmd->flags & GW_CMDF_TRUNCATED;

	if (!truncated && !edit_room(f))
		return no_edit_room(s, cmd);
	client_network(e, f, &net, &hits);
	gw_decide_tls(&e->policy, &net, f->helo, f->helo_len, &hits, e->now_wall, &d);
	/* a STARTTLS padded past max_line: the MTA acts on it, so it is judged */
	if (truncated)
		return decide_long_line(s, cmd, &d, "STARTTLS", "");
	return act_on_verdict(s, cmd, &d, "STARTTLS", "", "", e->cfg->reply_tls, tag);
}

/*
 * A plaintext session from a (network, HELO) whose STARTTLS greywall has just
 * greylisted: refused at its greeting, with the TLS reply, before it sends an
 * envelope in cleartext (gw_tls_pending).
 */
static enum gw_smtp_action refuse_if_tls_pending(struct gw_seg *s, const struct gw_smtp_cmd *cmd,
						 u32 *tag)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	struct gw_client_net net;
	struct gw_list_hits hits;
	struct gw_decision d;

	if (e->cfg->conf.policy.tls_mode != GW_TLS_GREYLIST)
		return GW_ACT_FORWARD;
	client_network(e, f, &net, &hits);
	if (!gw_tls_pending(&e->policy, &net, f->helo, f->helo_len, &hits, e->now_wall, &d))
		return GW_ACT_FORWARD;
	if (!edit_room(f))
		return no_edit_room(s, cmd);
	e->stats.tls_pending_refused++;
	return act_on_verdict(s, cmd, &d, cmd->verb == GW_CMD_EHLO ? "EHLO" : "HELO", "", "",
			      e->cfg->reply_tls, tag);
}

/* The tag of the MAIL whose sender was taken (a forwarded line's tag is free to use). */
#define GW_TAG_TAKEN_MAIL 1u

static enum gw_smtp_action on_command(void *ctx, const struct gw_smtp_cmd *cmd, u32 *tag)
{
	struct gw_seg *s = ctx;
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	int n;

	switch (cmd->verb) {
	case GW_CMD_EHLO:
	case GW_CMD_HELO:
		memcpy(f->helo, cmd->path, cmd->path_len);
		f->helo_len = cmd->path_len;
		if (cmd->status == GW_SMTP_OK) {
			f->have_mail = 0; /* an EHLO the server takes ends the transaction */
			return refuse_if_tls_pending(s, cmd, tag);
		}
		break;
	case GW_CMD_MAIL: {
		u8 buf[GW_PATH_MAX];
		u32 len;
		const u8 *path;

		/*
		 * The sender is the one the server takes. Behind another MAIL
		 * whose answer is still due, a MAIL waits for it; inside a
		 * transaction the server refuses it ("nested MAIL command") and
		 * keeps its sender, and so do we. Otherwise RCPTs after it are
		 * judged with this sender, whatever the server makes of it.
		 */
		if (f->mail_due) {
			if (cmd->offset < s->cut_from)
				break; /* its start went out: the sender in force stays */
			s->e->stats.lines_deferred++;
			return GW_ACT_DEFER;
		}
		if (f->have_mail)
			break;
		/* only this MAIL's answer opens or closes the transaction */
		*tag = GW_TAG_TAKEN_MAIL;
		path = keyable_path(cmd, buf, &len);
		n = gw_normalize_address(path, len, f->sender, &e->cfg->conf.policy.norm, true);
		f->sender_len = (uint16_t)(n < 0 ? 0 : n);
		f->sender_raw_len = (uint16_t)(len > GW_ADDR_MAX ? GW_ADDR_MAX : len);
		memcpy(f->sender_raw, path, f->sender_raw_len);
		f->have_mail = 1;
		f->mail_due = 1;
		break;
	}
	case GW_CMD_RSET:
		if (cmd->status == GW_SMTP_OK) /* "RSET x" is refused: the transaction stays */
			f->have_mail = 0;
		break;
	case GW_CMD_DATA_END:
		f->have_mail = 0;
		break;
	case GW_CMD_BDAT:
		if (cmd->flags & GW_CMDF_BDAT_LAST)
			f->have_mail = 0; /* the last chunk ends the transaction */
		break;
	case GW_CMD_RCPT:
		return decide_rcpt(s, cmd, tag);
	case GW_CMD_STARTTLS:
		if (cmd->status == GW_SMTP_OK)
			return decide_starttls(s, cmd, tag);
		break;
	default:
		break;
	}
	return GW_ACT_FORWARD;
}

static void on_inject(void *ctx, const struct gw_smtp_pending *p, u64 server_offset)
{
	struct gw_seg *s = ctx;
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	const struct gw_reply_buf *r = f->replies[p->tag];
	const struct gw_edit *ins;

	ins = gw_seqmap_add(&f->s2c, GW_EDIT_INSERT, (uint32_t)server_offset, r->len,
			    (uint8_t)p->tag);
	if (!ins)
		return; /* capacity was checked when the line was cut; order cannot go back */
	e->stats.replies_injected++;
	if (s->c2s)
		s->standalone[s->nstandalone++] = (uint32_t)(ins - f->s2c.e);
}

/* The answer to a MAIL says whether a transaction is open, and so which MAIL comes next. */
static void on_reply(void *ctx, const struct gw_smtp_reply *r)
{
	struct gw_seg *s = ctx;
	struct gw_flow *f = s->f;

	if (r->verb != GW_CMD_MAIL || r->tag != GW_TAG_TAKEN_MAIL)
		return; /* a refused nested MAIL changes nothing */
	f->mail_due = 0;
	f->have_mail = r->code >= 200 && r->code < 300;
}

static const struct gw_smtp_callbacks verdict_callbacks = {
    .command = on_command,
    .reply = on_reply,
    .inject = on_inject,
};

void gw_verdict_session_init(struct gw_engine *e, struct gw_flow *f)
{
	/* no context yet: each parse sets its own (gw_verdict_parse) */
	gw_smtp_session_init(&f->smtp, e->cfg->conf.policy.max_line, &verdict_callbacks, NULL);
	f->smtp.end_crlf_only = e->cfg->conf.end_of_data_crlf;
}

/*
 * Feed the new, in-order part of data[0, len) (at stream offset off) to the
 * parser; a gap stops parsing for good. Returns true if the parser deferred a
 * client line: the stream's next offset is then that line's start.
 */
bool gw_verdict_parse(struct gw_seg *s, const uint8_t *data, uint32_t off, uint32_t len,
		      uint32_t held_from)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	uint32_t *next = s->c2s ? &f->c_next : &f->s_next;
	uint32_t skip;
	bool deferred = false;

	if (f->parse_off || len == 0)
		return false;
	if (before(*next, off)) {
		/* TODO(reassembly): hold out-of-order segments instead of giving up */
		f->parse_off = 1;
		e->stats.failopen[GW_FO_OUT_OF_ORDER]++;
		return false;
	}
	if (!before(*next, off + len))
		return false; /* nothing new: a retransmission */
	skip = *next - off;
	/* a line can be cut if none of it went out: it starts in new or held-back bytes */
	s->cut_from = held_from != UINT32_MAX ? held_from : *next;
	f->smtp.ctx = s; /* the callbacks' context for this parse only */
	if (s->c2s) {
		uint32_t took;

		/* a line whose start already went out cannot wait: it is not deferred */
		f->smtp.defer_floor =
		    f->smtp.coff + (int64_t)(int32_t)(s->cut_from - (uint32_t)f->smtp.coff);
		took = gw_smtp_feed_client(&f->smtp, data + skip, len - skip);

		deferred = took < len - skip;
		*next = (uint32_t)f->smtp.coff; /* the deferred line's start, or off + len */
	} else {
		gw_smtp_feed_server(&f->smtp, data + skip, len - skip);
		*next = off + len;
	}
	f->smtp.ctx = NULL;
	if (f->smtp.mode == GW_MODE_DESYNC && !f->desync_counted) {
		f->desync_counted = 1;
		f->parse_off = 1;
		e->stats.failopen[GW_FO_DESYNC]++;
	}
	return deferred;
}
