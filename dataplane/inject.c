// SPDX-License-Identifier: BSD-2-Clause
/*
 * Our replies toward the client: the server's headers kept as the template
 * they are built on, a reply inserted into the server's stream or sent on its
 * own, sent again when the client shows it lost part of one, and the ack we
 * give for client bytes we took into custody. The frames themselves are built
 * by segment.c.
 */
#include <string.h>

#include "engine_internal.h"

void gw_remember_template(struct gw_flow *f, const uint8_t *frame, const struct gw_pkt *p)
{
	if (p->payload_off > GW_TMPL_MAX)
		return;
	memcpy(f->tmpl, frame, p->payload_off);
	f->tmpl_len = p->payload_off;
	/* the template must parse on its own: its IP length says "no payload" */
	if (p->family == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f->tmpl + p->l3_off);

		ip->total_length = rte_cpu_to_be_16((uint16_t)(p->payload_off - p->l3_off));
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(f->tmpl + p->l3_off);

		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(p->payload_off - p->l3_off - 40));
	}
}

/*
 * What an injected reply may acknowledge: never more than the server has
 * (translated), plus the removed line the reply answers, which we consumed.
 */
uint32_t gw_injected_ack_off(const struct gw_flow *f, const struct gw_edit *ins)
{
	uint32_t ack = f->c_acked;
	unsigned r;

	for (r = 0; r < f->c2s.n; r++) {
		const struct gw_edit *rm = &f->c2s.e[r];

		if (rm->ref == ins->ref && before(ack, rm->off + rm->len))
			ack = rm->off + rm->len;
	}
	return ack;
}

/* The insertion carrying the reply for the line removed under ref, once it exists. */
const struct gw_edit *gw_insert_for_ref(const struct gw_flow *f, uint8_t ref)
{
	unsigned k;

	for (k = 0; k < f->s2c.n; k++)
		if (f->s2c.e[k].ref == ref)
			return &f->s2c.e[k];
	return NULL;
}

/*
 * Our reply text[0, len) at seq, acking ack, toward the client: in one
 * segment, or in as many as the MTU needs (PSH on the last one only).
 */
void gw_push_reply(struct gw_engine *e, const uint8_t *hdr, const struct gw_pkt *hp,
		   const uint8_t *text, uint32_t len, uint32_t seq, uint32_t ack, struct gw_txq *q)
{
	uint32_t room = gw_frame_room(e, hp), done = 0;

	if (len > room)
		e->stats.segments_split++;
	while (done < len) {
		uint32_t n = len - done < room ? len - done : room;
		struct gw_pkt out;
		struct rte_mbuf *m =
		    gw_build_frame(e, hdr, hp, text + done, (uint16_t)n, seq + done,
				   done + n == len ? TCP_ACK | TCP_PSH : TCP_ACK, &out);

		if (!m)
			return;
		out.tcp->recv_ack = rte_cpu_to_be_32(ack);
		gw_csum_full(&out);
		gw_txq_push(e, q, m);
		done += n;
	}
}

/* Send injected bytes [from, len) of a reply toward the client, from the server's template. */
void gw_send_injected(struct gw_engine *e, struct gw_flow *f, const struct gw_edit *ins,
		      uint32_t from, uint32_t client_ack_off, struct gw_txq *back)
{
	const struct gw_reply_buf *r = f->replies[ins->ref];
	struct gw_pkt tp;

	if (f->tmpl_len == 0 || from >= ins->len)
		return;
	if (gw_parse_frame(f->tmpl, f->tmpl_len, &tp) != GW_PKT_TCP)
		return;
	gw_push_reply(e, f->tmpl, &tp, (const uint8_t *)r->text + from, ins->len - from,
		      f->s_isn + 1 + ins->new_off + from, f->c_isn + 1 + client_ack_off, back);
}

/*
 * After our 421 to STARTTLS the session must end at once: an opportunistic-
 * TLS client that reads it goes on in plaintext on the same connection
 * (Postfix does), and its envelope would cross the wire in the clear. A reset
 * right behind the 421 makes its next write fail instead. The server never
 * saw the STARTTLS; it is reset too when the client's frame is at hand to
 * carry it (hdr, hp: the 421 went out with a client segment), else it times
 * the session out.
 */
