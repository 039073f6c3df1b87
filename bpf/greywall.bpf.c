// SPDX-License-Identifier: BSD-2-Clause
/*
 * greywall.bpf.o: the relay filter. greywall_xdp reads the client's commands
 * on the relay's ingress and answers an unseen triplet's RCPT itself, turning
 * the segment into the 450 with XDP_TX; greywall_tc_egress follows the
 * server's replies, translates its segments past our edits and masks
 * PIPELINING for clients we do not trust yet, so they send one command per
 * segment. Whatever the filter cannot handle passes unchanged and is counted.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "greywall/compiler.h"

#include "table_glue.h" /* before greywall/table.h */

#include "greywall/policy.h"
#include "greywall/relay.h"
#include "greywall/relay_defaults.h"
#include "greywall/smtp_command.h"

#include "csum.h"
#include "decide.h"
#include "inject.h"
#include "maps.h"
#include "parse.h"
#include "seqadj.h"
#include "state.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The kind picks the map: a table struct passed to a step holds scalars only. */
static __always_inline void gw_emit_event(const struct gw_relay_flow_key *key,
					  const struct gw_relay_flow *flow,
					  const struct gw_scratch *s, u64 now, u32 verdict,
					  u32 remaining, u32 kind)
{
	struct gw_relay_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	u32 n;

	if (!ev) {
		gw_stat(GW_RF_EVENTS_DROPPED);
		return;
	}
	ev->time = now;
	ev->fp = 0;
	ev->remaining = remaining;
	ev->verdict = verdict;
	ev->family = key->family;
	ev->kind = kind;
	__builtin_memcpy(ev->client, key->client, 16);
	n = flow->sender_len;
	ev->sender_len = n > GW_ADDR_MAX ? GW_ADDR_MAX : n;
	bpf_probe_read_kernel(ev->sender, ev->sender_len & 0x1ff, flow->sender);
	n = s->cmd.path_len;
	ev->rcpt_len = n > GW_ADDR_MAX ? GW_ADDR_MAX : n;
	bpf_probe_read_kernel(ev->rcpt, ev->rcpt_len & 0x1ff, s->cmd.path);
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline struct gw_scratch *gw_scratch(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/*
 * Answer the client's segment with our reply and record the edit. Returns
 * XDP_TX, or XDP_PASS with the reason counted.
 */
static __always_inline int gw_answer(struct xdp_md *ctx, struct gw_pkt *pkt,
				     struct gw_relay_flow *flow, struct gw_scratch *s,
				     const struct gw_relay_config *cfg, u32 kind, u32 remaining)
{
	u32 seq = bpf_ntohl(pkt->tcp->seq), ack = bpf_ntohl(pkt->tcp->ack_seq);
	u32 removed, inserted, n = flow->nedits;
	int len;

	if (n >= GW_RELAY_MAX_EDITS) {
		gw_stat(GW_RF_EDITS_FULL);
		return XDP_PASS;
	}
	gw_inject_describe(s, pkt, ack, seq + pkt->payload_len, remaining, kind,
			   flow->server_window);
	len = gw_bpf_inject(ctx, s, cfg, flow);
	if (len == -GW_RF_NO_TAILROOM && kind <= GW_RK_BLACKLIST) {
		/*
		 * The driver left no room to grow the frame (veth hands XDP the sender's
		 * skb as it is): the short form fits in the RCPT line's own bytes.
		 */
		s->req.kind = kind + GW_RK_GREYLIST_SHORT;
		len = gw_bpf_inject(ctx, s, cfg, flow);
		if (len >= 0)
			gw_stat(GW_RS_REPLIES_SHORT);
	}
	if (len < 0) {
		gw_stat(-len);
		return XDP_PASS;
	}
	gw_edit_totals(flow, &removed, &inserted);
	if (n < GW_RELAY_MAX_EDITS) {
		struct gw_relay_edit *e =
		    &flow->edit[(flow->edit_head + n) & (GW_RELAY_MAX_EDITS - 1)];

		e->c_seq = seq;
		e->c_seq_srv = seq - removed;
		e->s_seq = ack;
		e->s_seq_srv = ack - inserted;
		e->removed = pkt->payload_len;
		e->inserted = len;
		e->remaining = remaining;
		e->kind = s->req.kind; /* a resend writes the same bytes */
		flow->nedits = n + 1;
	}
	flow->server_next = ack + len;
	gw_stat(GW_RS_REPLIES_INJECTED);
	return XDP_TX;
}

/*
 * The length of the line in s->line[0, len) without its LF and the CR before
 * it (other CRs are blanks to the parser); len is at least 2.
 */
static __always_inline u32 gw_line_body(const struct gw_scratch *s, u32 len)
{
	return len - 1 - (s->line[(len - 2) & 1023] == '\r');
}

/* A retransmission of a line we removed: send the same reply again. */
static __always_inline int gw_resend(struct xdp_md *ctx, struct gw_pkt *pkt,
				     struct gw_relay_flow *flow, struct gw_scratch *s,
				     const struct gw_relay_config *cfg,
				     const struct gw_relay_edit *e)
{
	u32 len = pkt->payload_len;
	int ret;

	if (len < 3 || len > GW_LINE_BUF - 8)
		return XDP_PASS;
	if (bpf_xdp_load_bytes(ctx, pkt->payload_off, s->line, len) < 0)
		return XDP_PASS;
	gw_bpf_parse_line(s, gw_line_body(s, len));
	gw_inject_describe(s, pkt, e->s_seq, e->c_seq + e->removed, e->remaining, e->kind,
			   flow->server_window);
	ret = gw_bpf_inject(ctx, s, cfg, flow);
	if (ret < 0) {
		gw_stat(-ret);
		return XDP_PASS;
	}
	gw_stat(GW_RS_REPLIES_RESENT);
	return XDP_TX;
}

static __always_inline void gw_trip_net(struct gw_scratch *s, const struct gw_relay_flow_key *key,
					const struct gw_relay_config *cfg)
{
	gw_client_net_of(&s->trip.net, &cfg->policy, key->family, key->client);
}

/* EHLO/HELO: remember the name, decide whether to mask PIPELINING in the reply. */
static __always_inline void gw_on_helo(struct gw_scratch *s, struct gw_relay_flow *flow,
				       const struct gw_relay_flow_key *key,
				       struct gw_relay_config *cfg, u64 now)
{
	u32 n = s->cmd.path_len, hits;

	if (n > GW_RELAY_HELO_MAX)
		n = GW_RELAY_HELO_MAX;
	bpf_probe_read_kernel(flow->helo, n & 0x7f, s->cmd.path);
	flow->helo_len = n; /* the sender stays, as after an RSET */
	flow->ehlo_pending = s->cmd.verb == GW_CMD_EHLO;
	flow->mask_pipelining = 0;
	if (!cfg->mask_pipelining || !flow->ehlo_pending)
		return;
	/* A trusted network may pipeline: nothing of it is greylisted. */
	gw_trip_net(s, key, cfg);
	s->trip.rcpt_len = 0;
	s->list_gen = cfg->list_gen;
	hits = gw_bpf_lists(s, key, flow, 0, 0);
	if (hits & GW_LIST_CLIENT)
		return;
	{
		struct gw_table trip, awlt;
		struct gw_policy p;
		u64 secret[2];

		if (!gw_bpf_policy(cfg, now, secret, &trip, &awlt, &p))
			return;
		if (cfg->policy.awl_clients &&
		    gw_awl_listed(&p, &s->trip.net, now, cfg->policy.awl_clients))
			return;
	}
	flow->mask_pipelining = 1;
}

/*
 * STARTTLS greylisted: the client's session is reset, not answered 421. An
 * opportunistic-TLS client that reads a 421 to STARTTLS goes on in plaintext
 * on the same connection (Postfix does), so its envelope would cross the
 * wire in the clear, and XDP can send only one frame for this one. Reset, it
 * writes nothing more there; a plaintext session it opens next is refused at
 * its greeting while the pseudo-triplet waits (gw_on_greeting). The server
 * never saw the STARTTLS: it times its session out. Returns the XDP action.
 */
static __always_inline int gw_reset_client(struct xdp_md *ctx, struct gw_pkt *pkt,
					   struct gw_relay_flow *flow, struct gw_scratch *s,
					   const struct gw_relay_config *cfg)
{
	u32 seq = bpf_ntohl(pkt->tcp->seq), ack = bpf_ntohl(pkt->tcp->ack_seq);

	gw_inject_describe(s, pkt, ack, seq + pkt->payload_len, 0, GW_RK_TLS, flow->server_window);
	s->req.reset = 1;
	if (gw_bpf_inject(ctx, s, cfg, flow) < 0) {
		flow->awaiting_reply = 1;
		flow->mode = GW_RM_CLOSED; /* the STARTTLS went on: what follows is refused */
		return XDP_PASS;
	}
	gw_stat(GW_RS_SESSIONS_RESET);
	flow->reset = 1;
	flow->mode = GW_RM_CLOSED;
	return XDP_TX;
}

/*
 * RCPT or STARTTLS: decide, and answer the client ourselves if the verdict
 * rejects. Returns the XDP action.
 */
static __always_inline int gw_on_decision(struct xdp_md *ctx, struct gw_pkt *pkt,
					  struct gw_relay_flow *flow,
					  const struct gw_relay_flow_key *key, struct gw_scratch *s,
					  struct gw_relay_config *cfg, u64 now, bool tls)
{
	u64 secret[2] = {};
	u32 remaining = 0, hits = 0, kind;
	int verdict, norm;

	gw_trip_net(s, key, cfg);
	if (!tls) {
		norm = gw_bpf_normalize(s, (struct gw_addr_bytes *)s->trip.rcpt, 0, cfg);
		if (norm < 0) {
			gw_stat(GW_RF_BAD_COMMAND);
			return XDP_PASS;
		}
		s->trip.rcpt_len = norm;
		s->trip.sender_len = flow->sender_len;
		bpf_probe_read_kernel(s->trip.sender, flow->sender_len & 0x1ff, flow->sender);
	} else {
		s->trip.rcpt_len = 0;
	}
	/* all zero before the first decision lays the table out: nothing listed matches then */
	gw_table_secret(&triplets, secret);
	s->list_gen = cfg->list_gen;
	hits = gw_bpf_lists(s, key, flow, secret[0], secret[1]);
	s->now = now;
	s->hits = hits;
	s->tls = tls;
	verdict = gw_bpf_decide(s, cfg, flow);
	remaining = s->remaining;
	if (verdict < 0 || verdict >= GW_V_COUNT)
		verdict = GW_V_FAIL_OPEN;
	gw_stat(GW_RS_VERDICT_FIRST + verdict);
	if (verdict == GW_V_FAIL_OPEN)
		gw_stat(GW_RF_TABLE);
	if (verdict == GW_V_GREYLIST)
		kind = tls ? GW_RK_TLS : GW_RK_GREYLIST;
	else if (verdict == GW_V_BLACKLIST)
		kind = GW_RK_BLACKLIST;
	else
		kind = 0xff;
	gw_emit_event(key, flow, s, now, verdict, remaining, kind);
	if (kind == 0xff) {
		flow->awaiting_reply = 1;
		if (tls)
			flow->mode = GW_RM_OFF; /* encrypted from here on */
		return XDP_PASS;
	}
	if (tls && verdict == GW_V_GREYLIST) {
		gw_stat(GW_RS_TLS_GREYLISTED);
		return gw_reset_client(ctx, pkt, flow, s, cfg);
	}
	if (gw_answer(ctx, pkt, flow, s, cfg, kind, remaining) != XDP_TX) {
		flow->awaiting_reply = 1;
		if (tls)
			flow->mode = GW_RM_OFF;
		return XDP_PASS;
	}
	if (tls)
		flow->mode = GW_RM_CLOSED; /* the 421 ends the session */
	return XDP_TX;
}

/*
 * No downgrade: a plaintext greeting while this (network, HELO)'s STARTTLS is
 * greylisted and within its delay gets the TLS reply, and the session ends
 * before an envelope is sent in cleartext. Returns the XDP action.
 */
static __always_inline int gw_on_greeting(struct xdp_md *ctx, struct gw_pkt *pkt,
					  struct gw_relay_flow *flow,
					  const struct gw_relay_flow_key *key, struct gw_scratch *s,
					  struct gw_relay_config *cfg, u64 now)
{
	gw_trip_net(s, key, cfg);
	s->trip.rcpt_len = 0;
	s->list_gen = cfg->list_gen;
	s->hits = gw_bpf_lists(s, key, flow, 0, 0);
	s->now = now;
	if (!gw_bpf_tls_pending(s, cfg, flow)) {
		flow->awaiting_reply = 1;
		return XDP_PASS;
	}
	gw_stat(GW_RS_TLS_PENDING_REFUSED);
	gw_emit_event(key, flow, s, now, GW_V_GREYLIST, s->remaining, GW_RK_TLS);
	if (gw_answer(ctx, pkt, flow, s, cfg, GW_RK_TLS, s->remaining) != XDP_TX) {
		flow->awaiting_reply = 1;
		return XDP_PASS;
	}
	flow->mode = GW_RM_CLOSED; /* the 421 ends the session */
	return XDP_TX;
}

/*
 * A client that pipelines although PIPELINING was masked for it breaks RFC
 * 2920, which no real MTA does and bots do (postscreen's pipelining test).
 * Its segment cannot be judged line by line here, and passing it would let
 * its RCPTs through un-judged: the session is refused with the TLS reply
 * (421) and ends. Returns the XDP action.
 */
static __always_inline int gw_refuse_pipelining(struct xdp_md *ctx, struct gw_pkt *pkt,
						struct gw_relay_flow *flow, struct gw_scratch *s,
						struct gw_relay_config *cfg)
{
	if (gw_answer(ctx, pkt, flow, s, cfg, GW_RK_TLS, 0) != XDP_TX) {
		gw_stat(GW_RF_PIPELINED);
		flow->awaiting_reply = 1;
		return XDP_PASS;
	}
	gw_stat(GW_RS_PIPELINING_REFUSED);
	flow->mode = GW_RM_CLOSED;
	return XDP_TX;
}

/*
 * No room for one more edit: the client has that many replies unread (the
 * edits fold as it acks them). Its line is dropped, not passed: the server
 * never sees it, and the client's TCP sends it again, to be judged then.
 */
static __always_inline int gw_defer(struct gw_pkt *pkt, struct gw_relay_flow *flow)
{
	flow->client_next = bpf_ntohl(pkt->tcp->seq);
	gw_stat(GW_RS_DEFERRED);
	return XDP_DROP;
}

/* How many LF-ended lines s->line[0, len) holds. */
__attribute__((noinline)) int gw_bpf_lines(struct gw_scratch *s, u32 len)
{
	int i, n = 0;

	if (!s)
		return 0;
	for (i = 0; i < GW_LINE_BUF; i++) {
		if (i >= len)
			break;
		if (s->line[i] == '\n')
			n++;
	}
	return n;
}

/* One in-order client segment in command mode. Returns the XDP action. */
static __always_inline int gw_client_command(struct xdp_md *ctx, struct gw_pkt *pkt,
					     struct gw_relay_flow *flow,
					     const struct gw_relay_flow_key *key,
					     struct gw_relay_config *cfg)
{
	struct gw_scratch *s = gw_scratch();
	u32 len = pkt->payload_len, verb;
	bool was_in_line = flow->in_line;
	int norm;

	if (!s)
		return XDP_PASS;
	if (len > GW_LINE_CAP + 2 || len > cfg->policy.max_line + 2) {
		/* cannot hold it; if it ends a line, the next segment starts one */
		gw_stat(GW_RF_LONG_LINE);
		flow->in_line = 1;
		if (len <= GW_LINE_BUF - 8 && len >= 2 &&
		    bpf_xdp_load_bytes(ctx, pkt->payload_off + len - 2, s->line, 2) == 0 &&
		    s->line[1] == '\n')
			flow->in_line = 0;
		flow->awaiting_reply = 1;
		return XDP_PASS;
	}
	if (len < 2 || bpf_xdp_load_bytes(ctx, pkt->payload_off, s->line, len) < 0)
		return XDP_PASS;
	if (!was_in_line && len >= 5 && (s->line[0] | 0x20) == 'b' && (s->line[1] | 0x20) == 'd' &&
	    (s->line[2] | 0x20) == 'a' && (s->line[3] | 0x20) == 't' && s->line[4] == ' ') {
		/*
		 * BDAT, its chunk often in the same segment (not pipelining): chunk
		 * lengths would have to be followed across segments, so the rest of
		 * the session passes, for the backstop to judge.
		 */
		gw_stat(GW_RF_BDAT);
		flow->mode = GW_RM_OFF;
		return XDP_PASS;
	}
	/* a bare LF ends a line too: Postfix reads it so (smtp_get) */
	flow->in_line = s->line[(len - 1) & 1023] != '\n';
	if (was_in_line || flow->in_line) {
		gw_stat(GW_RF_SPLIT_LINE);
		flow->awaiting_reply = 1;
		/* a MAIL we cannot read leaves no sender to judge its RCPTs by */
		if (!was_in_line && (s->line[0] | 0x20) == 'm' && (s->line[1] | 0x20) == 'a')
			flow->sender_set = 0;
		return XDP_PASS;
	}
	if (gw_bpf_lines(s, len) != 1) {
		if (flow->mask_pipelining)
			return gw_refuse_pipelining(ctx, pkt, flow, s, cfg);
		gw_stat(GW_RF_PIPELINED);
		flow->sender_set = 0; /* it may hold a MAIL we did not read */
		flow->awaiting_reply = 1;
		return XDP_PASS;
	}
	verb = gw_bpf_parse_line(s, gw_line_body(s, len));
	if (s->cmd.status != GW_SMTP_OK && (verb == GW_CMD_MAIL || verb == GW_CMD_RCPT)) {
		gw_stat(GW_RF_BAD_COMMAND);
		flow->awaiting_reply = 1;
		return XDP_PASS;
	}
	switch (verb) {
	case GW_CMD_EHLO:
	case GW_CMD_HELO:
		gw_on_helo(s, flow, key, cfg, gw_relay_now(cfg));
		if (cfg->policy.tls_mode == GW_TLS_GREYLIST && !flow->awaiting_reply &&
		    bpf_ntohl(pkt->tcp->ack_seq) == flow->server_next)
			return gw_on_greeting(ctx, pkt, flow, key, s, cfg, gw_relay_now(cfg));
		break;
	case GW_CMD_MAIL:
		norm = gw_bpf_normalize(s, (struct gw_addr_bytes *)flow->sender, 1, cfg);
		if (norm < 0) {
			gw_stat(GW_RF_BAD_COMMAND);
			flow->sender_set = 0;
			break;
		}
		flow->sender_len = norm;
		flow->sender_set = 1;
		break;
	case GW_CMD_RCPT:
		/* our reply must come right after the server's last one */
		if (flow->awaiting_reply || bpf_ntohl(pkt->tcp->ack_seq) != flow->server_next) {
			if (flow->mask_pipelining)
				return gw_refuse_pipelining(ctx, pkt, flow, s, cfg);
			gw_stat(GW_RF_PIPELINED);
			break;
		}
		if (!flow->sender_set) {
			/*
			 * No MAIL we could read: judged with the null sender
			 * rather than passed, so no line of ours decides whether
			 * an RCPT is judged.
			 */
			gw_stat(GW_RS_NULL_SENDER);
			flow->sender_len = 0;
		}
		if (flow->nedits >= GW_RELAY_MAX_EDITS)
			return gw_defer(pkt, flow);
		return gw_on_decision(ctx, pkt, flow, key, s, cfg, gw_relay_now(cfg), false);
	case GW_CMD_STARTTLS:
		if (flow->awaiting_reply || bpf_ntohl(pkt->tcp->ack_seq) != flow->server_next) {
			gw_stat(GW_RF_PIPELINED);
			flow->mode = GW_RM_OFF;
			break;
		}
		return gw_on_decision(ctx, pkt, flow, key, s, cfg, gw_relay_now(cfg), true);
	case GW_CMD_DATA:
		flow->mode = GW_RM_DATA;
		break;
	case GW_CMD_BDAT:
		/* chunk lengths would have to be followed across segments */
		gw_stat(GW_RF_BDAT);
		flow->mode = GW_RM_OFF;
		break;
	case GW_CMD_RSET:
		/*
		 * The sender stays: the server may refuse the RSET ("RSET x")
		 * and keep its transaction, and an RCPT after one it took gets
		 * its own "need MAIL" whatever we judge.
		 */
		break;
	default:
		break;
	}
	flow->awaiting_reply = 1;
	return XDP_PASS;
}

/* Translate a client->server segment past our edits, in place. */
__attribute__((noinline)) int
gw_bpf_translate_client(struct xdp_md *ctx, const struct gw_relay_flow *flow, u32 l4_off, u32 hlen)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *tcp;
	u32 from, to, i;
	u8 *opt;

	if (!flow || l4_off > 128)
		return 0;
	tcp = data + l4_off;
	if ((void *)(tcp + 1) > data_end)
		return 0;
	from = tcp->seq;
	to = bpf_htonl(gw_client_seq_to_server(flow, bpf_ntohl(from)));
	tcp->seq = to;
	gw_csum_replace4(&tcp->check, from, to);
	if (tcp->ack) {
		from = tcp->ack_seq;
		to = bpf_htonl(gw_client_ack_to_server(flow, bpf_ntohl(from)));
		tcp->ack_seq = to;
		gw_csum_replace4(&tcp->check, from, to);
	}
	/* SACK blocks name the server's stream: map both edges like an ack */
	opt = (u8 *)(tcp + 1);
	for (i = 0; i < 40; i++) {
		u8 *o = opt + (i & 63);
		u32 k, len;

		if (i + 20 >= hlen)
			break;
		if ((void *)(o + 2) > data_end)
			break;
		if (o[0] == 0)
			break;
		if (o[0] == GW_TCPOPT_NOP)
			continue;
		len = o[1];
		if (len < 2)
			break;
		if (o[0] == GW_TCPOPT_SACK) {
#pragma unroll
			for (k = 0; k < 4; k++) {
				u32 *edge = (u32 *)(o + 2 + 8 * k);

				if (2 + 8 * k + 8 > len)
					break;
				if ((void *)(edge + 2) > data_end)
					break;
				from = edge[0];
				to = bpf_htonl(gw_client_ack_to_server(flow, bpf_ntohl(from)));
				edge[0] = to;
				gw_csum_replace4(&tcp->check, from, to);
				from = edge[1];
				to = bpf_htonl(gw_client_ack_to_server(flow, bpf_ntohl(from)));
				edge[1] = to;
				gw_csum_replace4(&tcp->check, from, to);
			}
			break;
		}
		i += len - 1;
	}
	gw_stat(GW_RS_SEGMENTS_TRANSLATED);
	return 0;
}

SEC("xdp")
int greywall_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct gw_relay_flow_key key;
	struct gw_relay_config *cfg;
	struct gw_relay_flow *flow;
	struct gw_pkt pkt;
	int rc, action = XDP_PASS;
	u32 seq, i;

	rc = gw_parse_frame(data, data_end, (u32)(data_end - data), &pkt);
	if (rc < 0)
		return XDP_PASS;
	cfg = gw_relay_config();
	if (!cfg)
		return XDP_PASS;
	if (rc > 0) {
		/* only a fragment or an extension chain could be SMTP we cannot read */
		if (pkt.fragment)
			gw_stat(GW_RF_FRAGMENT);
		else if (pkt.ext_headers)
			gw_stat(GW_RF_IPV6_EXT);
		return XDP_PASS;
	}
	if (pkt.tcp->dest != bpf_htons(cfg->smtp_port))
		return XDP_PASS;
	gw_stat(GW_RS_PACKETS);
	gw_flow_key(&pkt, data_end, true, &key);
	seq = bpf_ntohl(pkt.tcp->seq);
	flow = bpf_map_lookup_elem(&flows, &key);
	if (pkt.tcp->syn && !pkt.tcp->ack) {
		/* a new connection, or a reused tuple: start over */
		if (flow) {
			__builtin_memset(flow, 0, sizeof(*flow));
			flow->client_next = seq + 1;
			flow->started = gw_relay_now(cfg);
		} else {
			struct gw_scratch *s = gw_scratch();

			if (!s)
				return XDP_PASS;
			/* the flow is too big for the stack: build it in scratch */
			__builtin_memset(s->line, 0, sizeof(struct gw_relay_flow));
			((struct gw_relay_flow *)s->line)->client_next = seq + 1;
			((struct gw_relay_flow *)s->line)->started = gw_relay_now(cfg);
			bpf_map_update_elem(&flows, &key, s->line, BPF_ANY);
		}
		gw_stat(GW_RS_FLOWS);
		return XDP_PASS;
	}
	if (!flow) {
		if (pkt.payload_len)
			gw_stat(GW_RF_MIDSTREAM);
		return XDP_PASS;
	}
	if (pkt.payload_len && pkt.tcp->urg && flow->mode != GW_RM_OFF) {
		/*
		 * Urgent data: the kernel takes the byte at the urgent pointer
		 * out of the stream, so the MTA reads other bytes than we would.
		 * SMTP never uses it: dropped.
		 */
		gw_stat(GW_RS_URGENT_DROPPED);
		return XDP_DROP;
	}
	if (pkt.tcp->rst && seq == flow->client_next) {
		/*
		 * The connection is over: from here on only translate. Only an
		 * RST at the next sequence: the server answers any other with a
		 * challenge ACK (RFC 5961) and the session lives on, judged.
		 */
		flow->reset = 1;
		flow->mode = GW_RM_OFF;
	}
	if (pkt.payload_len && flow->mode == GW_RM_CLOSED) {
		/*
		 * We ended the session (a 421, or a reset after STARTTLS): nothing the
		 * client sends reaches the server any more, but a QUIT, so the server
		 * closes its side now rather than at its timeout.
		 */
		u8 q[6];

		if (pkt.payload_len == 6 && !flow->reset &&
		    bpf_xdp_load_bytes(ctx, pkt.payload_off, q, 6) == 0 && (q[0] | 0x20) == 'q' &&
		    (q[1] | 0x20) == 'u' && (q[2] | 0x20) == 'i' && (q[3] | 0x20) == 't' &&
		    q[4] == '\r' && q[5] == '\n')
			goto translate;
		gw_stat(GW_RS_CLOSED_DROPPED);
		return XDP_DROP;
	}
	if (pkt.payload_len && !flow->reset) {
		u32 n = flow->nedits;

		/* the client did not get our reply: it sends the removed line again */
		if (pkt.tcp->ack && flow->nedits > 1)
			gw_stat_add(GW_RS_EDITS_FOLDED,
				    gw_fold_edits(flow, bpf_ntohl(pkt.tcp->ack_seq)));
		n = flow->nedits;
#pragma unroll
		for (i = 0; i < GW_RELAY_MAX_EDITS; i++) {
			const struct gw_relay_edit *e = gw_edit_at(flow, i);
			struct gw_scratch *s;

			if (i >= n)
				break;
			if (seq == e->c_seq && pkt.payload_len == e->removed) {
				s = gw_scratch();
				if (!s)
					return XDP_PASS;
				return gw_resend(ctx, &pkt, flow, s, cfg, e);
			}
			if (gw_seq_before(seq, e->c_seq + e->removed) &&
			    gw_seq_before(e->c_seq, seq + pkt.payload_len)) {
				/* overlaps a removed line another way: cannot cut it out here */
				gw_stat(GW_RF_RETRANS_STRADDLE);
				goto translate;
			}
		}
		if (seq != flow->client_next) {
			if (gw_seq_before(flow->client_next, seq))
				gw_stat(GW_RF_OUT_OF_ORDER);
			goto translate;
		}
		if (flow->mode == GW_RM_DATA)
			/*
			 * Before DATA's reply the client must wait (RFC 2920):
			 * whether its bytes are text or commands, only the reply
			 * says. Dropped, they come again after it.
			 */
			return gw_defer(&pkt, flow);
		flow->client_next = seq + pkt.payload_len;
		if (flow->mode == GW_RM_COMMAND) {
			action = gw_client_command(ctx, &pkt, flow, &key, cfg);
			if (action == XDP_TX)
				return XDP_TX;
		}
	}
translate:
	if (flow->nedits)
		gw_bpf_translate_client(ctx, flow, pkt.l4_off, pkt.tcp_hlen);
	return action;
}

