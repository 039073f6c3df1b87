// SPDX-License-Identifier: BSD-2-Clause
/*
 * Where a frame goes: the burst loop classifies each frame, and everything
 * that is not SMTP to a protected address goes straight on. An SMTP frame
 * finds its flow here (made at the client's SYN), its SYN, RST and FIN are
 * noted, and its segment goes on to the stream it belongs to: the client's
 * (client_stream.c) or the server's (server_stream.c).
 */
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_prefetch.h>

#include "engine_internal.h"

static bool port_is_smtp(const struct gw_dp_config *c, uint16_t port_be)
{
	uint16_t port = rte_be_to_cpu_16(port_be);
	unsigned i;

	for (i = 0; i < c->conf.nsmtp_ports; i++)
		if (c->conf.smtp_ports[i] == port)
			return true;
	return false;
}

static bool protected(const struct gw_dp_config *c, uint8_t family, const uint8_t *addr)
{
	unsigned i;

	for (i = 0; i < c->conf.nprotect; i++)
		if (gw_prefix_match(&c->conf.protect[i], family, addr))
			return true;
	return false;
}

static void flow_key(struct gw_flow_key *k, const struct gw_pkt *p, bool c2s)
{
	unsigned alen = p->family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	k->family = p->family;
	memcpy(k->client, c2s ? p->saddr : p->daddr, alen);
	memcpy(k->server, c2s ? p->daddr : p->saddr, alen);
	k->client_port = c2s ? p->tcp->src_port : p->tcp->dst_port;
	k->server_port = c2s ? p->tcp->dst_port : p->tcp->src_port;
}

enum frame_class { FRAME_PASS, FRAME_C2S, FRAME_S2C, FRAME_DROP };

/*
 * Everything that decides whether a frame is SMTP to a protected address, and
 * counts it if not. Inlined into the burst loop: on an edge link nearly every
 * frame ends here, and a call per frame is what the fast path cannot afford.
 */
static __always_inline enum frame_class classify(struct gw_engine *e, struct rte_mbuf *m,
						 struct gw_pkt *p)
{
	const struct gw_dp_config *c = e->cfg;
	int kind;

	if (unlikely(!rte_pktmbuf_is_contiguous(m))) {
		e->stats.failopen[GW_FO_NONLINEAR]++;
		return FRAME_PASS;
	}
	kind = gw_parse_frame(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m), p);
	if (kind != GW_PKT_TCP) {
		if (unlikely(kind == GW_PKT_MALFORMED))
			e->stats.malformed++;
		else if (unlikely(kind == GW_PKT_FRAGMENT)) {
			/*
			 * TCP in IP fragments to a protected server could carry an RCPT
			 * past the parser: MTAs never send them (path MTU discovery),
			 * senders could. They are dropped; others pass, counted.
			 */
			if (protected(c, p->family, p->daddr)) {
				e->stats.fragments_dropped++;
				return FRAME_DROP;
			}
			e->stats.failopen[GW_FO_FRAGMENT]++;
		}
		return FRAME_PASS;
	}
	if (port_is_smtp(c, p->tcp->dst_port) && protected(c, p->family, p->daddr))
		return FRAME_C2S;
	if (port_is_smtp(c, p->tcp->src_port) && protected(c, p->family, p->saddr))
		return FRAME_S2C;
	return FRAME_PASS;
}

/*
 * Whether the server would take a client segment at all. One it drops (a bad
 * checksum, data or FIN without ACK) must not be parsed, or its bytes would
 * stand in for the ones the server does read; nor one whose bytes it reads
 * otherwise (urgent data); one whose headers do not fit the flow's template
 * cannot be rebuilt. Each is dropped here.
 */
