// SPDX-License-Identifier: BSD-2-Clause
/*
 * The server's stream, from dispatch.c: its headers are kept as the template
 * for our own frames, its replies go to the verdict step (verdict.c), which
 * places each pending injected reply after the reply before it; the segment
 * then goes on to the client with our replies inserted at their points
 * (inject.c) and its seq and ack translated (segment.c).
 */
#include "engine_internal.h"

/* Server -> client: insert pending replies at their points, translate the rest. */
void gw_server_segment(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m, struct gw_pkt *p,
		       struct gw_txq *fwd, struct gw_txq *back)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *payload = frame + p->payload_off;
	uint32_t off = rte_be_to_cpu_32(p->tcp->sent_seq) - f->s_isn - 1;
	uint32_t len = p->payload_len, cur, ack;
	uint8_t flags = p->tcp->tcp_flags;
	bool sack, split = false;
	struct gw_seg seg;
	unsigned k;

	gw_remember_template(f, frame, p);
	gw_seg_begin(&seg, e, f, false, fwd, back);
	gw_verdict_parse(&seg, payload, off, len, UINT32_MAX);
	if ((flags & TCP_ACK) &&
	    before(f->c_acked_new, rte_be_to_cpu_32(p->tcp->recv_ack) - f->c_isn - 1))
		f->c_acked_new = rte_be_to_cpu_32(p->tcp->recv_ack) - f->c_isn - 1;
	sack = gw_translate_ack(e, f, p, false);
	ack = rte_be_to_cpu_32(p->tcp->recv_ack);
	if ((flags & TCP_ACK) && before(f->c_acked, ack - f->c_isn - 1))
		f->c_acked = ack - f->c_isn - 1;
	gw_fold_acked_edits(e, f);
	for (k = 0; k < f->s2c.n; k++) {
		const struct gw_edit *ins = &f->s2c.e[k];

		if (before(off, ins->off) && !before(off + len, ins->off))
			split = true;
	}
	if (!split) {
		gw_set_seq(p, f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, off));
		if (sack)
			gw_csum_full(p);
		gw_txq_push(e, fwd, m);
		return;
	}
	/* data up to each insertion point, then the inserted reply, then the rest */
	cur = off;
	for (k = 0; k < f->s2c.n; k++) {
		const struct gw_edit *ins = &f->s2c.e[k];
		const struct gw_reply_buf *r = f->replies[ins->ref];
		struct gw_pkt out;
		struct rte_mbuf *piece;

		if (!(before(off, ins->off) && !before(off + len, ins->off)))
			continue;
		if (before(cur, ins->off)) {
			piece = gw_build_frame(e, frame, p, payload + (cur - off), ins->off - cur,
					       f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, cur),
					       flags & (uint8_t) ~(TCP_FIN | TCP_PSH), &out);
			if (piece)
				gw_txq_push(e, fwd, piece);
			cur = ins->off;
		}
		gw_push_reply(e, frame, p, (const uint8_t *)r->text, ins->len,
			      f->s_isn + 1 + ins->new_off, ack, fwd);
		f->resend_tsc = e->now_tsc;
		if (r->ends_session && !f->rst)
			gw_end_session(e, f, ins, NULL, NULL, frame, p, NULL, fwd);
	}
	if (before(cur, off + len) || (flags & TCP_FIN)) {
		struct gw_pkt out;
		struct rte_mbuf *piece =
		    gw_build_frame(e, frame, p, payload + (cur - off), off + len - cur,
				   f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, cur), flags, &out);
		if (piece)
			gw_txq_push(e, fwd, piece);
	}
	e->stats.segments_split++;
	rte_pktmbuf_free(m);
}