/*
 * Server segment bookkeeping: which reply ends here, and the mode changes it
 * makes (354 starts a body, the reply after a body ends it).
 */
__attribute__((noinline)) int gw_bpf_server_reply(struct __sk_buff *skb, struct gw_relay_flow *flow,
						  struct gw_scratch *s, u32 payload_off, u32 len)
{
	u32 tail, i, start = 0, code;
	bool final;

	if (!skb || !flow || !s)
		return 0;
	tail = gw_index(len > 256 ? 256 : len, 512); /* clang's min() hides the bound otherwise */
	if (tail < 2 || bpf_skb_load_bytes(skb, payload_off + len - tail, s->line, tail) < 0)
		return 0;
	if (s->line[(tail - 2) & 1023] != '\r' || s->line[(tail - 1) & 1023] != '\n')
		return 0; /* a reply continues in the next segment */
	/* the last line starts after the previous LF */
	for (i = 0; i < 256; i++) {
		u32 j = tail - 2 - i;

		if (i + 2 >= tail)
			break;
		if (s->line[(j - 1) & 1023] == '\n') {
			start = j;
			break;
		}
	}
	if (start + 4 > tail)
		return 0;
	final = s->line[(start + 3) & 1023] == ' ' || s->line[(start + 3) & 1023] == '\r';
	if (!final)
		return 0;
	code = s->line[start & 1023];
	if (flow->mode == GW_RM_DATA)
		flow->mode = code == '3' ? GW_RM_BODY : GW_RM_COMMAND;
	else if (flow->mode == GW_RM_BODY)
		flow->mode = GW_RM_COMMAND;
	flow->awaiting_reply = 0;
	return 1;
}

