// SPDX-License-Identifier: BSD-2-Clause
/*
 * The client's stream, from dispatch.c: a segment past a gap is stored until
 * the gap fills; bytes in order go to the verdict step (verdict.c), which may
 * cut lines; a command line only begun is held back and taken into custody;
 * a resend gets the first copy. What is kept goes on to the server in frames
 * rebuilt by segment.c, and replies to cut lines go back (inject.c).
 */
#include <string.h>

#include "engine_internal.h"

#define GW_MAX_PIECES 8

/*
 * Where the client's stream stops being forwardable: the start of a command
 * line it has only begun, which is held back (see struct gw_flow), or
 * UINT32_MAX. Nothing is held in data mode, after a gap, for an overlong
 * line or with FIN.
 */
static uint32_t hold_point(const struct gw_flow *f, uint8_t flags)
{
	const struct gw_smtp_session *s = &f->smtp;

	if (f->parse_off || (flags & (TCP_FIN | TCP_RST)) || s->mode != GW_MODE_COMMAND ||
	    !s->cline_len || s->cline_overlong || s->cline_len > GW_SMTP_LINE_HARD)
		return UINT32_MAX;
	return (uint32_t)s->cline_start;
}

/*
 * Resent bytes the client forwarded before: the first copy wins. Writes the
 * kept copy over data[0, len) at off where they overlap; true if any differed.
 */
static bool hist_overlay(const struct gw_flow *f, uint32_t off, uint8_t *data, uint32_t len)
{
	uint32_t hend = f->hist_off + f->hist_len, from, to;
	bool differed;

	from = before(off, f->hist_off) ? f->hist_off : off;
	to = before(off + len, hend) ? off + len : hend;
	if (!f->hist_len || !before(from, to))
		return false;
	differed = memcmp(data + (from - off), f->hist + (from - f->hist_off), to - from) != 0;
	memcpy(data + (from - off), f->hist + (from - f->hist_off), to - from);
	return differed;
}

/*
 * Keep the client bytes just forwarded, dropping what the server has acked or
 * what overflows. Message bodies too: a resend that moved the end-of-data
 * line would let the server read commands greywall never parsed.
 */
static void hist_append(struct gw_flow *f, uint32_t off, const uint8_t *data, uint32_t len)
{
	uint32_t hend = f->hist_off + f->hist_len, drop;

	if (!f->hist_len || before(hend, off)) {
		/* nothing kept, or a hole: start over here */
		f->hist_off = hend = off;
		f->hist_len = 0;
	}
	if (!before(hend, off + len))
		return; /* nothing new */
	/* what lies past the kept bytes, at most its last GW_FLOW_HIST */
	len -= hend - off;
	data += hend - off;
	off = hend;
	if (len > GW_FLOW_HIST) {
		data += len - GW_FLOW_HIST;
		off += len - GW_FLOW_HIST;
		len = GW_FLOW_HIST;
	}
	/* make room, and forget what the server has acked */
	drop = f->hist_len + len > GW_FLOW_HIST ? f->hist_len + len - GW_FLOW_HIST : 0;
	if (before(f->hist_off + drop, f->c_acked))
		drop = f->c_acked - f->hist_off;
	if (drop > f->hist_len)
		drop = f->hist_len;
	memmove(f->hist, f->hist + drop, f->hist_len - drop);
	f->hist_len = (uint16_t)(f->hist_len - drop);
	f->hist_off = f->hist_len ? f->hist_off + drop : off;
	memcpy(f->hist + f->hist_len, data, len);
	f->hist_len = (uint16_t)(f->hist_len + len);
}

/*
 * Client bytes on their way through client_bytes(): as they came, and what
 * goes on of them.
 */
struct client_view {
	struct rte_mbuf *m; /* the frame they came in, or NULL: released from the reorder store */
	uint8_t *frame;	    /* its headers; for m NULL, a copy with the ack translated already */
	struct gw_pkt *p;
	const uint8_t *payload; /* the bytes as they came, at stream offset off */
	uint32_t off, len;
	const uint8_t *data; /* what goes on: payload, or a rewritten copy in e->vbuf */
	uint32_t voff, vlen; /* its stream offset and length */
	uint8_t flags;	     /* for the frames that carry it on */
	bool fresh;	     /* bytes past what was parsed: parsed, kept, perhaps held */
	bool deferred;	     /* the parser deferred a line: nothing from its start on goes */
};

