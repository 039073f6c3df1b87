/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Header parsing for the relay filter: Ethernet with up to two VLAN tags,
 * IPv4 or IPv6, then TCP. Each helper takes a cursor and data_end, as
 * xdp-tools does, so the XDP and TC programs share them.
 */
#ifndef GREYWALL_BPF_PARSE_H
#define GREYWALL_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "greywall/policy.h"

struct gw_cursor {
	void *pos;
};

struct gw_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* What the programs need to know of one TCP segment. */
struct gw_pkt {
	struct ethhdr *eth;
	void *l3;
	struct tcphdr *tcp;
	u32 l3_off;
	u32 l4_off;
	u32 tcp_hlen;
	u32 payload_off;
	u32 payload_len; /* from the IP length: Ethernet padding is not payload */
	u32 frame_len;
	u8 family;
	u8 fragment;
	u8 ext_headers;
	u8 pad;
};

static __always_inline int gw_parse_eth(struct gw_cursor *c, void *data_end, struct ethhdr **eth,
					u16 *proto)
{
	struct ethhdr *e = c->pos;
	u16 p;
	int i;

	if ((void *)(e + 1) > data_end)
		return -1;
	c->pos = e + 1;
	p = bpf_ntohs(e->h_proto);
#pragma unroll
	for (i = 0; i < 2; i++) {
		struct gw_vlan_hdr *v = c->pos;

		if (p != ETH_P_8021Q && p != ETH_P_8021AD)
			break;
		if ((void *)(v + 1) > data_end)
			return -1;
		p = bpf_ntohs(v->proto);
		c->pos = v + 1;
	}
	*eth = e;
	*proto = p;
	return 0;
}

/* Returns the IPv4 payload length, or -1. Fragments are flagged, not parsed. */
static __always_inline int gw_parse_ipv4(struct gw_cursor *c, void *data_end, struct iphdr **iph,
					 u8 *fragment)
{
	struct iphdr *ip = c->pos;
	u32 hlen, tot;

	if ((void *)(ip + 1) > data_end)
		return -1;
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip) || c->pos + hlen > data_end)
		return -1;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen)
		return -1;
	*fragment = (ip->frag_off & bpf_htons(0x3fff)) != 0;
	if (ip->protocol != IPPROTO_TCP)
		return -1;
	*iph = ip;
	c->pos += hlen;
	return (int)(tot - hlen);
}

/* IPv6 extension headers (RFC 8200 section 4, and AH, ESP, Mobility, HIP, Shim6). */
static __always_inline bool gw_ipv6_is_ext(u8 nexthdr)
{
	switch (nexthdr) {
	case 0:	  /* hop-by-hop */
	case 43:  /* routing */
	case 44:  /* fragment */
	case 50:  /* ESP */
	case 51:  /* AH */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
		return true;
	}
	return false;
}

/* Returns the IPv6 payload length, or -1. Extension headers are flagged. */
static __always_inline int gw_parse_ipv6(struct gw_cursor *c, void *data_end, struct ipv6hdr **ip6h,
					 u8 *ext)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > data_end)
		return -1;
	if (ip6->nexthdr != IPPROTO_TCP) {
		/* only a chain of extension headers could still lead to TCP; ICMPv6 and the rest
		 * cannot */
		*ext = gw_ipv6_is_ext(ip6->nexthdr);
		return -1;
	}
	*ip6h = ip6;
	c->pos = ip6 + 1;
	return bpf_ntohs(ip6->payload_len);
}

static __always_inline int gw_parse_tcp(struct gw_cursor *c, void *data_end, struct tcphdr **tcph)
{
	struct tcphdr *tcp = c->pos;
	u32 hlen;

	if ((void *)(tcp + 1) > data_end)
		return -1;
	hlen = tcp->doff * 4;
	if (hlen < sizeof(*tcp) || c->pos + hlen > data_end)
		return -1;
	*tcph = tcp;
	c->pos += hlen;
	return (int)hlen;
}

/*
 * Parse a frame down to TCP. Returns 0 for a TCP segment, 1 for something
 * that is not ours to look at (not TCP, a fragment, an IPv6 extension chain:
 * pkt says which), -1 for a malformed or truncated frame. frame_len is the
 * whole frame: an skb's payload may lie past data_end, in paged data that
 * the helpers read.
 */
static __always_inline int gw_parse_frame(void *data, void *data_end, u32 frame_len,
					  struct gw_pkt *pkt)
{
	struct gw_cursor c = {.pos = data};
	struct iphdr *ip4 = NULL;
	struct ipv6hdr *ip6 = NULL;
	int l3_payload, hlen;
	u16 proto;

	pkt->frame_len = frame_len;
	pkt->fragment = 0;
	pkt->ext_headers = 0;
	if (gw_parse_eth(&c, data_end, &pkt->eth, &proto) < 0)
		return -1;
	pkt->l3 = c.pos;
	pkt->l3_off = c.pos - data;
	if (proto == ETH_P_IP) {
		pkt->family = GW_AF_INET;
		l3_payload = gw_parse_ipv4(&c, data_end, &ip4, &pkt->fragment);
		if (pkt->fragment)
			return 1;
	} else if (proto == ETH_P_IPV6) {
		pkt->family = GW_AF_INET6;
		l3_payload = gw_parse_ipv6(&c, data_end, &ip6, &pkt->ext_headers);
		if (pkt->ext_headers)
			return 1;
	} else {
		return 1;
	}
	if (l3_payload < 0)
		return 1;
	pkt->l4_off = c.pos - data;
	hlen = gw_parse_tcp(&c, data_end, &pkt->tcp);
	if (hlen < 0 || hlen > l3_payload)
		return -1;
	pkt->tcp_hlen = hlen;
	pkt->payload_off = pkt->l4_off + hlen;
	pkt->payload_len = l3_payload - hlen;
	if (pkt->payload_off + pkt->payload_len > pkt->frame_len)
		return -1;
	return 0;
}

/* Flow key with the client first, whichever way the segment goes. */
static __always_inline void gw_flow_key(const struct gw_pkt *pkt, void *data_end, bool from_client,
					struct gw_relay_flow_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->family = pkt->family;
	if (pkt->family == GW_AF_INET) {
		struct iphdr *ip = pkt->l3;

		if ((void *)(ip + 1) > data_end)
			return;
		__builtin_memcpy(key->client, from_client ? &ip->saddr : &ip->daddr, 4);
		__builtin_memcpy(key->server, from_client ? &ip->daddr : &ip->saddr, 4);
	} else {
		struct ipv6hdr *ip6 = pkt->l3;

		if ((void *)(ip6 + 1) > data_end)
			return;
		__builtin_memcpy(key->client, from_client ? &ip6->saddr : &ip6->daddr, 16);
		__builtin_memcpy(key->server, from_client ? &ip6->daddr : &ip6->saddr, 16);
	}
	key->client_port = from_client ? pkt->tcp->source : pkt->tcp->dest;
	key->server_port = from_client ? pkt->tcp->dest : pkt->tcp->source;
}

#endif /* GREYWALL_BPF_PARSE_H */