static __always_inline bool gw_is_pipelining(const u8 *p)
{
	static const char kw[] = "PIPELINING";
	int k;

#pragma unroll
	for (k = 0; k < 10; k++)
		if (p[k] != kw[k])
			return false;
	return true;
}

/* "250-PIPELINING" becomes "250-XIPELINING": same length, no seq change. */
__attribute__((noinline)) int gw_bpf_mask_pipelining(struct __sk_buff *skb, struct gw_scratch *s,
						     u32 l4_off, u32 payload_off, u32 len)
{
	u32 n = len > 512 ? 512 : len, i;

	if (!skb || !s || n < 14 || bpf_skb_load_bytes(skb, payload_off, s->line, n) < 0)
		return 0;
	for (i = 4; i < 512; i++) {
		u32 off, word_off;
		u16 from, to;

		if (i + 10 > n)
			break;
		if (s->line[i & 1023] != 'P' || s->line[(i - 4) & 1023] != '2' ||
		    (s->line[(i - 1) & 1023] != '-' && s->line[(i - 1) & 1023] != ' '))
			continue;
		if (!gw_is_pipelining(&s->line[i & 511]))
			continue;
		/* the checksum sums 16-bit words from the TCP header on */
		off = payload_off + i;
		word_off = off - ((off - l4_off) & 1);
		if (bpf_skb_load_bytes(skb, word_off, &from, 2) < 0)
			return 0;
		/* the word as it sits in memory: its first byte is the low one here */
		if (off == word_off)
			to = (u16)((from & 0xff00) | 'X');
		else
			to = (u16)((from & 0x00ff) | ('X' << 8));
		bpf_skb_store_bytes(skb, word_off, &to, 2, 0);
		bpf_l4_csum_replace(skb, l4_off + 16, from, to, 2);
		gw_stat(GW_RS_PIPELINING_MASKED);
		return 1;
	}
	return 0;
}