/*
 * The rest of the begun line, perhaps after a resend of its start (the held
 * copy wins there): forward it whole, from the held part on.
 */
static void join_held_line(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	uint32_t held_end = f->held_off + f->held_len;
	uint32_t tail = v->off + v->len - held_end;

	memcpy(e->vbuf, f->held, f->held_len);
	memcpy(e->vbuf + f->held_len, v->payload + (held_end - v->off), tail);
	v->data = e->vbuf;
	v->voff = f->held_off;
	v->vlen = f->held_len + tail;
	f->held_len = 0;
}

/*
 * The client resends bytes we hold and acked for the server: our ack was lost
 * or late. Say it again; the line stays held.
 */
static void repeat_custody_ack(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;

	gw_custody_ack(e, f, s->back);
	v->data = e->vbuf;
	v->voff = f->held_off;
	v->vlen = 0;
	v->fresh = false;
}

/*
 * The client resends what we hold, never acked (no template or mbuf for the
 * ack): let the begun line go as it is, counted.
 */
static void let_held_line_go(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;

	memcpy(e->vbuf, f->held, f->held_len);
	v->data = e->vbuf;
	v->voff = f->held_off;
	v->vlen = f->held_len;
	f->held_len = 0;
	f->parse_off = 1; /* the line is out: it cannot be cut any more */
	e->stats.failopen[GW_FO_SPLIT_LINE]++;
	v->fresh = false;
}

/* Anything else (a gap, an overlap): stop holding, send what we hold first. */
static void flush_held_line(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	struct gw_pkt out;
	struct rte_mbuf *h = gw_build_frame(e, v->frame, v->p, f->held, f->held_len,
					    f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, f->held_off),
					    v->flags & (uint8_t) ~(TCP_FIN | TCP_PSH), &out);

	if (h)
		gw_txq_push(e, s->fwd, h);
	f->held_len = 0;
	f->parse_off = 1;
	e->stats.failopen[GW_FO_SPLIT_LINE]++;
}

/*
 * A line too long to hold was refused (verdict.c): nothing of it or after it
 * is taken. A resend of the part we acked gets that ack again; only the
 * segment's ack goes on to the server.
 */
static void refuse_after_long_line(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;

	if (f->held_len && !before(v->off, f->held_off) &&
	    !before(f->held_off + f->held_len, v->off + v->len))
		gw_custody_ack(e, f, s->back);
	e->stats.segments_refused++;
	v->data = e->vbuf;
	v->voff = f->held_len ? f->held_off : f->c_next;
	v->vlen = 0;
	v->fresh = false;
}

/* Bytes come while a begun line is held: what they are decides what becomes of it. */
static void meet_held_line(struct gw_seg *s, struct client_view *v)
{
	struct gw_flow *f = s->f;
	uint32_t held_end = f->held_off + f->held_len, end = v->off + v->len;
	bool within = !before(v->off, f->held_off) && !before(held_end, end);
	bool closing = v->flags & (TCP_FIN | TCP_RST);

	/*
	 * Bytes from before the held line (a resend, straddling it or not), or a
	 * FIN or RST that would end the stream inside it: no TCP sends them once
	 * we acked the held bytes, and taken they would end the holding with the
	 * line not judged. Dropped; the custody ack goes again, which is all a
	 * client that missed it needs.
	 */
	if (before(v->off, f->held_off) || (closing && before(end, held_end))) {
		s->e->stats.segments_dropped++;
		repeat_custody_ack(s, v);
		return;
	}
	if (!before(v->off, f->held_off) && !before(held_end, v->off) && before(held_end, end) &&
	    f->held_len + (end - held_end) <= sizeof(s->e->vbuf))
		join_held_line(s, v);
	else if (within && !closing && !before(f->custody_end, end))
		repeat_custody_ack(s, v);
	else if (within && !closing)
		let_held_line_go(s, v);
	else
		flush_held_line(s, v);
}

/*
 * A resend that starts past bytes we acked for the server and then forwarded,
 * and the kept copy still has them (and they fit the scratch buffer).
 */
static bool resend_past_custody(const struct gw_seg *s, const struct client_view *v)
{
	const struct gw_flow *f = s->f;

	return v->m && v->len && before(f->c_acked, f->custody_end) && before(f->c_acked, v->off) &&
	       before(v->off, f->c_next) && !before(f->c_acked, f->hist_off) &&
	       !before(f->hist_off + f->hist_len, v->off) &&
	       v->off - f->c_acked + v->len <= sizeof(s->e->vbuf);
}

