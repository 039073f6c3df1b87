// SPDX-License-Identifier: BSD-2-Clause
/*
 * Drop and inject (DESIGN section 2). A greylisted RCPT line is cut out of the
 * client's stream and the reply inserted into the server's right after the
 * reply to the command before it; each direction then keeps a list of edit
 * points through which every later seq, ack and SACK edge is translated.
 */
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_random.h>

#include "csum.h"
#include "engine_internal.h"
#include "packet.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define GW_MAX_PIECES 8

int gw_engine_init(struct gw_engine *e, const struct gw_dp_config *cfg, struct rte_mempool *pool,
		   int socket, unsigned id, char *err, size_t errlen)
{
	char name[32];
	int rc;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->pool = pool;
	e->tsc_hz = rte_get_tsc_hz();
	rc = gw_table_map_open(&e->triplets, cfg->table_path, cfg->capacity, GW_TABLE_TRIPLETS,
			       GW_TF_CREATE | GW_TF_POPULATE, NULL, err, errlen);
	if (rc)
		return rc;
	/* the auto-whitelist shares the triplet table's secret: one key per installation */
	rc = gw_table_map_open(&e->awl, cfg->awl_path, cfg->capacity / 8 + 1024, GW_TABLE_AWL,
			       GW_TF_CREATE | GW_TF_SECRET | GW_TF_POPULATE,
			       e->triplets.table.hdr->secret, err, errlen);
	if (rc)
		return rc;
	e->policy = (struct gw_policy){&e->triplets.table, &e->awl.table, &cfg->policy,
				       e->triplets.table.hdr->secret};
	snprintf(name, sizeof(name), "gw_flows_%u", id);
	if (gw_flow_table_init(&e->flows, cfg->max_flows, socket, name) != 0) {
		snprintf(err, errlen, "cannot allocate a flow table of %u flows", cfg->max_flows);
		return -1;
	}
	snprintf(name, sizeof(name), "gw_replies_%u", id);
	e->reply_pool =
	    rte_mempool_create(name, cfg->max_flows * 2 + 1023, sizeof(struct gw_reply_buf), 64, 0,
			       NULL, NULL, NULL, NULL, socket, 0);
	if (!e->reply_pool) {
		snprintf(err, errlen, "cannot allocate the reply buffer pool");
		return -1;
	}
	snprintf(name, sizeof(name), "gw_ooo_%u", id);
	/* bounded: when it runs dry, out-of-order segments fail open (counted) */
	e->ooo_pool = rte_mempool_create(name, RTE_MIN(cfg->max_flows / 16 + 255, 4095u),
					 GW_OOO_BUF_SIZE, 32, 0, NULL, NULL, NULL, NULL, socket, 0);
	if (!e->ooo_pool) {
		snprintf(err, errlen, "cannot allocate the reorder buffer pool");
		return -1;
	}
	return 0;
}

static void flow_release(struct gw_engine *e, struct gw_flow *f)
{
	uint32_t used = f->replies_used;

	while (used) {
		unsigned i = (unsigned)__builtin_ctz(used);

		rte_mempool_put(e->reply_pool, f->replies[i]);
		used &= used - 1;
	}
	gw_ooo_clear(&f->ooo, e->ooo_pool);
	gw_flow_destroy(&e->flows, f);
	e->stats.flows_active--;
}

/* Any edit, folded or in flight: the flow's seq and ack need translating to its end. */
static bool flow_edited(const struct gw_flow *f)
{
	return f->c2s.n || f->s2c.n || f->c2s.base || f->s2c.base;
}

static bool flow_closed(const struct gw_flow *f)
{
	return f->rst || (f->fin_c && f->fin_s);
}

/*
 * A full flow table makes room by evicting a flow nothing depends on: no edit
 * in either direction and no client bytes held, so its later segments pass
 * unchanged, as a pickup's would. Closed flows go first, then the longest
 * idle, among a few slots sampled at random (approximate LRU, constant time
 * per new flow). A flow with edits is never evicted: its segments would go on
 * untranslated and break the connection.
 */
static bool evict_one(struct gw_engine *e)
{
	struct gw_flow *best = NULL;
	unsigned k;

	for (k = 0; k < GW_EVICT_SAMPLES; k++) {
		struct gw_flow *f = &e->flows.flows[rte_rand_max(e->flows.cap)];

		if (!f->in_use || flow_edited(f) || f->held_len || f->ooo.n)
			continue;
		if (!best || flow_closed(f) > flow_closed(best) ||
		    (flow_closed(f) == flow_closed(best) && f->last_tsc < best->last_tsc))
			best = f;
	}
	if (!best)
		return false;
	flow_release(e, best);
	e->stats.flows_evicted++;
	return true;
}

