/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The policy glue of the relay filter: the same parser, normaliser, table and
 * decision code as user space (include/greywall/), each heavy step in a
 * global function so the verifier checks it once, not once per path into it.
 */
#ifndef GREYWALL_BPF_DECIDE_H
#define GREYWALL_BPF_DECIDE_H

#include "maps.h"
#include "state.h"

/* Parse s->line[0, len) (no LF; a CR before it is a blank) into s->cmd. Returns the verb. */
__attribute__((noinline)) int gw_bpf_parse_line(struct gw_scratch *s, u32 len)
{
	if (!s || len > GW_LINE_CAP)
		return GW_CMD_NONE;
	gw_smtp_parse_command((gw_line_t)s->line, len, &s->cmd);
	return s->cmd.verb;
}

/* Normalise s->cmd.path into out (the flow's sender or s->trip.rcpt). Returns the length. */
__attribute__((noinline)) int gw_bpf_normalize(struct gw_scratch *s, struct gw_addr_bytes *out,
					       int is_sender, const struct gw_relay_config *cfg)
{
	int n;
	u32 i;

	if (!s || !out || !cfg)
		return -1;
	n = gw_normalize_into(&s->norm_work, s->cmd.path, s->cmd.path_len, &cfg->policy.norm,
			      is_sender);
	for (i = 0; i < GW_ADDR_MAX; i++) {
		if ((int)i >= n)
			break;
		out->b[i] = s->norm_work.out[i];
	}
	return n;
}

/* The list bits of an address (a->b[0, len)) and of its @domain. */
static __always_inline u8 gw_addr_list(const u64 secret[2], u8 kind, const struct gw_addr_bytes *a,
				       u32 len, u32 gen)
{
	u8 *v, found = 0;
	int at;
	u64 fp;

	if (len > GW_ADDR_MAX)
		return 0;
	fp = gw_relay_addr_fp(secret, kind, a, 0, len);
	v = bpf_map_lookup_elem(&addresses, &fp);
	if (v)
		found |= GW_RELAY_LIST_COLOR(*v, gen);
	at = gw_addr_last_at(a, len);
	if (at >= 0) {
		fp = gw_relay_addr_fp(secret, kind, a, at, len - at);
		v = bpf_map_lookup_elem(&addresses, &fp);
		if (v)
			found |= GW_RELAY_LIST_COLOR(*v, gen);
	}
	return found;
}

/*
 * List hits for the client address (not masked) and the normalised triplet in
 * s->trip; s->trip.net becomes the client's sender pool if it is in one.
 */
__attribute__((noinline)) int gw_bpf_lists(struct gw_scratch *s,
					   const struct gw_relay_flow_key *key,
					   struct gw_relay_flow *flow, u64 secret0, u64 secret1)
{
	u64 secret[2] = {secret0, secret1};
	struct gw_relay_client_value *v;
	u8 c = 0, snd, rcp;

	if (!s || !key || !flow)
		return 0;
	if (key->family == GW_AF_INET) {
		struct gw_relay_lpm4 k4 = {.prefixlen = 32};

		__builtin_memcpy(k4.addr, key->client, 4);
		v = bpf_map_lookup_elem(&clients_v4, &k4);
	} else {
		struct gw_relay_lpm6 k6 = {.prefixlen = 128};

		__builtin_memcpy(k6.addr, key->client, 16);
		v = bpf_map_lookup_elem(&clients_v6, &k6);
	}
	if (v) {
		u64 pool = v->pool[s->list_gen & 1];

		c = GW_RELAY_LIST_COLOR(v->colors, s->list_gen);
		/* a sender pool stands for the client's network in every key made from here */
		if (pool)
			gw_client_net_pool(&s->trip.net, pool);
	}
	snd = gw_addr_list(secret, GW_RA_SENDER, (const struct gw_addr_bytes *)flow->sender,
			   flow->sender_len, s->list_gen);
	rcp = gw_addr_list(secret, GW_RA_RCPT, (const struct gw_addr_bytes *)s->trip.rcpt,
			   s->trip.rcpt_len, s->list_gen);
	/* white bits in the low byte, black in the high: gw_list_hits */
	return ((c & GW_RELAY_WHITE ? GW_LIST_CLIENT : 0) |
		(snd & GW_RELAY_WHITE ? GW_LIST_SENDER : 0) |
		(rcp & GW_RELAY_WHITE ? GW_LIST_RCPT : 0)) |
	       (((c & GW_RELAY_BLACK ? GW_LIST_CLIENT : 0) |
		 (snd & GW_RELAY_BLACK ? GW_LIST_SENDER : 0) |
		 (rcp & GW_RELAY_BLACK ? GW_LIST_RCPT : 0))
		<< 8);
}