void gw_end_session(struct gw_engine *e, struct gw_flow *f, const struct gw_edit *ins,
		    const uint8_t *hdr, const struct gw_pkt *hp, const uint8_t *stmpl,
		    const struct gw_pkt *sp, struct gw_txq *fwd, struct gw_txq *back)
{
	struct gw_pkt out;
	struct rte_mbuf *m;

	m = gw_build_frame(e, stmpl, sp, NULL, 0, f->s_isn + 1 + ins->new_off + ins->len,
			   TCP_RST | TCP_ACK, &out);
	if (m) {
		out.tcp->recv_ack = rte_cpu_to_be_32(f->c_isn + 1 + gw_injected_ack_off(f, ins));
		gw_csum_full(&out);
		gw_txq_push(e, back, m);
	}
	if (hdr) {
		m = gw_build_frame(e, hdr, hp, NULL, 0,
				   f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, f->c_next), TCP_RST, &out);
		if (m) {
			out.tcp->recv_ack = 0;
			gw_csum_full(&out);
			gw_txq_push(e, fwd, m);
		}
	}
	f->rst = 1;
	f->parse_off = 1;
	f->held_len = 0;
	e->stats.sessions_reset++;
}

/*
 * Ack the held line's bytes to the client on the server's behalf, from the
 * server's template: seq where the server's stream stands for the client,
 * the server's window. The client then treats them as delivered, and the
 * engine owns them: they reach the server with the rest of the line, or are
 * cut with it, and a later resend that finds the server without them sends
 * them again from the kept copy (client_stream.c, resend_from_custody).
 */
void gw_custody_ack(struct gw_engine *e, struct gw_flow *f, struct gw_txq *back)
{
	uint32_t end = f->held_off + f->held_len;
	struct gw_pkt tp, out;
	struct rte_mbuf *m;

	if (!f->tmpl_len || gw_parse_frame(f->tmpl, f->tmpl_len, &tp) != GW_PKT_TCP)
		return;
	m = gw_build_frame(e, f->tmpl, &tp, NULL, 0,
			   f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, f->s_next), TCP_ACK, &out);
	if (!m)
		return;
	out.tcp->recv_ack = rte_cpu_to_be_32(f->c_isn + 1 + end);
	gw_csum_full(&out);
	gw_txq_push(e, back, m);
	if (before(f->custody_end, end))
		f->custody_end = end;
	e->stats.custody_acks++;
}

/*
 * The client acks into bytes we injected, some time after we sent them: part
 * of our reply was lost. It goes again from where the client's ack stands, at
 * most five times a second.
 */
void gw_resend_lost_reply(struct gw_seg *s, const struct gw_pkt *p)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	uint32_t ack_off;
	const struct gw_edit *ins;

	if (!(p->tcp->tcp_flags & TCP_ACK) || !f->have_s_isn || !f->s2c.n || f->rst)
		return;
	ack_off = rte_be_to_cpu_32(p->tcp->recv_ack) - f->s_isn - 1;
	ins = gw_seqmap_insert_at(&f->s2c, ack_off);
	if (ins && e->now_tsc - f->resend_tsc > e->tsc_hz / 5) {
		f->resend_tsc = e->now_tsc;
		gw_send_injected(e, f, ins, ack_off - ins->new_off, gw_injected_ack_off(f, ins),
				 s->back);
		e->stats.replies_resent++;
	}
}

/*
 * A retransmitted cut line, client bytes [off, off + len): the reply each cut
 * line there got goes again, from the same stored bytes.
 */
void gw_resend_cut_replies(struct gw_seg *s, uint32_t off, uint32_t len)
{
	struct gw_engine *e = s->e;
	struct gw_flow *f = s->f;
	unsigned r;

	for (r = 0; r < f->c2s.n && e->now_tsc - f->resend_tsc > e->tsc_hz / 5; r++) {
		const struct gw_edit *rm = &f->c2s.e[r];
		const struct gw_edit *ins = gw_insert_for_ref(f, rm->ref);

		if (ins && !before(rm->off, off) && before(rm->off, off + len)) {
			gw_send_injected(e, f, ins, 0, gw_injected_ack_off(f, ins), s->back);
			e->stats.replies_resent++;
		}
	}
}

/*
 * Replies to lines the parse just cut with nothing outstanding before them:
 * no server reply will carry them in, so they go to the client at once. One
 * that ends the session (gw_end_session) is the last; (hdr, hp) is the
 * client's frame, to carry the server's reset.
 */
void gw_send_standalone(struct gw_seg *s, const uint8_t *hdr, const struct gw_pkt *hp)
{
	struct gw_flow *f = s->f;
	unsigned i;

	for (i = 0; i < s->nstandalone; i++) {
		const struct gw_edit *ins = &f->s2c.e[s->standalone[i]];
		struct gw_pkt tp;

		gw_send_injected(s->e, f, ins, 0, gw_injected_ack_off(f, ins), s->back);
		f->resend_tsc = s->e->now_tsc;
		if (f->replies[ins->ref]->ends_session && f->tmpl_len &&
		    gw_parse_frame(f->tmpl, f->tmpl_len, &tp) == GW_PKT_TCP) {
			gw_end_session(s->e, f, ins, hdr, hp, f->tmpl, &tp, s->fwd, s->back);
			break;
		}
	}
}
