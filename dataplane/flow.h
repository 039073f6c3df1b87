/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-lcore SMTP flow table. Nothing here is shared between lcores, so
 * nothing locks. Flows live in a preallocated array indexed by an rte_hash
 * of the client/server address pair.
 */
#ifndef GREYWALL_DP_FLOW_H
#define GREYWALL_DP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_hash.h>

#include "greywall/reply.h"
#include "greywall/smtp_stream.h"
#include "reorder.h"
#include "seqmap.h"

#define GW_TMPL_MAX	192		  /* L2..L4 headers of the last server segment */
#define GW_FLOW_REPLIES GW_SEQMAP_MAX	  /* at most 32: one bit each in replies_used */
#define GW_FLOW_HIST	GW_SMTP_LINE_HARD /* forwarded client bytes kept for first-copy-wins */

struct gw_flow_key {
	uint8_t client[16];
	uint8_t server[16];
	uint16_t client_port; /* network order */
	uint16_t server_port;
	uint8_t family;
	uint8_t pad[3];
};

struct gw_reply_buf {
	uint16_t len;
	uint8_t ends_session; /* a 421 to STARTTLS: both sides are reset right behind it */
	char text[GW_REPLY_MAX];
};

struct gw_flow {
	struct gw_flow_key key;
	uint32_t c_isn, s_isn;
	uint32_t c_next, s_next; /* next stream offset to parse, per direction */
	uint32_t c_acked;	 /* the server's latest ack, as a client stream offset */
	uint32_t c_acked_new;	 /* the same as the server numbers it (after our edits) */
	uint32_t s_acked; /* the client's latest ack, as an offset in the server stream it sees */
	uint8_t have_s_isn;
	uint8_t parse_off; /* stopped parsing (gap or desync): translate only */
	uint8_t desync_counted;
	uint8_t fin_c, fin_s, rst;
	uint8_t c_handshake_done; /* the client acked the server's SYN-ACK */
	uint16_t c_port;	  /* the port the client's SYN came in on */
	/*
	 * What the server's TCP would take from the client: bytes up to the right
	 * edge of the window it offered (as it numbers the client's stream), and
	 * timestamps not older than the latest (PAWS). A segment it would drop is
	 * dropped here too, never parsed (dispatch.c).
	 */
	uint8_t c_wscale, s_wscale; /* 0xff: not offered */
	uint8_t ts_on;		    /* both SYNs carried timestamps */
	uint8_t have_wnd;
	uint32_t c_wnd_end;
	uint32_t c_ts_recent;
	uint32_t s_seen_end; /* past the last server byte (or FIN) seen, in its numbering */
	/* a SYN with another ISN, sent on while the session lived: the server may take it */
	uint32_t c_new_isn;
	uint8_t c_new_pending, c_new_wscale, c_new_ts;
	uint8_t in_use; /* for eviction, which samples slots at random */
	/*
	 * A line was deferred (no edit room yet): client bytes past it are
	 * refused, not stored, until the client resends from the line's start.
	 */
	uint8_t refusing;
	/* a command line too long to hold was refused (verdict.c): nothing more is taken */
	uint8_t line_refused;
	uint16_t tmpl_len;
	uint32_t idx;
	uint64_t last_tsc;
	uint64_t resend_tsc;
	struct gw_seqmap c2s, s2c;
	struct gw_reply_buf *replies[GW_FLOW_REPLIES];
	uint32_t replies_used; /* a bit per replies[] slot; a folded edit frees its slot */
	/* envelope of the current transaction */
	uint16_t sender_len, sender_raw_len, helo_len;
	uint8_t have_mail; /* a transaction is open, as far as the server has said */
	uint8_t mail_due;  /* a MAIL's answer has not come yet */
	uint8_t sender[GW_ADDR_MAX];
	uint8_t sender_raw[GW_ADDR_MAX];
	uint8_t helo[GW_HELO_MAX];
	uint8_t tmpl[GW_TMPL_MAX] __rte_aligned(8); /* parsed as headers: aligned like a frame */
	/*
	 * A command line the client has only begun: held back, not forwarded, so
	 * that if it turns out to be a greylisted RCPT it can still be cut whole.
	 */
	uint32_t held_off;
	uint16_t held_len;
	uint32_t custody_end; /* client bytes up to here were acked by us for the server */
	struct gw_ooo ooo;    /* client bytes that came before the gap in front of them filled */
	/* the latest command bytes forwarded and not yet acked: a resend must match them */
	uint32_t hist_off;
	uint16_t hist_len;
	struct gw_smtp_session smtp;
	/* after smtp: creation clears only what precedes it */
	uint8_t held[GW_SMTP_LINE_HARD];
	uint8_t hist[GW_FLOW_HIST];
};

struct gw_flow_table {
	struct rte_hash *hash;
	struct gw_flow *flows;
	uint32_t *free_stack;
	uint32_t nfree, cap;
};

int gw_flow_table_init(struct gw_flow_table *t, uint32_t cap, int socket, const char *name);
void gw_flow_table_free(struct gw_flow_table *t);
struct gw_flow *gw_flow_lookup(struct gw_flow_table *t, const struct gw_flow_key *k);
/* NULL when the table is full. */
struct gw_flow *gw_flow_create(struct gw_flow_table *t, const struct gw_flow_key *k);
void gw_flow_destroy(struct gw_flow_table *t, struct gw_flow *f);

#endif /* GREYWALL_DP_FLOW_H */