void gw_engine_free(struct gw_engine *e)
{
	/*
	 * The flow table and the reply pool go whole; nothing is released flow by
	 * flow. (Scanning slots for replies here once released expired flows a
	 * second time: their stale slots still counted replies.)
	 */
	gw_flow_table_free(&e->flows);
	rte_mempool_free(e->reply_pool);
	rte_mempool_free(e->ooo_pool);
	gw_table_map_close(&e->triplets);
	gw_table_map_close(&e->awl);
}

void gw_engine_tick(struct gw_engine *e, uint64_t now_tsc, uint64_t now_wall)
{
	e->now_tsc = now_tsc;
	e->now_wall = now_wall;
}

void gw_engine_expire(struct gw_engine *e)
{
	uint64_t idle = e->cfg->flow_idle * e->tsc_hz, closed = 10 * e->tsc_hz;
	uint32_t budget = e->flows.cap / 10 + 1;
	const void *key;
	void *data;

	while (budget--) {
		struct gw_flow *f;
		uint64_t age;

		if (rte_hash_iterate(e->flows.hash, &key, &data, &e->expire_iter) < 0) {
			e->expire_iter = 0; /* end of the table: start over on the next call */
			break;
		}
		f = &e->flows.flows[(uintptr_t)data];
		age = e->now_tsc - f->last_tsc;
		/* a closed flow lingers a little for its last retransmissions */
		if (age > idle || (flow_closed(f) && age > closed)) {
			flow_release(e, f);
			e->stats.flows_expired++;
		}
	}
}

static void txq_push(struct gw_engine *e, struct gw_txq *q, struct rte_mbuf *m)
{
	if (q->n >= GW_TXQ_MAX) {
		rte_pktmbuf_free(m);
		e->stats.tx_dropped++;
		return;
	}
	q->m[q->n++] = m;
}

static bool port_is_smtp(const struct gw_dp_config *c, uint16_t port_be)
{
	uint16_t port = rte_be_to_cpu_16(port_be);
	unsigned i;

	for (i = 0; i < c->nsmtp_ports; i++)
		if (c->smtp_ports[i] == port)
			return true;
	return false;
}

static bool protected(const struct gw_dp_config *c, uint8_t family, const uint8_t *addr)
{
	unsigned i;

	for (i = 0; i < c->nprotect; i++)
		if (gw_prefix_match(&c->protect[i], family, addr))
			return true;
	return false;
}

/*
 * A cut line and the reply that took its place, once both peers acked past
 * them: the server up to the line (which it never gets; a resend of it maps
 * below the server's ack, as old bytes) and the client past the reply. They leave the edit lists
 * for their base deltas, and the reply's buffer goes back. Edits go in pairs and in order: the n-th
 * removal's reply is the n-th insertion.
 */
static void fold_acked_edits(struct gw_engine *e, struct gw_flow *f)
{
	while (f->c2s.n && f->s2c.n) {
		const struct gw_edit *rm = &f->c2s.e[0], *ins = &f->s2c.e[0];

		if (rm->ref != ins->ref || before(f->c_acked_new, rm->new_off) ||
		    before(f->s_acked, ins->new_off + ins->len))
			return;
		rte_mempool_put(e->reply_pool, f->replies[ins->ref]);
		f->replies_used &= ~(1u << ins->ref);
		gw_seqmap_fold(&f->c2s, 1);
		gw_seqmap_fold(&f->s2c, 1);
		e->stats.edits_folded++;
	}
}

