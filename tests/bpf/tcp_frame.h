/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ethernet/IPv4/TCP frames for the relay filter's fixtures and bench, with
 * checksums computed here (RFC 1071), independently of the BPF code.
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
	u32 ip; /* host order */
	u16 port;
};

struct frame {
	u8 b[FRAME_MAX];
	u32 len;
};

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10

/* Ethernet, IPv4 (id 0x1234, DF, TTL 64) and TCP (no options) from a to b. */
static inline void build4(struct frame *f, const struct endpoint *a, const struct endpoint *b,
			  u32 seq, u32 ack, u8 flags, u16 window, const char *payload)
{
	u32 plen = payload ? (u32)strlen(payload) : 0, sum;
	u8 *ip = f->b + 14, *tcp = ip + 20, ph[12];
	u16 v;

	memset(f->b, 0, sizeof(f->b));
	memcpy(f->b, b->mac, 6);
	memcpy(f->b + 6, a->mac, 6);
	f->b[12] = 0x08;
	ip[0] = 0x45;
	v = htons((u16)(20 + 20 + plen));
	memcpy(ip + 2, &v, 2);
	ip[4] = 0x12;
	ip[5] = 0x34;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	sum = htonl(a->ip);
	memcpy(ip + 12, &sum, 4);
	sum = htonl(b->ip);
	memcpy(ip + 16, &sum, 4);
	v = htons(csum_fold(csum_add(0, ip, 20)));
	memcpy(ip + 10, &v, 2);
	v = htons(a->port);
	memcpy(tcp, &v, 2);
	v = htons(b->port);
	memcpy(tcp + 2, &v, 2);
	sum = htonl(seq);
	memcpy(tcp + 4, &sum, 4);
	sum = htonl(ack);
	memcpy(tcp + 8, &sum, 4);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	v = htons(window);
	memcpy(tcp + 14, &v, 2);
	memcpy(tcp + 20, payload ? payload : "", plen);
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	v = htons((u16)(20 + plen));
	memcpy(ph + 10, &v, 2);
	v = htons(csum_fold(csum_add(csum_add(0, ph, 12), tcp, 20 + plen)));
	memcpy(tcp + 16, &v, 2);
	f->len = 14 + 20 + 20 + plen;
}

#endif /* GREYWALL_TESTS_TCP_FRAME_H */
