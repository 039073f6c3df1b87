// SPDX-License-Identifier: BSD-2-Clause
/*
 * TCP segment rewriting: frames built anew around what a stream step keeps
 * (headers copied, lengths and checksums fixed up), seq moved, and acks and
 * SACK edges translated through the other direction's edit list. What these
 * build goes into the port's transmit queue, which ends the segment's way.
 */
#include <string.h>

#include "engine_internal.h"

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
bool gw_translate_ack(struct gw_engine *e, struct gw_flow *f, struct gw_pkt *p, bool c2s)
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

/*
 * A new frame: the headers of 'hdr' (up to the TCP payload), then payload.
 * Lengths and checksums are fixed up; seq and flags are the caller's.
 */
struct rte_mbuf *gw_build_frame(struct gw_engine *e, const uint8_t *hdr, const struct gw_pkt *hp,
				const uint8_t *payload, uint16_t len, uint32_t seq, uint8_t flags,
				struct gw_pkt *out)
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

		/* extension headers, if any, lie between l3 + 40 and l4 */
		ip6->payload_len =
		    rte_cpu_to_be_16((uint16_t)(hp->payload_off - hp->l3_off - 40 + len));
		out->saddr = ip6->src_addr;
		out->daddr = ip6->dst_addr;
	}
	out->tcp->sent_seq = rte_cpu_to_be_32(seq);
	out->tcp->tcp_flags = flags;
	gw_csum_full(out);
	return m;
}
