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
 * Client -> server bytes payload[0, len) at stream offset off: cut removed
 * lines out, hold a begun line back, translate what remains. m is the frame
 * they came in, or NULL for bytes released from the reorder store, whose
 * header (frame, p) is a copy with the ack translated already.
 */
static void client_bytes(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m, uint8_t *frame,
			 struct gw_pkt *p, const uint8_t *payload, uint32_t off, uint32_t len,
			 struct gw_txq *fwd, struct gw_txq *back)
{
	uint32_t starts[GW_MAX_PIECES], ends[GW_MAX_PIECES];
	uint32_t voff = off, vlen = len, hold;
	const uint8_t *vdata = payload;
	uint8_t flags = m ? p->tcp->tcp_flags : TCP_ACK | TCP_PSH;
	unsigned n, i;
	bool sack = false, in_place, deferred = false;
	bool fresh = !f->parse_off && before(f->c_next, off + len);
	struct gw_seg seg;

	gw_seg_begin(&seg, e, f, true, fwd, back);
	if (f->held_len && len) {
		uint32_t held_end = f->held_off + f->held_len;

		if (!before(off, f->held_off) && !before(held_end, off) &&
		    before(held_end, off + len) &&
		    f->held_len + (off + len - held_end) <= sizeof(e->vbuf)) {
			/*
			 * The rest of the begun line, perhaps after a resend of its
			 * start (the held copy wins there): forward it whole, from the
			 * held part on.
			 */
			uint32_t tail = off + len - held_end;

			memcpy(e->vbuf, f->held, f->held_len);
			memcpy(e->vbuf + f->held_len, payload + (held_end - off), tail);
			vdata = e->vbuf;
			voff = f->held_off;
			vlen = f->held_len + tail;
			f->held_len = 0;
		} else if (!before(off, f->held_off) && !before(held_end, off + len) &&
			   !(flags & (TCP_FIN | TCP_RST)) && !before(f->custody_end, off + len)) {
			/*
			 * The client resends bytes we hold and acked for the server: our
			 * ack was lost or late. Say it again; the line stays held.
			 */
			gw_custody_ack(e, f, back);
			vdata = e->vbuf;
			voff = f->held_off;
			vlen = 0;
			fresh = false;
		} else if (!before(off, f->held_off) && !before(held_end, off + len) &&
			   !(flags & (TCP_FIN | TCP_RST))) {
			/*
			 * The client resends what we hold, never acked (no template or
			 * mbuf for the ack): let the begun line go as it is, counted.
			 */
			memcpy(e->vbuf, f->held, f->held_len);
			vdata = e->vbuf;
			voff = f->held_off;
			vlen = f->held_len;
			f->held_len = 0;
			f->parse_off = 1; /* the line is out: it cannot be cut any more */
			e->stats.failopen[GW_FO_SPLIT_LINE]++;
			fresh = false;
		} else {
			/* anything else (a gap, an overlap): stop holding, send what we hold first
			 */
			struct gw_pkt out;
			struct rte_mbuf *h =
			    gw_build_frame(e, frame, p, f->held, f->held_len,
					   f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, f->held_off),
					   flags & (uint8_t) ~(TCP_FIN | TCP_PSH), &out);

			if (h)
				gw_txq_push(e, fwd, h);
			f->held_len = 0;
			f->parse_off = 1;
			e->stats.failopen[GW_FO_SPLIT_LINE]++;
		}
	} else if (m && len && before(f->c_acked, f->custody_end) && before(f->c_acked, off) &&
		   before(off, f->c_next) && !before(f->c_acked, f->hist_off) &&
		   !before(f->hist_off + f->hist_len, off) &&
		   off - f->c_acked + len <= sizeof(e->vbuf)) {
		/*
		 * A resend that starts past bytes we acked for the server and then
		 * forwarded: the client will never send those again, so if the
		 * server still lacks them they go again from the kept copy, first.
		 */
		uint32_t pre = off - f->c_acked;

		memcpy(e->vbuf, f->hist + (f->c_acked - f->hist_off), pre);
		memcpy(e->vbuf + pre, payload, len);
		hist_overlay(f, f->c_acked, e->vbuf, pre + len);
		vdata = e->vbuf;
		voff = f->c_acked;
		vlen = pre + len;
		e->stats.custody_resent++;
	}
	/*
	 * The client acks into bytes we injected, some time after we sent them:
	 * part of our reply was lost. Checked before this segment is parsed, so a
	 * reply injected just now is not taken for a lost one.
	 */
	if (m && (flags & TCP_ACK) && f->have_s_isn && f->s2c.n && !f->rst) {
		uint32_t ack_off = rte_be_to_cpu_32(p->tcp->recv_ack) - f->s_isn - 1;
		const struct gw_edit *ins = gw_seqmap_insert_at(&f->s2c, ack_off);

		if (ins && e->now_tsc - f->resend_tsc > e->tsc_hz / 5) {
			f->resend_tsc = e->now_tsc;
			gw_send_injected(e, f, ins, ack_off - ins->new_off,
					 gw_injected_ack_off(f, ins), back);
			e->stats.replies_resent++;
		}
	}
	if (m && !f->parse_off && before(off, f->c_next) &&
	    !(f->held_len && !before(off, f->held_off))) {
		/* resent bytes the server may still lack, sent before what is kept: unchecked */
		uint32_t from = before(off, f->c_acked) ? f->c_acked : off;
		uint32_t kept = f->hist_len ? f->hist_off : f->c_next;

		if (before(from, kept) && before(from, off + len))
			e->stats.failopen[GW_FO_RESEND_UNKEPT]++;
	}
	if (m && f->hist_len && before(off, f->c_next) && vdata == payload &&
	    len <= sizeof(e->vbuf)) {
		/* a resend of bytes forwarded before: the server gets the first copy again */
		memcpy(e->vbuf, payload, len);
		if (hist_overlay(f, off, e->vbuf, len)) {
			vdata = e->vbuf;
			e->stats.overlaps_rewritten++;
		}
	}
	if (fresh && f->ooo.n) {
		/* bytes stored out of order were here first: they win where they meet */
		if (vdata == payload && len <= sizeof(e->vbuf)) {
			memcpy(e->vbuf, payload, len);
			vdata = e->vbuf;
		}
		if (vdata == e->vbuf)
			gw_ooo_overlay(&f->ooo, voff, e->vbuf, vlen);
	}
	if (vdata == payload || fresh)
		deferred =
		    gw_verdict_parse(&seg, vdata, voff, vlen, voff != off ? voff : UINT32_MAX);
	if (deferred) {
		/*
		 * A line that must wait for edit room: nothing from its start on goes
		 * out or is kept, so the server has not acked it and the client sends
		 * it again (with any FIN after it), to be judged then.
		 */
		f->refusing = 1;
		vlen = f->c_next - voff;
		flags &= (uint8_t)~TCP_FIN;
	} else if (fresh) {
		f->refusing = 0;
	}
	hold = fresh && !deferred ? hold_point(f, flags) : UINT32_MAX;
	if (hold != UINT32_MAX && before(hold, voff))
		hold = UINT32_MAX; /* the line began in bytes that went out already */
	if (hold != UINT32_MAX && before(hold, voff + vlen)) {
		/* keep the begun line back; forward what precedes it */
		f->held_off = hold;
		f->held_len = (uint16_t)(voff + vlen - hold);
		memmove(f->held, vdata + (hold - voff), f->held_len);
		vlen = hold - voff;
		/*
		 * Take custody: ack the begun line for the server, so the client
		 * sends the rest now (Nagle waits for that ack) instead of waiting
		 * for its retransmission timer; from here its delivery is ours.
		 */
		gw_custody_ack(e, f, back);
	}

	if (fresh)
		hist_append(f, voff, vdata, vlen);

	/* Replies to lines dropped with nothing outstanding go out at once. */
	for (i = 0; i < seg.nstandalone; i++) {
		const struct gw_edit *ins = &f->s2c.e[seg.standalone[i]];

		gw_send_injected(e, f, ins, 0, gw_injected_ack_off(f, ins), back);
		f->resend_tsc = e->now_tsc;
	}

	if (m)
		sack = gw_translate_ack(e, f, p, true);
	n = vlen ? gw_seqmap_keep(&f->c2s, voff, voff + vlen, starts, ends, GW_MAX_PIECES) : 1;
	/* the segment as it came, none of it removed or held: translate in place */
	in_place = m && vdata == payload && vlen == len &&
		   (len == 0 || (n == 1 && starts[0] == off && ends[0] == off + len));
	if (in_place) {
		/* a bare ack while a line is held: the server has nothing past the held part */
		gw_set_seq(p,
			   f->c_isn + 1 +
			       gw_seqmap_fwd(&f->c2s, len == 0 && f->held_len ? f->held_off : off));
		if (sack)
			gw_csum_full(p);
		gw_txq_push(e, fwd, m);
		return;
	}
	if (vlen == 0 || n == 0) {
		/*
		 * Nothing to forward: all held, or every byte removed. A removed line
		 * seen for the first time has its reply on the way already; a
		 * retransmitted greylisted line is dropped again and the reply it got
		 * is resent from the same stored bytes. The segment's ack still goes.
		 */
		unsigned r;

		if (vlen && !fresh && !f->rst) {
			e->stats.retransmit_dropped++;
			for (r = 0; r < f->c2s.n && e->now_tsc - f->resend_tsc > e->tsc_hz / 5;
			     r++) {
				const struct gw_edit *rm = &f->c2s.e[r];
				const struct gw_edit *ins = gw_insert_for_ref(f, rm->ref);

				if (ins && !before(rm->off, voff) && before(rm->off, voff + vlen)) {
					gw_send_injected(e, f, ins, 0, gw_injected_ack_off(f, ins),
							 back);
					e->stats.replies_resent++;
				}
			}
		}
		if (vlen)
			f->resend_tsc = e->now_tsc;
		if ((flags & (TCP_FIN | TCP_RST)) || (!vlen && (flags & TCP_ACK))) {
			struct gw_pkt out;
			struct rte_mbuf *h =
			    gw_build_frame(e, frame, p, NULL, 0,
					   f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, voff + vlen),
					   flags & (uint8_t)~TCP_PSH, &out);

			if (h) {
				if (sack)
					gw_csum_full(&out);
				gw_txq_push(e, fwd, h);
			}
		}
		if (m)
			rte_pktmbuf_free(m);
		return;
	}
	for (i = 0; i < n; i++) {
		/*
		 * A held line joined to the rest can be longer than one frame may
		 * be: the bytes go in frames of at most the MTU, flags on the last.
		 */
		uint32_t room = e->cfg->mtu - (p->payload_off - p->l3_off), at = starts[i];

		if (room < 8 || room > e->cfg->mtu)
			room = ends[i] - starts[i];
		while (before(at, ends[i])) {
			uint32_t chunk = ends[i] - at < room ? ends[i] - at : room;
			struct gw_pkt out;
			uint8_t fl = flags;
			struct rte_mbuf *piece;

			if (i + 1 < n || at + chunk != ends[i])
				fl &= (uint8_t) ~(TCP_FIN | TCP_PSH);
			piece = gw_build_frame(e, frame, p, vdata + (at - voff), (uint16_t)chunk,
					       f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, at), fl, &out);
			if (piece)
				gw_txq_push(e, fwd, piece);
			at += chunk;
		}
	}
	if (n > 1)
		e->stats.segments_split++;
	if (m)
		rte_pktmbuf_free(m);
}