/*
 * The client will never send those acked bytes again, so if the server still
 * lacks them they go again from the kept copy, first.
 */
static void resend_from_custody(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	uint32_t pre = v->off - f->c_acked;

	memcpy(e->vbuf, f->hist + (f->c_acked - f->hist_off), pre);
	memcpy(e->vbuf + pre, v->payload, v->len);
	hist_overlay(f, f->c_acked, e->vbuf, pre + v->len);
	v->data = e->vbuf;
	v->voff = f->c_acked;
	v->vlen = pre + v->len;
	e->stats.custody_resent++;
}

/* Resent bytes the server may still lack, sent before what is kept: they go unchecked, counted. */
static void count_unkept_resend(struct gw_seg *s, const struct client_view *v)
{
	struct gw_flow *f = s->f;
	uint32_t from, kept;

	if (!v->m || f->parse_off || !before(v->off, f->c_next) ||
	    (f->held_len && !before(v->off, f->held_off)))
		return;
	from = before(v->off, f->c_acked) ? f->c_acked : v->off;
	kept = f->hist_len ? f->hist_off : f->c_next;
	if (before(from, kept) && before(from, v->off + v->len))
		s->e->stats.failopen[GW_FO_RESEND_UNKEPT]++;
}

/* A resend of bytes forwarded before: the server gets the first copy again. */
static void overlay_first_copy(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;

	if (!v->m || !f->hist_len || !before(v->off, f->c_next) || v->data != v->payload ||
	    v->len > sizeof(e->vbuf))
		return;
	memcpy(e->vbuf, v->payload, v->len);
	if (hist_overlay(f, v->off, e->vbuf, v->len)) {
		v->data = e->vbuf;
		e->stats.overlaps_rewritten++;
	}
}

/* Bytes stored out of order were here first: they win where they meet. */
static void overlay_stored(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;

	if (!v->fresh || !f->ooo.n)
		return;
	if (v->data == v->payload && v->len <= sizeof(e->vbuf)) {
		memcpy(e->vbuf, v->payload, v->len);
		v->data = e->vbuf;
	}
	if (v->data == e->vbuf)
		gw_ooo_overlay(&f->ooo, v->voff, e->vbuf, v->vlen);
}

/*
 * The verdict step, on the bytes as they now stand. Lines begun in bytes
 * joined from the held part (voff before off) can still be cut.
 */
static void parse_new_bytes(struct gw_seg *s, struct client_view *v)
{
	struct gw_flow *f = s->f;

	if (v->data == v->payload || v->fresh)
		v->deferred = gw_verdict_parse(s, v->data, v->voff, v->vlen,
					       v->voff != v->off ? v->voff : UINT32_MAX);
	if (v->deferred) {
		/*
		 * A line that must wait for edit room: nothing from its start on goes
		 * out, so the server has not acked it and the client sends it again
		 * (with any FIN after it), to be judged then. Its bytes we acked for
		 * the server (custody) the client will not send again: they stay held.
		 */
		uint32_t at = f->c_next;

		f->refusing = 1;
		v->flags &= (uint8_t)~TCP_FIN;
		if (before(at, f->custody_end)) {
			uint32_t end = before(f->custody_end, v->voff + v->vlen)
					   ? f->custody_end
					   : v->voff + v->vlen;

			f->held_off = at;
			f->held_len = (uint16_t)(end - at);
			memmove(f->held, v->data + (at - v->voff), f->held_len);
		}
		v->vlen = at - v->voff;
	} else if (v->fresh) {
		f->refusing = 0;
	}
}

/* A command line the new bytes only begin is held back; what precedes it goes on. */
static void hold_begun_line(struct gw_seg *s, struct client_view *v)
{
	struct gw_flow *f = s->f;
	uint32_t hold = v->fresh && !v->deferred ? hold_point(f, v->flags) : UINT32_MAX;

	if (hold != UINT32_MAX && before(hold, v->voff))
		hold = UINT32_MAX; /* the line began in bytes that went out already */
	if (hold == UINT32_MAX || !before(hold, v->voff + v->vlen))
		return;
	/* keep the begun line back; forward what precedes it */
	f->held_off = hold;
	f->held_len = (uint16_t)(v->voff + v->vlen - hold);
	memmove(f->held, v->data + (hold - v->voff), f->held_len);
	v->vlen = hold - v->voff;
	/*
	 * Take custody: ack the begun line for the server, so the client
	 * sends the rest now (Nagle waits for that ack) instead of waiting
	 * for its retransmission timer; from here its delivery is ours.
	 */
	gw_custody_ack(s->e, f, s->back);
}