static __always_inline void gw_skb_replace4(struct __sk_buff *skb, u32 l4_off, u32 off, u32 from,
					    u32 to)
{
	if (from == to)
		return;
	bpf_skb_store_bytes(skb, l4_off + off, &to, 4, 0);
	bpf_l4_csum_replace(skb, l4_off + 16, from, to, 4);
}

/* Translate a server->client segment past our edits (skb helpers keep partial checksums right). */
__attribute__((noinline)) int gw_bpf_translate_server(struct __sk_buff *skb,
						      const struct gw_relay_flow *flow, u32 l4,
						      u32 hlen, u32 has_ack)
{
	u32 seq, ack, i;
	u8 opts[40];

	if (!skb || !flow || bpf_skb_load_bytes(skb, l4 + 4, &seq, 4) < 0 ||
	    bpf_skb_load_bytes(skb, l4 + 8, &ack, 4) < 0)
		return 0;
	seq = bpf_ntohl(seq);
	ack = bpf_ntohl(ack);

	gw_skb_replace4(skb, l4, 4, bpf_htonl(seq), bpf_htonl(gw_server_seq_to_client(flow, seq)));
	if (has_ack)
		gw_skb_replace4(skb, l4, 8, bpf_htonl(ack),
				bpf_htonl(gw_server_ack_to_client(flow, ack)));
	if (hlen <= 20 || hlen > 60 || bpf_skb_load_bytes(skb, l4 + 20, opts, hlen - 20) < 0)
		goto out;
	for (i = 0; i < 40; i++) {
		u32 k, len;
		u8 kind;

		if (i + 20 >= hlen)
			break;
		kind = opts[i & 63];
		if (kind == 0)
			break;
		if (kind == GW_TCPOPT_NOP)
			continue;
		if (i + 1 >= 40)
			break;
		len = opts[(i + 1) & 63];
		if (len < 2)
			break;
		if (kind == GW_TCPOPT_SACK) {
#pragma unroll
			for (k = 0; k < 8; k++) {
				u32 at = i + 2 + 4 * k, edge;

				if (2 + 4 * k + 4 > len || at + 4 > 40)
					break;
				__builtin_memcpy(&edge, &opts[at & 63], 4);
				gw_skb_replace4(
				    skb, l4, 20 + at, edge,
				    bpf_htonl(gw_server_ack_to_client(flow, bpf_ntohl(edge))));
			}
			break;
		}
		i += len - 1;
	}
out:
	gw_stat(GW_RS_SEGMENTS_TRANSLATED);
	return 0;
}

