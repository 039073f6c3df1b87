/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ethernet (optionally 802.1Q-tagged) / IPv4 or IPv6 / TCP frames for the
 * relay filter's fixtures and bench, with checksums computed here (RFC 1071),
 * independently of the BPF code.
 */
#ifndef GREYWALL_TESTS_TCP_FRAME_H
#define GREYWALL_TESTS_TCP_FRAME_H

#include <arpa/inet.h>
#include <string.h>

#include "greywall/compiler.h"

#define FRAME_MAX 1600

/* RFC 1071, over any number of pieces. */
static inline u32 csum_add(u32 sum, const void *p, size_t n)
{
	const u8 *b = p;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (u32)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (u32)(b[n - 1] << 8);
	return sum;
}

static inline u16 csum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (u16)~sum;
}

struct endpoint {
	u8 mac[6];
	u32 ip;	    /* host order, for IPv4 frames */
	u8 ip6[16]; /* for IPv6 frames */
	u16 port;
};

struct frame {
	u8 b[FRAME_MAX];
	u32 len;
};

/* How a frame is laid out beyond Ethernet/IPv4/TCP-without-options. */
struct frame_shape {
	int v6;		    /* IPv6 (hop limit 64, no flow label) instead of IPv4 */
	u16 vlan;	    /* an 802.1Q tag with this VID, if non-zero */
	const u8 *tcp_opts; /* TCP options, a multiple of four bytes */
	u32 tcp_opts_len;
};

/* A client and the lab's SMTP server, 198.18.0.2:25, with the MACs every fixture uses. */
static inline void smtp_endpoints(struct endpoint *client, struct endpoint *server, u32 client_ip,
				  u16 client_port)
{
	static const u8 cmac[6] = {2, 0, 0, 0, 0, 1}, smac[6] = {2, 0, 0, 0, 0, 2};

	memset(client, 0, sizeof(*client));
	memset(server, 0, sizeof(*server));
	memcpy(client->mac, cmac, 6);
	memcpy(server->mac, smac, 6);
	client->ip = client_ip;
	client->port = client_port;
	server->ip = 0xc6120002;
	server->port = 25;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static inline void put16(u8 *p, u16 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static inline void put32(u8 *p, u32 v)
{
	put16(p, (u16)(v >> 16));
	put16(p + 2, (u16)v);
}

/*
 * A frame from a to b: IPv4 with id 0x1234, DF, TTL 64, or IPv6 with hop
 * limit 64; TCP with the shape's options, if any.
 */
static inline void build_frame(struct frame *f, const struct endpoint *a, const struct endpoint *b,
			       u32 seq, u32 ack, u8 flags, u16 window, const char *payload,
			       const struct frame_shape *shape)
{
	static const struct frame_shape plain;
	u32 plen = payload ? (u32)strlen(payload) : 0, l3 = 14, l4, thl, sum;
	u8 *ip, *tcp, ph[40];

	if (!shape)
		shape = &plain;
	thl = 20 + shape->tcp_opts_len;
	memset(f->b, 0, sizeof(f->b));
	memcpy(f->b, b->mac, 6);
	memcpy(f->b + 6, a->mac, 6);
	if (shape->vlan) {
		put16(f->b + 12, 0x8100);
		put16(f->b + 14, shape->vlan);
		l3 = 18;
	}
	put16(f->b + l3 - 2, shape->v6 ? 0x86dd : 0x0800);
	ip = f->b + l3;
	if (shape->v6) {
		l4 = l3 + 40;
		ip[0] = 0x60;
		put16(ip + 4, (u16)(thl + plen));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, a->ip6, 16);
		memcpy(ip + 24, b->ip6, 16);
		memcpy(ph, a->ip6, 16);
		memcpy(ph + 16, b->ip6, 16);
		memset(ph + 32, 0, 8);
		put32(ph + 32, thl + plen);
		ph[39] = 6;
		sum = csum_add(0, ph, 40);
	} else {
		l4 = l3 + 20;
		ip[0] = 0x45;
		put16(ip + 2, (u16)(20 + thl + plen));
		put16(ip + 4, 0x1234);
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = 6;
		put32(ip + 12, a->ip);
		put32(ip + 16, b->ip);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		put16(ph + 10, (u16)(thl + plen));
		sum = csum_add(0, ph, 12);
	}
	tcp = f->b + l4;
	put16(tcp, a->port);
	put16(tcp + 2, b->port);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (u8)((thl / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, window);
	if (shape->tcp_opts_len)
		memcpy(tcp + 20, shape->tcp_opts, shape->tcp_opts_len);
	memcpy(tcp + thl, payload ? payload : "", plen);
	put16(tcp + 16, csum_fold(csum_add(sum, tcp, thl + plen)));
	f->len = l4 + thl + plen;
}

/* Ethernet, IPv4 and TCP without options. */
static inline void build4(struct frame *f, const struct endpoint *a, const struct endpoint *b,
			  u32 seq, u32 ack, u8 flags, u16 window, const char *payload)
{
	build_frame(f, a, b, seq, ack, flags, window, payload, NULL);
}

/* Where a frame's IP and TCP headers start, read back from the frame itself. */
static inline void frame_offsets(const struct frame *f, u32 *l3, u32 *l4, int *v6)
{
	u32 off = 12;
	u16 type = (u16)(f->b[off] << 8 | f->b[off + 1]);

	while (type == 0x8100 || type == 0x88a8) {
		off += 4;
		type = (u16)(f->b[off] << 8 | f->b[off + 1]);
	}
	*l3 = off + 2;
	*v6 = type == 0x86dd;
	*l4 = *l3 + (*v6 ? 40 : (u32)(f->b[*l3] & 0xf) * 4);
}

#endif /* GREYWALL_TESTS_TCP_FRAME_H */
