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

/* A client seq (client view) to the server's view. */
static __always_inline u32 gw_client_seq_to_server(const struct gw_relay_flow *f, u32 seq)
{
	u32 out = seq;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		const struct gw_relay_edit *e = &f->edit[i];

		if (i >= f->nedits)
			break;
		if (gw_seq_at_or_after(seq, e->c_seq + e->removed))
			out -= e->removed;
		else if (gw_seq_at_or_after(seq, e->c_seq))
			out -= seq - e->c_seq; /* inside a removed line: its start */
	}
	return out;
}

/*
 * An ack of the server's stream, client view, to the server's view. An ack
 * that covers only part of our reply acks nothing of the server's.
 */
static __always_inline u32 gw_client_ack_to_server(const struct gw_relay_flow *f, u32 ack)
{
	u32 out = ack;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		const struct gw_relay_edit *e = &f->edit[i];

		if (i >= f->nedits)
			break;
		if (gw_seq_at_or_after(ack, e->s_seq + e->inserted))
			out -= e->inserted;
		else if (gw_seq_before(e->s_seq, ack))
			out -= ack - e->s_seq;
	}
	return out;
}

/* A server seq (server view) to the client's view: after each insert point, shift. */
static __always_inline u32 gw_server_seq_to_client(const struct gw_relay_flow *f, u32 seq)
{
	u32 out = seq;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		const struct gw_relay_edit *e = &f->edit[i];

		if (i >= f->nedits)
			break;
		if (gw_seq_at_or_after(seq, e->s_seq_srv))
			out += e->inserted;
	}
	return out;
}

/*
 * An ack of the client's stream, server view, to the client's view. Once the
 * server has everything before a removed line, the client's view includes
 * the line: our reply acked it already.
 */
static __always_inline u32 gw_server_ack_to_client(const struct gw_relay_flow *f, u32 ack)
{
	u32 out = ack;
	int i;

#pragma unroll
	for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
		const struct gw_relay_edit *e = &f->edit[i];

		if (i >= f->nedits)
			break;
		if (gw_seq_at_or_after(ack, e->c_seq_srv))
			out += e->removed;
	}
	return out;
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
