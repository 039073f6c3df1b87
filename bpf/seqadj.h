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
 * The edits live in a ring of GW_RELAY_MAX_EDITS, oldest at edit_head, and
 * each carries its place in both views (c_seq and c_seq_srv, s_seq and
 * s_seq_srv): their difference is everything removed (inserted) before it.
 * So a point maps through the newest edit at or before it alone, and the
 * oldest edits can be dropped once both peers acked past them (folding,
 * gw_fold_edits) without touching a total another CPU may be reading: an
 * edit's slot is written once and reused only GW_RELAY_MAX_EDITS edits later.
 * A point before the oldest edit left (a stale retransmission) maps through
 * that edit's offset: below the receiver's ack, as old bytes.
 */
static __always_inline const struct gw_relay_edit *gw_edit_at(const struct gw_relay_flow *f, u32 i)
{
	return &f->edit[(f->edit_head + i) & (GW_RELAY_MAX_EDITS - 1)];
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
		const struct gw_relay_edit *e = gw_edit_at(f, i);
		u32 start = server_stream ? e->s_seq : e->c_seq;
		u32 view = server_stream ? e->s_seq_srv : e->c_seq_srv;
		u32 len = server_stream ? e->inserted : e->removed;

		if (i >= f->nedits)
			break;
		if (i == 0 || gw_seq_at_or_after(x, start))
			out = gw_seq_at_or_after(x, start + len) ? x - (start - view) - len
			      : gw_seq_at_or_after(x, start)	 ? view
								 : x - (start - view);
	}
	return out;
}

/* The other way: x, in the view without the ranges, shifts by every range up to it. */
static __always_inline u32 gw_seq_expand(const struct gw_relay_flow *f, u32 x, bool server_stream)
{
	u32 out = x;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		const struct gw_relay_edit *e = gw_edit_at(f, i);
		u32 start = server_stream ? e->s_seq : e->c_seq;
		u32 view = server_stream ? e->s_seq_srv : e->c_seq_srv;
		u32 len = server_stream ? e->inserted : e->removed;

		if (i >= f->nedits)
			break;
		if (i == 0 || gw_seq_at_or_after(x, view))
			out = gw_seq_at_or_after(x, view) ? x + (start - view) + len
							  : x + (start - view);
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
	const struct gw_relay_edit *e;

	if (!f->nedits) {
		*removed = 0;
		*inserted = 0;
		return;
	}
	e = gw_edit_at(f, f->nedits - 1);
	*removed = e->c_seq - e->c_seq_srv + e->removed;
	*inserted = e->s_seq - e->s_seq_srv + e->inserted;
}

/*
 * Drop the oldest edits both peers have acked past: the server has every
 * client byte before the removed line (server_acked, its view) and the
 * client has our whole reply (client_ack, its view). The newest edit stays,
 * as the anchor that carries the totals.
 */
static __always_inline u32 gw_fold_edits(struct gw_relay_flow *f, u32 client_ack)
{
	u32 folded = 0;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS - 1; i++) {
		const struct gw_relay_edit *e = gw_edit_at(f, 0);

		if (f->nedits < 2 || gw_seq_before(f->server_acked, e->c_seq_srv) ||
		    gw_seq_before(client_ack, e->s_seq + e->inserted))
			break;
		f->edit_head = (f->edit_head + 1) & (GW_RELAY_MAX_EDITS - 1);
		f->nedits--;
		folded++;
	}
	return folded;
}

#endif /* GREYWALL_BPF_SEQADJ_H */
