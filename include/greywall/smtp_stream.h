/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Incremental SMTP session parser for both directions of one TCP flow, fed
 * with in-order stream bytes at arbitrary chunk boundaries. Replies are
 * matched against a bounded FIFO of outstanding commands (PIPELINING), the
 * way Suricata's SMTP parser does. User space only.
 */
#ifndef GREYWALL_SMTP_STREAM_H
#define GREYWALL_SMTP_STREAM_H

#include "smtp_command.h"

#define GW_SMTP_FIFO_MAX 32
#define GW_SMTP_LINE_HARD                                                                          \
	2048 /* upper bound for the configurable line limit (Postfix's default)                    \
	      */

enum gw_smtp_client_mode {
	GW_MODE_COMMAND = 0,
	GW_MODE_DATA,	/* after 354, until CRLF.CRLF */
	GW_MODE_BDAT,	/* chunk bytes counted by length */
	GW_MODE_TLS,	/* encrypted: nothing more is parsed */
	GW_MODE_DESYNC, /* protocol lost: the caller should fail open */
};

enum gw_smtp_desync_reason {
	GW_DESYNC_NONE = 0,
	GW_DESYNC_FIFO_FULL,
	GW_DESYNC_BAD_REPLY,
	GW_DESYNC_REPLY_TOO_LONG,
};

/* What the command callback wants done with a command. */
enum gw_smtp_action {
	GW_ACT_FORWARD = 0,
	GW_ACT_DROP, /* removed from the stream; an injected reply takes its place */
	/*
	 * Not now: the caller cannot take this line yet (its per-flow edit room
	 * is in use). The parser gives the line back, as if it had never seen it,
	 * and stops: gw_smtp_feed_client returns at the line's start, and the
	 * caller refuses the bytes from there on, which the client's TCP resends.
	 */
	GW_ACT_DEFER,
};

struct gw_smtp_pending {
	u8 verb;
	u8 injected; /* no server reply will come; ours goes here */
	u32 tag;     /* the caller's handle, returned with the reply */
	u64 offset;  /* client stream offset of the command */
};

struct gw_smtp_reply {
	u16 code;
	u8 verb; /* the command it answers */
	u32 tag;
	u64 offset; /* server stream offset of the first reply line */
	u32 len;    /* all lines, terminators included */
};

struct gw_smtp_callbacks {
	/*
	 * Every command line, and GW_CMD_DATA_END where a body ends (its answer is
	 * ignored). A MAIL or RCPT line that outgrows max_line comes early, once,
	 * flagged GW_CMDF_TRUNCATED and parsed from its first max_line bytes (what
	 * an MTA with that line limit acts on): FORWARD lets it go on, DEFER gives
	 * it back; it cannot be dropped, for its end is not known.
	 */
	enum gw_smtp_action (*command)(void *ctx, const struct gw_smtp_cmd *cmd, u32 *tag);
	void (*reply)(void *ctx, const struct gw_smtp_reply *r);
	/* An injected reply belongs at this server stream offset. */
	void (*inject)(void *ctx, const struct gw_smtp_pending *p, u64 server_offset);
	/* Every reply line, for callers that rewrite EHLO keywords. */
	void (*reply_line)(void *ctx, const u8 *line, u32 len, u64 offset, u8 verb);
};

struct gw_smtp_session {
	/* client direction */
	u8 mode;
	u8 desync;
	u8 body_state; /* end-of-message matcher (skip_body) */
	u8 cline_overlong;
	u8 data_reply_due; /* DATA went on: nothing more is read until its reply */
	u8 end_crlf_only;  /* the MTA ends a message at CRLF.CRLF only (set after init) */
	u32 max_line;
	u64 bdat_remaining;
	u8 bdat_last;
	u64 coff; /* client bytes consumed */
	/*
	 * A line that starts before this offset cannot be deferred: its beginning
	 * has gone to the server already. The caller sets it before each feed.
	 */
	u64 defer_floor;
	u64 cline_start;
	u32 cline_len;
	/* server direction */
	u64 soff;
	u64 sline_start;
	u32 sline_len;
	u8 sline_overlong;
	u64 reply_start;
	u8 in_multiline;
	u16 reply_code;
	/* outstanding commands */
	u32 fifo_head;
	u32 fifo_count;
	struct gw_smtp_pending fifo[GW_SMTP_FIFO_MAX];
	struct gw_smtp_callbacks cb;
	void *ctx;
	u8 cline[GW_SMTP_LINE_HARD];
	u8 sline[GW_SMTP_LINE_HARD];
};

void gw_smtp_session_init(struct gw_smtp_session *s, u32 max_line,
			  const struct gw_smtp_callbacks *cb, void *ctx);
/*
 * Feed client->server bytes. Returns the bytes consumed: len, or fewer when
 * a line was deferred (GW_ACT_DEFER, or a full FIFO of outstanding commands).
 * Then s->coff is the deferred line's start, which may lie before data (the
 * line began in an earlier feed), and the next feed must begin there.
 */
u32 gw_smtp_feed_client(struct gw_smtp_session *s, const u8 *data, u32 len);
void gw_smtp_feed_server(struct gw_smtp_session *s, const u8 *data, u32 len);

const char *gw_smtp_verb_name(u8 verb);

#endif /* GREYWALL_SMTP_STREAM_H */