/* Rewrite SACK edges (which number the other direction's stream) through that stream's map. */
static bool translate_sack(struct gw_pkt *p, const struct gw_seqmap *other, uint32_t other_isn)
{
	uint8_t *opt = (uint8_t *)p->tcp + sizeof(struct rte_tcp_hdr);
	uint8_t *end = (uint8_t *)p->tcp + p->tcp_hlen;
	bool changed = false;

	while (opt < end) {
		uint8_t kind = opt[0], len;

		if (kind == 0)
			break;
		if (kind == 1) {
			opt++;
			continue;
		}
		if (opt + 1 >= end)
			break;
		len = opt[1];
		if (len < 2 || opt + len > end)
			break;
		if (kind == 5 && len >= 10 && (len - 2) % 8 == 0) {
			uint8_t *edge;

			for (edge = opt + 2; edge + 4 <= opt + len; edge += 4) {
				uint32_t v, nv;

				memcpy(&v, edge, 4);
				v = rte_be_to_cpu_32(v);
				nv = other_isn + 1 + gw_seqmap_back(other, v - other_isn - 1);
				if (nv != v) {
					nv = rte_cpu_to_be_32(nv);
					memcpy(edge, &nv, 4);
					changed = true;
				}
			}
		}
		opt += len;
	}
	return changed;
}

/*
 * Translate a segment's ack and SACK through the other direction's map.
 * Returns true if the SACK option changed (the caller then needs a full checksum).
 */
static bool translate_ack(struct gw_engine *e, struct gw_flow *f, struct gw_pkt *p, bool c2s)
{
	const struct gw_seqmap *other = c2s ? &f->s2c : &f->c2s;
	uint32_t other_isn = c2s ? f->s_isn : f->c_isn;
	bool sack = false;

	if (!(p->tcp->tcp_flags & TCP_ACK) || (c2s && !f->have_s_isn) ||
	    (other->n == 0 && other->base == 0))
		return false;
	{
		uint32_t ack = rte_be_to_cpu_32(p->tcp->recv_ack);
		uint32_t nack = other_isn + 1 + gw_seqmap_back(other, ack - other_isn - 1);

		if (nack != ack) {
			p->tcp->cksum = gw_csum_replace4(p->tcp->cksum, p->tcp->recv_ack,
							 rte_cpu_to_be_32(nack));
			p->tcp->recv_ack = rte_cpu_to_be_32(nack);
		}
	}
	if (p->tcp_hlen > 20 && translate_sack(p, other, other_isn)) {
		e->stats.sack_translated++;
		sack = true;
	}
	return sack;
}

static void set_seq(struct gw_pkt *p, uint32_t seq)
{
	uint32_t nseq = rte_cpu_to_be_32(seq);

	if (nseq != p->tcp->sent_seq) {
		p->tcp->cksum = gw_csum_replace4(p->tcp->cksum, p->tcp->sent_seq, nseq);
		p->tcp->sent_seq = nseq;
	}
}

/*
 * A new frame: the headers of 'hdr' (up to the TCP payload), then payload.
 * Lengths and checksums are fixed up; seq and flags are the caller's.
 */
static struct rte_mbuf *build_frame(struct gw_engine *e, const uint8_t *hdr,
				    const struct gw_pkt *hp, const uint8_t *payload, uint16_t len,
				    uint32_t seq, uint8_t flags, struct gw_pkt *out)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(e->pool);
	uint8_t *d;

	if (!m) {
		e->stats.failopen[GW_FO_NO_MBUF]++;
		return NULL;
	}
	d = (uint8_t *)rte_pktmbuf_append(m, hp->payload_off + len);
	if (!d) {
		rte_pktmbuf_free(m);
		e->stats.failopen[GW_FO_NO_MBUF]++;
		return NULL;
	}
	memcpy(d, hdr, hp->payload_off);
	if (len) /* a bare ack or FIN may come with no payload pointer at all */
		memcpy(d + hp->payload_off, payload, len);
	*out = *hp;
	out->ip = d + hp->l3_off;
	out->tcp = (struct rte_tcp_hdr *)(d + hp->l4_off);
	out->payload_len = len;
	if (hp->family == 4) {
		struct rte_ipv4_hdr *ip = out->ip;

		ip->total_length = rte_cpu_to_be_16((uint16_t)(hp->payload_off - hp->l3_off + len));
		out->saddr = (uint8_t *)&ip->src_addr;
		out->daddr = (uint8_t *)&ip->dst_addr;
	} else {
		struct rte_ipv6_hdr *ip6 = out->ip;

		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(hp->payload_off - hp->l4_off + len));
		out->saddr = ip6->src_addr;
		out->daddr = ip6->dst_addr;
	}
	out->tcp->sent_seq = rte_cpu_to_be_32(seq);
	out->tcp->tcp_flags = flags;
	gw_csum_full(out);
	return m;
}

/*
 * What an injected reply may acknowledge: never more than the server has
 * (translated), plus the removed line the reply answers, which we consumed.
 */