SEC("tc")
int greywall_tc_egress(struct __sk_buff *skb)
{
	struct gw_relay_flow_key key;
	struct gw_relay_config *cfg;
	struct gw_relay_flow *flow;
	struct gw_scratch *s;
	struct gw_pkt pkt;
	void *data, *data_end;
	u32 seq, end;
	bool has_ack, fin;

	/* headers must be linear for direct access; the payload is read with helpers */
	if (skb->data + 128 > skb->data_end)
		bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (gw_parse_frame(data, data_end, skb->len, &pkt) != 0)
		return TC_ACT_OK;
	cfg = gw_relay_config();
	if (!cfg || pkt.tcp->source != bpf_htons(cfg->smtp_port))
		return TC_ACT_OK;
	/* the payload may continue past the linear part: count from skb->len */
	gw_flow_key(&pkt, data_end, false, &key);
	flow = bpf_map_lookup_elem(&flows, &key);
	if (!flow)
		return TC_ACT_OK;
	seq = bpf_ntohl(pkt.tcp->seq);
	has_ack = pkt.tcp->ack;
	fin = pkt.tcp->fin;
	if (pkt.tcp->rst) {
		flow->reset = 1;
		flow->mode = GW_RM_OFF;
	}
	if (pkt.tcp->syn) {
		flow->server_next = seq + 1;
		flow->server_acked = bpf_ntohl(pkt.tcp->ack_seq);
		flow->server_window = pkt.tcp->window;
		return TC_ACT_OK;
	}
	flow->server_window = pkt.tcp->window;
	if (has_ack && gw_seq_before(flow->server_acked, bpf_ntohl(pkt.tcp->ack_seq)))
		flow->server_acked = bpf_ntohl(pkt.tcp->ack_seq);
	if (pkt.payload_len && flow->mode != GW_RM_OFF && flow->mode != GW_RM_CLOSED) {
		s = gw_scratch();
		if (s) {
			if (flow->ehlo_pending) {
				if (flow->mask_pipelining)
					gw_bpf_mask_pipelining(skb, s, pkt.l4_off, pkt.payload_off,
							       pkt.payload_len);
				flow->ehlo_pending = 0;
			}
			gw_bpf_server_reply(skb, flow, s, pkt.payload_off, pkt.payload_len);
		}
	}
	end = gw_server_seq_to_client(flow, seq) + pkt.payload_len + fin;
	if (gw_seq_before(flow->server_next, end))
		flow->server_next = end;
	if (flow->nedits)
		gw_bpf_translate_server(skb, flow, pkt.l4_off, pkt.tcp_hlen, has_ack);
	return TC_ACT_OK;
}
