/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sequence-space translation after drop-and-inject edits (DESIGN section 2).
 * Every edit is kept, not only the last (nf_conntrack_seqadj keeps one), so a
 * retransmission that straddles an older edit still maps right. Pure
 * arithmetic on the flow: the XDP side maps client->server segments, the TC
 * side server->client ones.
 */
#ifndef GREYWALL_BPF_SEQADJ_H
#define GREYWALL_BPF_SEQADJ_H

#include "greywall/relay.h"

static __always_inline bool gw_seq_before(u32 a, u32 b)
{
	return (s32)(a - b) < 0;
}

static __always_inline bool gw_seq_at_or_after(u32 a, u32 b)
{
	return (s32)(a - b) >= 0;
}

/*
 * x, in the view of a stream that holds each edit's range [start, start +
 * len), to the view without those ranges: a point inside one maps to its
 * start. The client's stream holds the removed lines (client view), the
 * server's stream our inserted replies (client view).
 */
static __always_inline u32 gw_seq_collapse(const struct gw_relay_flow *f, u32 x, bool server_stream)
{
	u32 out = x;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		const struct gw_relay_edit *e = &f->edit[i];
		u32 start = server_stream ? e->s_seq : e->c_seq;
		u32 len = server_stream ? e->inserted : e->removed;

		if (i >= f->nedits)
			break;
		if (gw_seq_at_or_after(x, start + len))
			out -= len;
		else if (gw_seq_at_or_after(x, start))
			out -= x - start;
	}
	return out;
}

/* The other way: x, in the view without the ranges, shifts by each range that lies before it. */
static __always_inline u32 gw_seq_expand(const struct gw_relay_flow *f, u32 x, bool server_stream)
{
	u32 out = x;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		const struct gw_relay_edit *e = &f->edit[i];

		if (i >= f->nedits)
			break;
		if (gw_seq_at_or_after(x, server_stream ? e->s_seq_srv : e->c_seq_srv))
			out += server_stream ? e->inserted : e->removed;
	}
	return out;
}

/* A client seq (client view) to the server's view; inside a removed line, its start. */
static __always_inline u32 gw_client_seq_to_server(const struct gw_relay_flow *f, u32 seq)
{
	return gw_seq_collapse(f, seq, false);
}

/*
 * An ack of the server's stream, client view, to the server's view. An ack
 * that covers only part of our reply acks nothing of the server's.
 */
static __always_inline u32 gw_client_ack_to_server(const struct gw_relay_flow *f, u32 ack)
{
	return gw_seq_collapse(f, ack, true);
}

/* A server seq (server view) to the client's view: after each insert point, shift. */
static __always_inline u32 gw_server_seq_to_client(const struct gw_relay_flow *f, u32 seq)
{
	return gw_seq_expand(f, seq, true);
}

/*
 * An ack of the client's stream, server view, to the client's view. Once the
 * server has everything before a removed line, the client's view includes
 * the line: our reply acked it already.
 */
static __always_inline u32 gw_server_ack_to_client(const struct gw_relay_flow *f, u32 ack)
{
	return gw_seq_expand(f, ack, false);
}

/* The client-view totals before a new edit: where it sits in the server's view. */
static __always_inline void gw_edit_totals(const struct gw_relay_flow *f, u32 *removed,
					   u32 *inserted)
{
	u32 r = 0, n = 0;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		if (i >= f->nedits)
			break;
		r += f->edit[i].removed;
		n += f->edit[i].inserted;
	}
	*removed = r;
	*inserted = n;
}

#endif /* GREYWALL_BPF_SEQADJ_H */
