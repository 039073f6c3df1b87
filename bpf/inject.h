/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Turning the client's command segment into our reply, in place, for
 * XDP_TX (as the kernel's xdp_synproxy turns a SYN into a SYN-ACK). The TCP
 * header and reply are assembled in per-CPU scratch, checksummed there, and
 * written over the frame once it has the right length: if anything fails the
 * frame is still the client's, untouched, and passes.
 */
#ifndef GREYWALL_BPF_INJECT_H
#define GREYWALL_BPF_INJECT_H

#include "csum.h"
#include "maps.h"
#include "parse.h"

#define GW_TCPOPT_NOP	    1
#define GW_TCPOPT_SACK	    5
#define GW_TCPOPT_TIMESTAMP 8

/*
 * The client's option at s->reply[i], made ours: timestamps swap (our TSval
 * is the echo of the server's last one, so PAWS holds; we echo the
 * client's), SACK blocks describe the server's stream and become NOPs.
 * Returns the option's length, or 0 at the end of the options.
 */
__attribute__((noinline)) int gw_bpf_reply_option(struct gw_scratch *s, u32 i, u32 hlen)
{
	u8 *opt, kind, len;
	u32 k;

	if (!s || i >= hlen || hlen > 60)
		return 0;
	opt = s->reply;
	kind = opt[i & 63];
	if (kind == 0)
		return 0;
	if (kind == GW_TCPOPT_NOP)
		return 1;
	if (i + 1 >= hlen)
		return 0;
	len = opt[(i + 1) & 63];
	if (len < 2 || i + len > hlen)
		return 0;
	if (kind == GW_TCPOPT_TIMESTAMP && len == 10) {
		for (k = 0; k < 4; k++) {
			u8 t = opt[(i + 2 + k) & 63];

			opt[(i + 2 + k) & 63] = opt[(i + 6 + k) & 63];
			opt[(i + 6 + k) & 63] = t;
		}
	} else if (kind == GW_TCPOPT_SACK) {
		for (k = 0; k < 40; k++) {
			if (k >= len)
				break;
			opt[(i + k) & 63] = GW_TCPOPT_NOP;
		}
	}
	return len;
}

/*
 * Every option of the reply's header. i walks each byte so the verifier sees
 * a constant per iteration; next comes from a step's unknown result and is
 * only compared, so the verifier neither tracks nor splits on it.
 */
static __always_inline void gw_reply_options(struct gw_scratch *s, u32 hlen)
{
	u32 i, next = 20;
	int len;

	for (i = 20; i < 60; i++) {
		if (i < next)
			continue;
		len = gw_bpf_reply_option(s, i, hlen);
		if (len <= 0)
			break;
		next = i + (u32)len;
	}
}

/* Decimal seconds at out[pos]; returns the new position. */
static __always_inline u32 gw_put_u32(u8 *out, u32 pos, u32 v)
{
	u32 n = 1, t = v, k;

#pragma unroll
	for (k = 0; k < 9; k++) {
		if (t >= 10) {
			t /= 10;
			n++;
		}
	}
#pragma unroll
	for (k = 0; k < 10; k++) {
		if (k < n) {
			out[(pos + n - 1 - k) & 511] = '0' + v % 10;
			v /= 10;
		}
	}
	return pos + n;
}

/*
 * Render the reply text after the TCP header at s->reply[pos]. Returns the
 * end position, or 0 if it does not fit.
 */
static __always_inline u32 gw_render_text(struct gw_scratch *s, u32 pos,
					  const struct gw_relay_text *text,
					  const struct gw_relay_flow *flow)
{
	int k;

#pragma unroll
	for (k = 0; k < GW_RELAY_PIECES; k++) {
		u32 off = text->off[k], len = text->len[k];
		const u8 *src = NULL;
		u32 n = 0;

		if (k >= text->npieces)
			break;
		if (off >= GW_RELAY_TEXT_MAX || len > GW_RELAY_TEXT_MAX - off || pos > 508)
			return 0;
		if (len)
			bpf_probe_read_kernel(&s->reply[pos & 511], len & 0xff,
					      &text->bytes[off & 0xff]);
		pos += len;
		switch (text->subst[k]) {
		case GW_SUB_RCPT:
			src = s->cmd.path;
			n = s->cmd.path_len;
			break;
		case GW_SUB_SENDER:
			src = flow->sender;
			n = flow->sender_len;
			break;
		case GW_SUB_SECONDS:
			if (pos > 500)
				return 0;
			pos = gw_put_u32(s->reply, pos, s->req.remaining);
			break;
		default:
			break;
		}
		if (pos > 508 || n > GW_ADDR_MAX)
			return 0;
		if (src && n)
			bpf_probe_read_kernel(&s->reply[pos & 511], n & 0x1ff, src);
		pos += n;
	}
	if (pos > 508)
		return 0;
	s->reply[pos & 511] = '\r';
	s->reply[(pos + 1) & 1023] = '\n';
	return pos + 2;
}

/*
 * Rewrite the client's segment described by s->req into our reply. Returns
 * the reply's payload length, or a negative gw_relay_stat reason with the
 * frame intact. A global function: the verifier checks it once.
 */
__attribute__((noinline)) int gw_bpf_inject(struct xdp_md *ctx, struct gw_scratch *s,
					    const struct gw_relay_config *cfg,
					    const struct gw_relay_flow *flow)
{
	struct gw_inject_req *r;
	struct tcphdr *th;
	void *data, *data_end;
	u32 hlen, l3_off, l4_off, end, tcp_len;
	u64 sum = 0;
	u16 port;
	int delta;
	u32 kind;

	if (!s || !cfg || !flow)
		return -GW_RF_BAD_COMMAND;
	r = &s->req;
	kind = r->kind;
	th = (struct tcphdr *)s->reply;
	hlen = r->hlen;
	l3_off = r->l3_off;
	l4_off = r->l4_off;
	if (hlen < 20 || hlen > 60 || l3_off > 64 || l4_off > 128 || kind >= GW_RK_COUNT)
		return -GW_RF_BAD_COMMAND;
	if (bpf_xdp_load_bytes(ctx, l4_off, s->reply, hlen) < 0)
		return -GW_RF_BAD_COMMAND;
	port = th->source;
	th->source = th->dest;
	th->dest = port;
	th->seq = bpf_htonl(r->seq);
	th->ack_seq = bpf_htonl(r->ack);
	((u8 *)th)[13] = r->reset ? 0x14 : 0x18; /* RST | ACK, or ACK | PSH */
	th->window = r->window;
	th->check = 0;
	th->urg_ptr = 0;
	gw_reply_options(s, hlen);

	end = r->reset ? hlen : gw_render_text(s, hlen, &cfg->text[kind], flow);
	if (!end)
		return -GW_RF_LONG_LINE;
	tcp_len = end;
	s->reply[end & 511] = 0; /* pad to a multiple of four for csum_diff */
	s->reply[(end + 1) & 1023] = 0;
	s->reply[(end + 2) & 1023] = 0;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (r->family == GW_AF_INET) {
		struct iphdr *ip = data + l3_off;
		struct {
			__be32 saddr, daddr;
			u8 zero, proto;
			__be16 len;
		} ph;

		if ((void *)(ip + 1) > data_end)
			return -GW_RF_BAD_COMMAND;
		ph.saddr = ip->daddr;
		ph.daddr = ip->saddr;
		ph.zero = 0;
		ph.proto = IPPROTO_TCP;
		ph.len = bpf_htons(tcp_len);
		sum = bpf_csum_diff(NULL, 0, (void *)&ph, sizeof(ph), 0);
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		struct {
			struct in6_addr saddr, daddr;
			__be32 len;
			__be32 proto;
		} ph;

		if ((void *)(ip6 + 1) > data_end)
			return -GW_RF_BAD_COMMAND;
		ph.saddr = ip6->daddr;
		ph.daddr = ip6->saddr;
		ph.len = bpf_htonl(tcp_len);
		ph.proto = bpf_htonl(IPPROTO_TCP);
		sum = bpf_csum_diff(NULL, 0, (void *)&ph, sizeof(ph), 0);
	}
	sum = bpf_csum_diff(NULL, 0, (void *)s->reply, ((tcp_len + 3) & ~3u) & 511, sum);
	th->check = ~gw_csum_fold(sum);

	delta = (int)(l4_off + tcp_len) - (int)r->frame_len;
	if (delta && bpf_xdp_adjust_tail(ctx, delta) < 0) {
		/*
		 * No tailroom (veth hands XDP the sender's skb as it is), but XDP
		 * always has headroom: grow the frame at the front instead and move
		 * the client's L2/L3 headers down to the new start. s->line, the
		 * parsed command's buffer, is free by now.
		 */
		if (delta < 0 || delta > 255 || l4_off < 14 || bpf_xdp_adjust_head(ctx, -delta) < 0)
			return -GW_RF_NO_TAILROOM;
		if (bpf_xdp_load_bytes(ctx, delta & 0xff, s->line, l4_off) < 0 ||
		    bpf_xdp_store_bytes(ctx, 0, s->line, l4_off) < 0) {
			bpf_xdp_adjust_head(ctx, delta); /* give the frame back as it came */
			return -GW_RF_NO_TAILROOM;
		}
		gw_stat(GW_RS_REPLIES_HEADROOM);
	}

	/* The frame now has the reply's length; the headers are still the client's. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	{
		struct ethhdr *eth = data;
		u8 mac[ETH_ALEN];

		if ((void *)(eth + 1) > data_end)
			return -GW_RF_NO_TAILROOM;
		__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	}
	if (r->family == GW_AF_INET) {
		struct iphdr *ip = data + l3_off;
		__be32 addr;
		__be16 old_len, new_len;

		if ((void *)(ip + 1) > data_end)
			return -GW_RF_NO_TAILROOM;
		addr = ip->saddr; /* a swap leaves the header checksum as it is */
		ip->saddr = ip->daddr;
		ip->daddr = addr;
		old_len = ip->tot_len;
		new_len = bpf_htons(l4_off - l3_off + tcp_len);
		ip->tot_len = new_len;
		gw_csum_replace2(&ip->check, old_len, new_len);
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		struct in6_addr addr;

		if ((void *)(ip6 + 1) > data_end)
			return -GW_RF_NO_TAILROOM;
		addr = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
		ip6->payload_len = bpf_htons(tcp_len);
	}
	/* (tcp_len - 1) % 512 + 1: tcp_len itself, in a form the verifier sees is not zero */
	if (bpf_xdp_store_bytes(ctx, l4_off, s->reply, ((tcp_len - 1) & 511) + 1) < 0)
		return -GW_RF_NO_TAILROOM;
	return (int)(tcp_len - hlen);
}

/* Describe the client's segment in pkt for gw_bpf_inject. */
static __always_inline void gw_inject_describe(struct gw_scratch *s, const struct gw_pkt *pkt,
					       u32 seq, u32 ack, u32 remaining, u32 kind,
					       u16 window)
{
	s->req.l3_off = pkt->l3_off;
	s->req.l4_off = pkt->l4_off;
	s->req.hlen = pkt->tcp_hlen;
	s->req.frame_len = pkt->frame_len;
	s->req.family = pkt->family;
	s->req.seq = seq;
	s->req.ack = ack;
	s->req.remaining = remaining;
	s->req.kind = kind;
	s->req.window = window;
	s->req.reset = 0;
}

#endif /* GREYWALL_BPF_INJECT_H */