static uint32_t injected_ack_off(const struct gw_flow *f, const struct gw_edit *ins)
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
static const struct gw_edit *insert_for_ref(const struct gw_flow *f, uint8_t ref)
{
	unsigned k;

	for (k = 0; k < f->s2c.n; k++)
		if (f->s2c.e[k].ref == ref)
			return &f->s2c.e[k];
	return NULL;
}

/* Send injected bytes [from, len) of a reply toward the client, from the server's template. */
/*
 * Our reply text[0, len) at seq, acking ack, toward the client: in one
 * segment, or in as many as the MTU needs (PSH on the last one only).
 */
static void push_reply(struct gw_engine *e, const uint8_t *hdr, const struct gw_pkt *hp,
		       const uint8_t *text, uint32_t len, uint32_t seq, uint32_t ack,
		       struct gw_txq *q)
{
	uint32_t room = e->cfg->mtu - (hp->payload_off - hp->l3_off), done = 0;

	if (room < 8 || room > e->cfg->mtu)
		room = len; /* headers longer than the MTU: send it whole and let IP cope */
	if (len > room)
		e->stats.segments_split++;
	while (done < len) {
		uint32_t n = len - done < room ? len - done : room;
		struct gw_pkt out;
		struct rte_mbuf *m =
		    build_frame(e, hdr, hp, text + done, (uint16_t)n, seq + done,
				done + n == len ? TCP_ACK | TCP_PSH : TCP_ACK, &out);

		if (!m)
			return;
		out.tcp->recv_ack = rte_cpu_to_be_32(ack);
		gw_csum_full(&out);
		txq_push(e, q, m);
		done += n;
	}
}

static void send_injected(struct gw_engine *e, struct gw_flow *f, const struct gw_edit *ins,
			  uint32_t from, uint32_t client_ack_off, struct gw_txq *back)
{
	const struct gw_reply_buf *r = f->replies[ins->ref];
	struct gw_pkt tp;

	if (f->tmpl_len == 0 || from >= ins->len)
		return;
	if (gw_parse_frame(f->tmpl, f->tmpl_len, &tp) != GW_PKT_TCP)
		return;
	push_reply(e, f->tmpl, &tp, (const uint8_t *)r->text + from, ins->len - from,
		   f->s_isn + 1 + ins->new_off + from, f->c_isn + 1 + client_ack_off, back);
}

static void remember_template(struct gw_flow *f, const uint8_t *frame, const struct gw_pkt *p)
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

		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(p->payload_off - p->l4_off));
	}
}

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
 * Ack the held line's bytes to the client on the server's behalf, from the
 * server's template: seq where the server's stream stands for the client,
 * the server's window. The client then treats them as delivered, and the
 * engine owns them: they reach the server with the rest of the line, or are
 * cut with it, and a later resend that finds the server without them sends
 * them again from the kept copy (client_bytes).
 */