/*
 * A client segment. One that comes after a gap is held in the reorder store
 * (only its ack goes on) until the gap fills; then the stored bytes follow
 * the filling segment in order, as if they had just arrived. A store that is
 * full fails open: parsing stops for the flow, counted, as before.
 */
void gw_client_segment(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m, struct gw_pkt *p,
		       struct gw_txq *fwd, struct gw_txq *back)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *), hdr[GW_TMPL_MAX];
	uint32_t off = rte_be_to_cpu_32(p->tcp->sent_seq) - f->c_isn - 1, len = p->payload_len, n;
	uint8_t flags = p->tcp->tcp_flags;
	struct gw_pkt hp;

	if ((flags & TCP_ACK) && f->have_s_isn) {
		uint32_t acked = rte_be_to_cpu_32(p->tcp->recv_ack) - f->s_isn - 1;

		if (before(f->s_acked, acked))
			f->s_acked = acked;
	}
	gw_fold_acked_edits(e, f);
	if (!f->parse_off && len && before(f->c_next, off) && !(flags & TCP_RST) &&
	    p->payload_off <= GW_TMPL_MAX) {
		/*
		 * Bytes past a gap are stored until it fills. Past a deferred line, or
		 * when the store has no room (its ranges per flow are the sender's to
		 * spend), they are refused instead, as a receiver with no buffer would:
		 * not acked, so the client resends them once the gap is filled.
		 */
		{
			struct gw_pkt out;
			struct rte_mbuf *h;
			bool sack = gw_translate_ack(e, f, p, true);
			uint32_t upto = f->held_len ? f->held_off : f->c_next;

			if (f->refusing)
				e->stats.segments_refused++;
			else if (gw_ooo_store(&f->ooo, e->ooo_pool, off, frame + p->payload_off,
					      len) == 0)
				e->stats.reordered++;
			else
				e->stats.segments_refused++;
			/* the server has nothing past the gap: the ack goes alone */
			h = gw_build_frame(e, frame, p, NULL, 0,
					   f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, upto), TCP_ACK,
					   &out);
			if (h) {
				if (sack)
					gw_csum_full(&out);
				gw_txq_push(e, fwd, h);
			}
			rte_pktmbuf_free(m);
			return;
		}
	}
	if (f->ooo.n && p->payload_off <= GW_TMPL_MAX) {
		/* a header to carry what the store releases, its ack as this segment's */
		memcpy(hdr, frame, p->payload_off);
		hp = *p;
		hp.ip = hdr + p->l3_off;
		hp.tcp = (struct rte_tcp_hdr *)(hdr + p->l4_off);
		gw_translate_ack(e, f, &hp, true);
	}
	client_bytes(e, f, m, frame, p, frame + p->payload_off, off, len, fwd, back);
	while (f->ooo.n && !f->parse_off &&
	       (n = gw_ooo_take(&f->ooo, e->ooo_pool, f->c_next, e->obuf, sizeof(e->obuf))))
		client_bytes(e, f, NULL, hdr, &hp, e->obuf, f->c_next, n, fwd, back);
}
