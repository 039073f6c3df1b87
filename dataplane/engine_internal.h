/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the engine's files share, and nothing a caller of the engine needs
 * (that is engine.h). A segment's way through them:
 *
 *   dispatch.c       classify the frame; an SMTP one finds its flow
 *   client_stream.c  client -> server: reorder, hold, first copy, cut
 *   server_stream.c  server -> client: our replies inserted
 *   verdict.c        the parser and its callbacks: the RCPT's verdict
 *   inject.c         our replies and custody acks toward the client
 *   segment.c        frames rebuilt, seq, ack and SACK translated
 *   engine.c         the engine and its flows: made, expired, evicted
 */
#ifndef GREYWALL_DP_ENGINE_INTERNAL_H
#define GREYWALL_DP_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "csum.h"
#include "engine.h"
#include "packet.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* a comes before b in sequence space (mod 2^32) */
static inline bool before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Inlined: the burst loop sends nearly every frame on through it. */
static inline void gw_txq_push(struct gw_engine *e, struct gw_txq *q, struct rte_mbuf *m)
{
	if (q->n >= GW_TXQ_MAX) {
		rte_pktmbuf_free(m);
		e->stats.tx_dropped++;
		return;
	}
	q->m[q->n++] = m;
}

/* Reset by the server, or both sides sent FIN. */
static inline bool gw_flow_closed(const struct gw_flow *f)
{
	return f->rst || (f->fin_c && f->fin_s);
}

/* Any edit, folded or in flight: the flow's seq and ack need translating to its end. */
static inline bool gw_flow_edited(const struct gw_flow *f)
{
	return f->c2s.n || f->s2c.n || f->c2s.base || f->s2c.base;
}

/*
 * One segment's way through the engine: built on the stack by the stream step
 * that takes the segment (client_stream.c, server_stream.c), and the SMTP
 * parser's callback context while its bytes are fed (gw_verdict_parse points
 * f->smtp.ctx here for that call only). Bytes the reorder store releases
 * behind a client segment are parsed on the same context, each range with an
 * empty list of standalone replies.
 */
struct gw_seg {
	struct gw_engine *e;
	struct gw_flow *f;
	bool c2s;
	struct gw_txq *fwd;  /* on toward the peer */
	struct gw_txq *back; /* back toward the sender: our acks and replies */
	/* lines from here on were not forwarded yet: they can be cut */
	uint32_t cut_from;
	/* insertions (s2c.e indices) for lines cut with nothing outstanding: sent at once */
	uint8_t nstandalone;
	uint32_t standalone[GW_FLOW_REPLIES];
};

/* The segment's context, with no parse begun and no reply queued. */
static inline void gw_seg_begin(struct gw_seg *s, struct gw_engine *e, struct gw_flow *f, bool c2s,
				struct gw_txq *fwd, struct gw_txq *back)
{
	s->e = e;
	s->f = f;
	s->c2s = c2s;
	s->fwd = fwd;
	s->back = back;
	s->cut_from = 0;
	s->nstandalone = 0;
}

/* engine.c */
void gw_flow_release(struct gw_engine *e, struct gw_flow *f);
bool gw_evict_one(struct gw_engine *e);
void gw_fold_acked_edits(struct gw_engine *e, struct gw_flow *f);

/* The stream steps (client_stream.c, server_stream.c), for a frame of a flow with both ISNs. */
void gw_client_segment(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m, struct gw_pkt *p,
		       struct gw_txq *fwd, struct gw_txq *back);
void gw_server_segment(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m, struct gw_pkt *p,
		       struct gw_txq *fwd, struct gw_txq *back);

/*
 * The verdict step (verdict.c). A new flow's parser, with its callbacks; and
 * the new, in-order part of data[0, len) at stream offset off fed to it, lines
 * from held_from on (UINT32_MAX: from the new bytes on) still cuttable. True
 * if the parser deferred a client line: the stream's next offset is then that
 * line's start.
 */
void gw_verdict_session_init(struct gw_engine *e, struct gw_flow *f);
bool gw_verdict_parse(struct gw_seg *s, const uint8_t *data, uint32_t off, uint32_t len,
		      uint32_t held_from);

/* inject.c */
void gw_remember_template(struct gw_flow *f, const uint8_t *frame, const struct gw_pkt *p);
uint32_t gw_injected_ack_off(const struct gw_flow *f, const struct gw_edit *ins);
const struct gw_edit *gw_insert_for_ref(const struct gw_flow *f, uint8_t ref);
void gw_push_reply(struct gw_engine *e, const uint8_t *hdr, const struct gw_pkt *hp,
		   const uint8_t *text, uint32_t len, uint32_t seq, uint32_t ack, struct gw_txq *q);
void gw_send_injected(struct gw_engine *e, struct gw_flow *f, const struct gw_edit *ins,
		      uint32_t from, uint32_t client_ack_off, struct gw_txq *back);
void gw_custody_ack(struct gw_engine *e, struct gw_flow *f, struct gw_txq *back);
void gw_resend_lost_reply(struct gw_seg *s, const struct gw_pkt *p);
void gw_resend_cut_replies(struct gw_seg *s, uint32_t off, uint32_t len);
void gw_send_standalone(struct gw_seg *s, const uint8_t *hdr, const struct gw_pkt *hp);
void gw_end_session(struct gw_engine *e, struct gw_flow *f, const struct gw_edit *ins,
		    const uint8_t *hdr, const struct gw_pkt *hp, const uint8_t *stmpl,
		    const struct gw_pkt *sp, struct gw_txq *fwd, struct gw_txq *back);

/* segment.c */
bool gw_translate_ack(struct gw_engine *e, struct gw_flow *f, struct gw_pkt *p, bool c2s);
struct rte_mbuf *gw_build_frame(struct gw_engine *e, const uint8_t *hdr, const struct gw_pkt *hp,
				const uint8_t *payload, uint16_t len, uint32_t seq, uint8_t flags,
				struct gw_pkt *out);

/*
 * Payload bytes one frame built on hp's headers may carry under the MTU; no
 * limit when the headers leave no sane room (longer than the MTU: the bytes
 * go whole and IP copes).
 */
static inline uint32_t gw_frame_room(const struct gw_engine *e, const struct gw_pkt *hp)
{
	uint32_t room = e->cfg->conf.mtu - (hp->payload_off - hp->l3_off);

	return room < 8 || room > e->cfg->conf.mtu ? UINT32_MAX : room;
}

/* Inlined: it runs on nearly every segment of a flow, and is a few instructions. */
static inline void gw_set_seq(struct gw_pkt *p, uint32_t seq)
{
	uint32_t nseq = rte_cpu_to_be_32(seq);

	if (nseq != p->tcp->sent_seq) {
		p->tcp->cksum = gw_csum_replace4(p->tcp->cksum, p->tcp->sent_seq, nseq);
		p->tcp->sent_seq = nseq;
	}
}

#endif /* GREYWALL_DP_ENGINE_INTERNAL_H */