static void custody_ack(struct gw_engine *e, struct gw_flow *f, struct gw_txq *back)
{
	uint32_t end = f->held_off + f->held_len;
	struct gw_pkt tp, out;
	struct rte_mbuf *m;

	if (!f->tmpl_len || gw_parse_frame(f->tmpl, f->tmpl_len, &tp) != GW_PKT_TCP)
		return;
	m = build_frame(e, f->tmpl, &tp, NULL, 0, f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, f->s_next),
			TCP_ACK, &out);
	if (!m)
		return;
	out.tcp->recv_ack = rte_cpu_to_be_32(f->c_isn + 1 + end);
	gw_csum_full(&out);
	txq_push(e, back, m);
	if (before(f->custody_end, end))
		f->custody_end = end;
	e->stats.custody_acks++;
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
			custody_ack(e, f, back);
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
			    build_frame(e, frame, p, f->held, f->held_len,
					f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, f->held_off),
					flags & (uint8_t) ~(TCP_FIN | TCP_PSH), &out);

			if (h)
				txq_push(e, fwd, h);
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
			send_injected(e, f, ins, ack_off - ins->new_off, injected_ack_off(f, ins),
				      back);
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
		custody_ack(e, f, back);
	}

	if (fresh)
		hist_append(f, voff, vdata, vlen);

	/* Replies to lines dropped with nothing outstanding go out at once. */
	for (i = 0; i < seg.nstandalone; i++) {
		const struct gw_edit *ins = &f->s2c.e[seg.standalone[i]];

		send_injected(e, f, ins, 0, injected_ack_off(f, ins), back);
		f->resend_tsc = e->now_tsc;
	}

	if (m)
		sack = translate_ack(e, f, p, true);
	n = vlen ? gw_seqmap_keep(&f->c2s, voff, voff + vlen, starts, ends, GW_MAX_PIECES) : 1;
	/* the segment as it came, none of it removed or held: translate in place */
	in_place = m && vdata == payload && vlen == len &&
		   (len == 0 || (n == 1 && starts[0] == off && ends[0] == off + len));
	if (in_place) {
		/* a bare ack while a line is held: the server has nothing past the held part */
		set_seq(p, f->c_isn + 1 +
			       gw_seqmap_fwd(&f->c2s, len == 0 && f->held_len ? f->held_off : off));
		if (sack)
			gw_csum_full(p);
		txq_push(e, fwd, m);
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
				const struct gw_edit *ins = insert_for_ref(f, rm->ref);

				if (ins && !before(rm->off, voff) && before(rm->off, voff + vlen)) {
					send_injected(e, f, ins, 0, injected_ack_off(f, ins), back);
					e->stats.replies_resent++;
				}
			}
		}
		if (vlen)
			f->resend_tsc = e->now_tsc;
		if ((flags & (TCP_FIN | TCP_RST)) || (!vlen && (flags & TCP_ACK))) {
			struct gw_pkt out;
			struct rte_mbuf *h =
			    build_frame(e, frame, p, NULL, 0,
					f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, voff + vlen),
					flags & (uint8_t)~TCP_PSH, &out);

			if (h) {
				if (sack)
					gw_csum_full(&out);
				txq_push(e, fwd, h);
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
			piece = build_frame(e, frame, p, vdata + (at - voff), (uint16_t)chunk,
					    f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, at), fl, &out);
			if (piece)
				txq_push(e, fwd, piece);
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
static void client_segment(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m,
			   struct gw_pkt *p, struct gw_txq *fwd, struct gw_txq *back)
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
	fold_acked_edits(e, f);
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
			bool sack = translate_ack(e, f, p, true);
			uint32_t upto = f->held_len ? f->held_off : f->c_next;

			if (f->refusing)
				e->stats.segments_refused++;
			else if (gw_ooo_store(&f->ooo, e->ooo_pool, off, frame + p->payload_off,
					      len) == 0)
				e->stats.reordered++;
			else
				e->stats.segments_refused++;
			/* the server has nothing past the gap: the ack goes alone */
			h = build_frame(e, frame, p, NULL, 0,
					f->c_isn + 1 + gw_seqmap_fwd(&f->c2s, upto), TCP_ACK, &out);
			if (h) {
				if (sack)
					gw_csum_full(&out);
				txq_push(e, fwd, h);
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
		translate_ack(e, f, &hp, true);
	}
	client_bytes(e, f, m, frame, p, frame + p->payload_off, off, len, fwd, back);
	while (f->ooo.n && !f->parse_off &&
	       (n = gw_ooo_take(&f->ooo, e->ooo_pool, f->c_next, e->obuf, sizeof(e->obuf))))
		client_bytes(e, f, NULL, hdr, &hp, e->obuf, f->c_next, n, fwd, back);
}