/* The tables and a policy over them (p points into trip, awlt and secret). */
static __always_inline bool gw_bpf_policy(struct gw_relay_config *cfg, u64 now, u64 secret[2],
					  struct gw_table *trip, struct gw_table *awlt,
					  struct gw_policy *p)
{
	if (!gw_table_attach(&triplets, GW_TABLE_TRIPLETS, NULL, now, trip))
		return false;
	gw_table_secret(&triplets, secret);
	if (!gw_table_attach(&awl, GW_TABLE_AWL, secret, now, awlt))
		return false;
	p->triplets = trip;
	p->awl = awlt;
	p->cfg = &cfg->policy;
	p->secret = secret;
	return true;
}

/*
 * The verdict for the triplet in s->trip (RCPT) or, with s->tls, the STARTTLS
 * pseudo-triplet (network and HELO), given s->now and the list hits in
 * s->hits. Returns a gw_verdict; the seconds left go to s->remaining.
 */
__attribute__((noinline)) int gw_bpf_decide(struct gw_scratch *s, struct gw_relay_config *cfg,
					    struct gw_relay_flow *flow)
{
	struct gw_decision *d;
	struct gw_policy p; /* pointers: kept on the stack, where the verifier tracks them */
	u64 now;

	if (!s || !cfg || !flow)
		return GW_V_FAIL_OPEN;
	now = s->now;
	d = &s->dec;
	__builtin_memset(d, 0, sizeof(*d));
	s->dec_hits.white = s->hits & 0xff;
	s->dec_hits.black = (s->hits >> 8) & 0xff;
	if (!gw_bpf_policy(cfg, now, s->dec_secret, &s->dec_trip, &s->dec_awl, &p))
		return GW_V_FAIL_OPEN;
	if (s->tls) {
		u32 n = flow->helo_len;

		gw_decide_tls(&p, &s->trip.net, flow->helo, n > GW_RELAY_HELO_MAX ? 0 : n,
			      &s->dec_hits, now, d);
	} else {
		gw_decide(&p, &s->trip, &s->dec_hits, now, d);
	}
	s->remaining = d->remaining;
	return d->verdict;
}

/*
 * Whether a plaintext greeting from this (network, HELO) comes while its
 * STARTTLS pseudo-triplet is greylisted and within its delay: then the
 * session is refused with the TLS reply before it sends an envelope in
 * cleartext (gw_tls_pending). s->trip.net, s->hits and s->now are set; the
 * seconds left go to s->remaining. Never writes the table.
 */
__attribute__((noinline)) int gw_bpf_tls_pending(struct gw_scratch *s, struct gw_relay_config *cfg,
						 struct gw_relay_flow *flow)
{
	struct gw_policy p;
	u32 n;

	if (!s || !cfg || !flow)
		return 0;
	__builtin_memset(&s->dec, 0, sizeof(s->dec));
	s->dec_hits.white = s->hits & 0xff;
	s->dec_hits.black = (s->hits >> 8) & 0xff;
	if (!gw_bpf_policy(cfg, s->now, s->dec_secret, &s->dec_trip, &s->dec_awl, &p))
		return 0;
	n = flow->helo_len;
	if (!gw_tls_pending(&p, &s->trip.net, flow->helo, n > GW_RELAY_HELO_MAX ? 0 : n,
			    &s->dec_hits, s->now, &s->dec))
		return 0;
	s->remaining = s->dec.remaining;
	return 1;
}

#endif /* GREYWALL_BPF_DECIDE_H */