/*
 * Nothing to forward: all held, or every byte removed. A removed line seen for
 * the first time has its reply on the way already; a retransmitted greylisted
 * line is dropped again and the reply it got is resent from the same stored
 * bytes. The segment's ack still goes.
 */
static void forward_ack_only(struct gw_seg *s, struct client_view *v, bool sack)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;

	if (v->vlen && !v->fresh && !f->rst) {
		e->stats.retransmit_dropped++;
		gw_resend_cut_replies(s, v->voff, v->vlen);
	}
	if (v->vlen)
		f->resend_tsc = e->now_tsc;
	if ((v->flags & (TCP_FIN | TCP_RST)) || (!v->vlen && (v->flags & TCP_ACK))) {
		struct gw_pkt out;
		struct rte_mbuf *h =
		    gw_build_frame(e, v->frame, v->p, NULL, 0,
				   f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, v->voff + v->vlen),
				   v->flags & (uint8_t)~TCP_PSH, &out);

		if (h) {
			if (sack)
				gw_csum_full(&out);
			gw_txq_push(e, s->fwd, h);
		}
	}
	if (v->m)
		rte_pktmbuf_free(v->m);
}

/*
 * What survives of the bytes (the pieces between cut lines) goes on to the
 * server: the frame as it came when nothing was cut, held or rewritten, only
 * its seq and ack translated; else new frames, of at most the MTU each.
 */
static void forward_kept_pieces(struct gw_seg *s, struct client_view *v)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	uint32_t starts[GW_MAX_PIECES], ends[GW_MAX_PIECES], room;
	bool sack = false, in_place;
	unsigned n, i;

	if (v->m)
		sack = gw_translate_ack(e, f, v->p, true);
	n = v->vlen
		? gw_seqmap_keep(&f->c2s, v->voff, v->voff + v->vlen, starts, ends, GW_MAX_PIECES)
		: 1;
	/* the segment as it came, none of it removed or held: translate in place */
	in_place = v->m && v->data == v->payload && v->vlen == v->len &&
		   (v->len == 0 || (n == 1 && starts[0] == v->off && ends[0] == v->off + v->len));
	if (in_place) {
		/* a bare ack while a line is held: the server has nothing past the held part */
		uint32_t at = v->len == 0 && f->held_len ? f->held_off : v->off;

		gw_set_seq(v->p, f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, at));
		if (sack)
			gw_csum_full(v->p);
		gw_txq_push(e, s->fwd, v->m);
		return;
	}
	if (v->vlen == 0 || n == 0) {
		forward_ack_only(s, v, sack);
		return;
	}
	/*
	 * A held line joined to the rest can be longer than one frame may be:
	 * the bytes go in frames of at most the MTU, flags on the last.
	 */
	room = gw_frame_room(e, v->p);
	for (i = 0; i < n; i++) {
		uint32_t at = starts[i];

		while (before(at, ends[i])) {
			uint32_t chunk = ends[i] - at < room ? ends[i] - at : room;
			struct gw_pkt out;
			uint8_t fl = v->flags;
			struct rte_mbuf *piece;

			if (i + 1 < n || at + chunk != ends[i])
				fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
			piece = gw_build_frame(e, v->frame, v->p, v->data + (at - v->voff),
					       (uint16_t)chunk,
					       f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, at), fl, &out);
			if (piece)
				gw_txq_push(e, s->fwd, piece);
			at += chunk;
		}
	}
	if (n > 1)
		e->stats.segments_split++;
	if (v->m)
		rte_pktmbuf_free(v->m);
}

/*
 * Client -> server bytes payload[0, len) at stream offset off: cut removed
 * lines out, hold a begun line back, translate what remains. m is the frame
 * they came in, or NULL for bytes released from the reorder store, whose
 * header (frame, p) is a copy with the ack translated already. The steps go
 * in this order; each may rewrite what goes on (v.data, v.voff, v.vlen).
 */