/* Server -> client: insert pending replies at their points, translate the rest. */
static void server_segment(struct gw_engine *e, struct gw_flow *f, struct rte_mbuf *m,
			   struct gw_pkt *p, struct gw_txq *fwd, struct gw_txq *back)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *payload = frame + p->payload_off;
	uint32_t off = rte_be_to_cpu_32(p->tcp->sent_seq) - f->s_isn - 1;
	uint32_t len = p->payload_len, cur, ack;
	uint8_t flags = p->tcp->tcp_flags;
	bool sack, split = false;
	struct gw_seg seg;
	unsigned k;

	remember_template(f, frame, p);
	gw_seg_begin(&seg, e, f, false, fwd, back);
	gw_verdict_parse(&seg, payload, off, len, UINT32_MAX);
	if ((flags & TCP_ACK) &&
	    before(f->c_acked_new, rte_be_to_cpu_32(p->tcp->recv_ack) - f->c_isn - 1))
		f->c_acked_new = rte_be_to_cpu_32(p->tcp->recv_ack) - f->c_isn - 1;
	sack = translate_ack(e, f, p, false);
	ack = rte_be_to_cpu_32(p->tcp->recv_ack);
	if ((flags & TCP_ACK) && before(f->c_acked, ack - f->c_isn - 1))
		f->c_acked = ack - f->c_isn - 1;
	fold_acked_edits(e, f);
	for (k = 0; k < f->s2c.n; k++) {
		const struct gw_edit *ins = &f->s2c.e[k];

		if (before(off, ins->off) && !before(off + len, ins->off))
			split = true;
	}
	if (!split) {
		set_seq(p, f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, off));
		if (sack)
			gw_csum_full(p);
		txq_push(e, fwd, m);
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
			piece = build_frame(e, frame, p, payload + (cur - off), ins->off - cur,
					    f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, cur),
					    flags & (uint8_t) ~(TCP_FIN | TCP_PSH), &out);
			if (piece)
				txq_push(e, fwd, piece);
			cur = ins->off;
		}
		push_reply(e, frame, p, (const uint8_t *)r->text, ins->len,
			   f->s_isn + 1 + ins->new_off, ack, fwd);
		f->resend_tsc = e->now_tsc;
	}
	if (before(cur, off + len) || (flags & TCP_FIN)) {
		struct gw_pkt out;
		struct rte_mbuf *piece =
		    build_frame(e, frame, p, payload + (cur - off), off + len - cur,
				f->s_isn + 1 + gw_seqmap_fwd(&f->s2c, cur), flags, &out);
		if (piece)
			txq_push(e, fwd, piece);
	}
	e->stats.segments_split++;
	rte_pktmbuf_free(m);
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

enum frame_class { FRAME_PASS, FRAME_C2S, FRAME_S2C };

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
		else if (unlikely(kind == GW_PKT_FRAGMENT))
			e->stats.failopen[GW_FO_FRAGMENT]++;
		return FRAME_PASS;
	}
	if (port_is_smtp(c, p->tcp->dst_port) && protected(c, p->family, p->daddr))
		return FRAME_C2S;
	if (port_is_smtp(c, p->tcp->src_port) && protected(c, p->family, p->saddr))
		return FRAME_S2C;
	return FRAME_PASS;
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
	flow_key(&key, p, c2s);
	f = gw_flow_lookup(&e->flows, &key);
	if (c2s && (flags & TCP_SYN) && !(flags & TCP_ACK)) {
		uint32_t isn = rte_be_to_cpu_32(p->tcp->sent_seq);

		if (f && f->c_isn != isn && !flow_edited(f)) {
			flow_release(e, f); /* the port pair was reused */
			f = NULL;
		}
		if (!f) {
			f = gw_flow_create(&e->flows, &key);
			if (!f && e->flows.nfree == 0 && evict_one(e))
				f = gw_flow_create(&e->flows, &key);
			if (!f) {
				e->stats.failopen[GW_FO_FLOW_TABLE_FULL]++;
				txq_push(e, fwd, m);
				return;
			}
			e->stats.flows_created++;
			e->stats.flows_active++;
			f->c_isn = isn;
			gw_verdict_session_init(e, f);
		}
		f->last_tsc = e->now_tsc;
		txq_push(e, fwd, m);
		return;
	}
	if (!f) {
		e->stats.failopen[GW_FO_MIDSTREAM]++;
		txq_push(e, fwd, m);
		return;
	}
	f->last_tsc = e->now_tsc;
	if (s2c && (flags & TCP_SYN)) {
		f->s_isn = rte_be_to_cpu_32(p->tcp->sent_seq);
		f->have_s_isn = 1;
		remember_template(f, rte_pktmbuf_mtod(m, uint8_t *), p);
		txq_push(e, fwd, m);
		return;
	}
	if (flags & TCP_RST) {
		/*
		 * The connection is over: nothing is cut from it or injected into it
		 * any more; what still comes is only translated.
		 */
		f->rst = 1;
		f->parse_off = 1;
		f->held_len = 0;
	}
	if (flags & TCP_FIN) {
		if (c2s)
			f->fin_c = 1;
		else
			f->fin_s = 1;
	}
	if (!f->have_s_isn) {
		txq_push(e, fwd, m);
		return;
	}
	if (c2s)
		client_segment(e, f, m, p, fwd, back);
	else
		server_segment(e, f, m, p, fwd, back);
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
			txq_push(e, fwd, m);
			continue;
		}
		smtp_frame(e, m, &p, cls == FRAME_C2S, fwd, back);
	}
	e->stats.passthrough += passed;
}