static bool client_segment_counts(const struct gw_pkt *p, uint64_t ol_flags)
{
	uint8_t flags = p->tcp->tcp_flags;

	if (p->payload_off > GW_TMPL_MAX)
		return false;
	if ((p->payload_len || (flags & TCP_FIN)) && !(flags & (TCP_ACK | TCP_SYN)))
		return false;
	/*
	 * Urgent data: the server's stack takes the byte at the urgent pointer
	 * out of the stream (no SO_OOBINLINE), even a later segment's when the
	 * pointer runs ahead, so "RCPTX TO:<b@c>" with X urgent is an RCPT to the
	 * MTA and not to us. SMTP never uses it.
	 */
	if (flags & TCP_URG)
		return false;
	/* an RST's bytes are never read; a client's SYN-ACK is no SYN we track */
	if (((flags & TCP_RST) && p->payload_len) ||
	    (flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		return false;
	/*
	 * What the server's stack may drop without our knowing why: TCP MD5 or AO
	 * signatures (no key here), IPv4 options, IPv6 extension headers (an
	 * unknown option whose type says drop, a routing header it does not
	 * take). No MTA sends them.
	 */
	if (gw_tcp_option_find(p, 19) || gw_tcp_option_find(p, 29) || gw_ip_extras(p))
		return false;
	return gw_csum_ok(p, ol_flags);
}

/* The window scale a SYN offers, or 0xff. */
static uint8_t syn_wscale(const struct gw_pkt *p)
{
	const uint8_t *ws = gw_tcp_option(p, 3, 3);

	return ws ? ws[0] : 0xff;
}

/* Window scale and timestamps offered in a SYN (client) or SYN-ACK (server). */
static void syn_options(struct gw_flow *f, const struct gw_pkt *p, bool client)
{
	bool ts = gw_tcp_option(p, 8, 10) != NULL;

	if (client) {
		f->c_wscale = syn_wscale(p);
		f->ts_on = ts;
	} else {
		f->s_wscale = syn_wscale(p);
		f->ts_on = f->ts_on && ts;
	}
}

/* A new flow for a client's SYN (evicting one if the table is full), or NULL. */
static struct gw_flow *flow_begin(struct gw_engine *e, const struct gw_flow_key *key, uint32_t isn,
				  uint16_t port)
{
	struct gw_flow *f = gw_flow_create(&e->flows, key);

	if (!f && e->flows.nfree == 0 && gw_evict_one(e))
		f = gw_flow_create(&e->flows, key);
	if (!f)
		return NULL;
	e->stats.flows_created++;
	e->stats.flows_active++;
	f->c_isn = isn;
	f->c_port = port;
	gw_verdict_session_init(e, f);
	return f;
}

/* The right edge of the window the server offers, as it numbers the client's stream. */
static void server_window(struct gw_flow *f, const struct gw_pkt *p)
{
	uint32_t win = rte_be_to_cpu_16(p->tcp->rx_win), edge;
	uint8_t shift = 0;

	if (!(p->tcp->tcp_flags & TCP_ACK))
		return;
	/* scaling holds when both SYNs offered it, and never for the SYN-ACK's own window */
	if (!(p->tcp->tcp_flags & TCP_SYN) && f->c_wscale != 0xff && f->s_wscale != 0xff)
		shift = f->s_wscale > 14 ? 14 : f->s_wscale;
	edge = rte_be_to_cpu_32(p->tcp->recv_ack) - f->c_isn - 1 + (win << shift);
	if (!f->have_wnd || before(f->c_wnd_end, edge))
		f->c_wnd_end = edge;
	f->have_wnd = 1;
}

/*
 * Whether the server's TCP would take a client segment's bytes: one that
 * starts at or past the right edge of the window the server offered, or ends
 * past it, is dropped there (RFC 793; a zero-window probe too), and so is one
 * that acks bytes the server never sent, or whose timestamp is older than the
 * latest (PAWS, RFC 7323). Parsed here, its bytes would stand in for the ones
 * the server reads.
 */
static bool server_would_take(struct gw_flow *f, const struct gw_pkt *p)
{
	uint32_t off = rte_be_to_cpu_32(p->tcp->sent_seq) - f->c_isn - 1;
	const uint8_t *ts;

	if (p->tcp->tcp_flags & TCP_RST)
		return true;
	/* in the window: its first byte, and (as newer kernels check) its last */
	if (p->payload_len && f->have_wnd &&
	    (!before(gw_seqmap_fwd(&f->c2s, off), f->c_wnd_end) ||
	     before(f->c_wnd_end, gw_seqmap_fwd(&f->c2s, off + p->payload_len))))
		return false;
	/* an ack of bytes the server never sent: the server drops the segment */
	if (p->payload_len && (p->tcp->tcp_flags & TCP_ACK) &&
	    before(f->s_seen_end,
		   gw_seqmap_back(&f->s2c, rte_be_to_cpu_32(p->tcp->recv_ack) - f->s_isn - 1)))
		return false;
	if (f->ts_on && (ts = gw_tcp_option(p, 8, 10))) {
		uint32_t val = rte_be_to_cpu_32(*(const unaligned_uint32_t *)ts);

		if (p->payload_len && f->c_ts_recent && (int32_t)(f->c_ts_recent - val) > 1)
			return false;
		/* as the server does: only a segment at or before the next byte sets it */
		if (!before(f->c_next, off) &&
		    (!f->c_ts_recent || (int32_t)(val - f->c_ts_recent) > 0))
			f->c_ts_recent = val;
	}
	return true;
}

/*
 * A client's RST ends the session only where the server takes it: at exactly
 * the sequence it expects next (RFC 5961; any other gets a challenge ACK and
 * the session lives on). That is the byte after the last one we sent on (a held
 * line's first, if one is held; one more after the client's FIN). Any other RST
 * goes on for the server to judge, and parsing goes on.
 */
static bool client_rst_ends_it(const struct gw_flow *f, const struct gw_pkt *p)
{
	uint32_t off = rte_be_to_cpu_32(p->tcp->sent_seq) - f->c_isn - 1;
	uint32_t next = (f->held_len ? f->held_off : f->c_next) + (f->fin_c ? 1 : 0);

	return f->have_s_isn && off == next;
}

/* A frame of a protected SMTP conversation: flow lookup, then the stream engine. */
static __rte_noinline void smtp_frame(struct gw_engine *e, struct rte_mbuf *m, struct gw_pkt *p,
				      bool c2s, struct gw_txq *fwd, struct gw_txq *back)
{
	bool s2c = !c2s;
	struct gw_flow_key key;
	struct gw_flow *f;
	uint8_t flags;

	e->stats.smtp_packets++;
	flags = p->tcp->tcp_flags;
	if (c2s && !client_segment_counts(p, m->ol_flags)) {
		e->stats.segments_dropped++;
		rte_pktmbuf_free(m);
		return;
	}
	flow_key(&key, p, c2s);
	f = gw_flow_lookup(&e->flows, &key);
	if (c2s && (flags & TCP_SYN) && !(flags & TCP_ACK)) {
		uint32_t isn = rte_be_to_cpu_32(p->tcp->sent_seq);

		if (f && f->c_isn != isn && !gw_flow_edited(f) &&
		    (gw_flow_closed(f) || !f->c_handshake_done)) {
			gw_flow_release(e, f); /* the port pair was reused */
			f = NULL;
		} else if (f && f->c_isn != isn) {
			/*
			 * Another ISN on a live session: the server answers it with a
			 * challenge ACK and keeps the session, so the flow stays as it
			 * is (made anew, it would pass what follows as a stranger's).
			 * The SYN goes on, remembered: if the server has no session
			 * left and accepts it (its SYN-ACK acks this ISN), the flow
			 * starts over then.
			 */
			f->c_new_isn = isn;
			f->c_new_pending = 1;
			f->c_new_wscale = syn_wscale(p);
			f->c_new_ts = gw_tcp_option(p, 8, 10) != NULL;
			gw_txq_push(e, fwd, m);
			return;
		}
		if (!f) {
			f = flow_begin(e, &key, isn, m->port);
			if (!f) {
				/*
				 * Every flow is a live session: the new connection is not
				 * let through untracked (its RCPTs would go un-judged). Its
				 * SYN is dropped, and the client's TCP sends it again.
				 */
				e->stats.syns_dropped++;
				rte_pktmbuf_free(m);
				return;
			}
			syn_options(f, p, true);
		}
		f->last_tsc = e->now_tsc;
		gw_txq_push(e, fwd, m);
		return;
	}
	if (!f) {
		e->stats.failopen[GW_FO_MIDSTREAM]++;
		gw_txq_push(e, fwd, m);
		return;
	}
	if (s2c && e->cfg->conf.paired_ports && f->c_port != RTE_MBUF_PORT_INVALID &&
	    m->port == f->c_port) {
		/* the server's address, from the client's side: forged */
		e->stats.segments_dropped++;
		rte_pktmbuf_free(m);
		return;
	}
	if (s2c && (flags & TCP_SYN) && f->have_s_isn && f->c_new_pending &&
	    rte_be_to_cpu_32(p->tcp->recv_ack) == f->c_new_isn + 1) {
		/* the server took the new connection: the flow starts over with it */
		uint32_t isn = f->c_new_isn;
		uint16_t port = f->c_port;
		uint8_t ws = f->c_new_wscale, ts = f->c_new_ts;

		gw_flow_release(e, f);
		f = flow_begin(e, &key, isn, port);
		if (!f) {
			gw_txq_push(e, fwd, m);
			return;
		}
		f->c_wscale = ws;
		f->ts_on = ts;
	}
	f->last_tsc = e->now_tsc;
	if (s2c && (flags & TCP_SYN)) {
		f->s_isn = rte_be_to_cpu_32(p->tcp->sent_seq);
		f->have_s_isn = 1;
		syn_options(f, p, false);
		server_window(f, p);
		gw_remember_template(f, rte_pktmbuf_mtod(m, uint8_t *), p);
		gw_txq_push(e, fwd, m);
		return;
	}
	if ((flags & TCP_RST) && (s2c || client_rst_ends_it(f, p))) {
		/*
		 * The connection is over: nothing is cut from it or injected into
		 * it any more; what still comes is only translated.
		 */
		f->rst = 1;
		f->parse_off = 1;
		f->held_len = 0;
	}
	if (c2s && f->have_s_isn && !server_would_take(f, p)) {
		e->stats.segments_dropped++;
		rte_pktmbuf_free(m);
		return;
	}
	if (flags & TCP_FIN) {
		if (c2s)
			f->fin_c = 1;
		else
			f->fin_s = 1;
	}
	if (s2c) {
		uint32_t end = rte_be_to_cpu_32(p->tcp->sent_seq) - f->s_isn - 1 + p->payload_len +
			       ((flags & TCP_FIN) ? 1 : 0);

		if (before(f->s_seen_end, end))
			f->s_seen_end = end;
	}
	if (!f->have_s_isn) {
		gw_txq_push(e, fwd, m);
		return;
	}
	if (c2s) {
		gw_client_segment(e, f, m, p, fwd, back);
	} else {
		server_window(f, p);
		gw_server_segment(e, f, m, p, fwd, back);
	}
}

void gw_engine_process(struct gw_engine *e, struct rte_mbuf *m, struct gw_txq *fwd,
		       struct gw_txq *back)
{
	gw_engine_process_burst(e, &m, 1, fwd, back);
}

void gw_engine_process_burst(struct gw_engine *e, struct rte_mbuf **bufs, uint16_t n,
			     struct gw_txq *fwd, struct gw_txq *back)
{
	uint64_t passed = 0;
	uint16_t i;

	/* the burst's headers start loading before the first is read */
	for (i = 0; i < n && i < GW_PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(bufs[i], void *));
	e->stats.rx += n;
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = bufs[i];
		enum frame_class cls;
		struct gw_pkt p;

		if (i + GW_PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(bufs[i + GW_PREFETCH_AHEAD], void *));
		cls = classify(e, m, &p);
		if (likely(cls == FRAME_PASS)) {
			passed++;
			gw_txq_push(e, fwd, m);
			continue;
		}
		if (unlikely(cls == FRAME_DROP)) {
			rte_pktmbuf_free(m);
			continue;
		}
		smtp_frame(e, m, &p, cls == FRAME_C2S, fwd, back);
	}
	e->stats.passthrough += passed;
}