static void client_bytes(struct gw_seg *s, struct rte_mbuf *m, uint8_t *frame, struct gw_pkt *p,
			 const uint8_t *payload, uint32_t off, uint32_t len)
{
	struct gw_flow *f = s->f;
	struct client_view v = {
	    .m = m,
	    .frame = frame,
	    .p = p,
	    .payload = payload,
	    .off = off,
	    .len = len,
	    .data = payload,
	    .voff = off,
	    .vlen = len,
	    .flags = m ? p->tcp->tcp_flags : TCP_ACK | TCP_PSH,
	    .fresh = !f->parse_off && before(f->c_next, off + len),
	};

	s->nstandalone = 0; /* this range's own replies */
	if (f->line_refused && len)
		refuse_after_long_line(s, &v);
	else if (f->held_len && len)
		meet_held_line(s, &v);
	else if (resend_past_custody(s, &v))
		resend_from_custody(s, &v);
	/*
	 * Checked before these bytes are parsed, so a reply injected just now is
	 * not taken for a lost one.
	 */
	if (m)
		gw_resend_lost_reply(s, p);
	count_unkept_resend(s, &v);
	overlay_first_copy(s, &v);
	overlay_stored(s, &v);
	parse_new_bytes(s, &v);
	hold_begun_line(s, &v);
	if (v.fresh)
		hist_append(f, v.voff, v.data, v.vlen);
	/* Replies to lines dropped with nothing outstanding go out at once. */
	gw_send_standalone(s, frame, p);
	forward_kept_pieces(s, &v);
}

/*
 * Bytes past a gap are stored until it fills. Past a deferred line, or when
 * the store has no room (its ranges per flow are the sender's to spend), they
 * are refused instead, as a receiver with no buffer would: not acked, so the
 * client resends them once the gap is filled.
 */
static void store_past_gap(struct gw_seg *s, struct rte_mbuf *m, struct gw_pkt *p, uint32_t off,
			   uint32_t len)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct gw_pkt out;
	struct rte_mbuf *h;
	bool sack = gw_translate_ack(e, f, p, true);
	uint32_t upto = f->held_len ? f->held_off : f->c_next;

	if (f->refusing)
		e->stats.segments_refused++;
	else if (gw_ooo_store(&f->ooo, e->ooo_pool, off, frame + p->payload_off, len) == 0)
		e->stats.reordered++;
	else
		e->stats.segments_refused++;
	/* the server has nothing past the gap: the ack goes alone */
	h = gw_build_frame(e, frame, p, NULL, 0, f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, upto),
			   TCP_ACK, &out);
	if (h) {
		if (sack)
			gw_csum_full(&out);
		gw_txq_push(e, s->fwd, h);
	}
	rte_pktmbuf_free(m);
}

/*
 * A client segment. One that comes after a gap is held in the reorder store
 * (only its ack goes on) until the gap fills; then the stored bytes follow
 * the filling segment in order, as if they had just arrived. One the store
 * has no room for is refused (store_past_gap).
 */
void gw_client_segment(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m, struct gw_pkt *p,
		       struct gw_txq *fwd, struct gw_txq *back)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *), hdr[GW_TMPL_MAX];
	uint32_t off = rte_be_to_cpu_32(p->tcp->sent_seq) - f->c_isn - 1, len = p->payload_len, n;
	uint8_t flags = p->tcp->tcp_flags;
	struct gw_pkt hp;
	struct gw_seg s;

	gw_seg_begin(&s, e, f, true, fwd, back);
	if ((flags & TCP_ACK) && f->have_s_isn) {
		uint32_t acked = rte_be_to_cpu_32(p->tcp->recv_ack) - f->s_isn - 1;

		f->c_handshake_done = 1;

		if (before(f->s_acked, acked))
			f->s_acked = acked;
	}
	gw_fold_acked_edits(e, f);
	if (!f->parse_off && len && before(f->c_next, off) && !(flags & TCP_RST) &&
	    p->payload_off <= GW_TMPL_MAX) {
		store_past_gap(&s, m, p, off, len);
		return;
	}
	if (f->ooo.n && p->payload_off <= GW_TMPL_MAX) {
		/* a header to carry what the store releases, its ack as this segment's */
		memcpy(hdr, frame, p->payload_off);
		hp = *p;
		hp.ip = hdr + p->l3_off;
		hp.tcp = (struct rte_tcp_hdr *)(hdr + p->l4_off);
		gw_translate_ack(e, f, &hp, true);
	}
	client_bytes(&s, m, frame, p, frame + p->payload_off, off, len);
	while (f->ooo.n && !f->parse_off &&
	       (n = gw_ooo_take(&f->ooo, e->ooo_pool, f->c_next, e->obuf, sizeof(e->obuf))))
		client_bytes(&s, NULL, hdr, &hp, e->obuf, f->c_next, n);
}
