// SPDX-License-Identifier: BSD-2-Clause
/* Incremental two-direction SMTP parser; see include/greywall/smtp_stream.h. */
#include <string.h>

#include "greywall/smtp_stream.h"

static const char *const verb_names[GW_CMD_COUNT] = {
    [GW_CMD_NONE] = "none", [GW_CMD_CONNECT] = "connect",
    [GW_CMD_EHLO] = "EHLO", [GW_CMD_HELO] = "HELO",
    [GW_CMD_MAIL] = "MAIL", [GW_CMD_RCPT] = "RCPT",
    [GW_CMD_DATA] = "DATA", [GW_CMD_DATA_END] = "(end of data)",
    [GW_CMD_BDAT] = "BDAT", [GW_CMD_RSET] = "RSET",
    [GW_CMD_QUIT] = "QUIT", [GW_CMD_STARTTLS] = "STARTTLS",
    [GW_CMD_NOOP] = "NOOP", [GW_CMD_OTHER] = "other",
};

const char *gw_smtp_verb_name(u8 verb)
{
	return verb < GW_CMD_COUNT ? verb_names[verb] : "?";
}

static void desync(struct gw_smtp_session *s, u8 reason)
{
	s->mode = GW_MODE_DESYNC;
	s->desync = reason;
}

static bool fifo_push(struct gw_smtp_session *s, const struct gw_smtp_pending *p)
{
	if (s->fifo_count >= GW_SMTP_FIFO_MAX) {
		desync(s, GW_DESYNC_FIFO_FULL);
		return false;
	}
	s->fifo[(s->fifo_head + s->fifo_count) % GW_SMTP_FIFO_MAX] = *p;
	s->fifo_count++;
	return true;
}

static struct gw_smtp_pending *fifo_peek(struct gw_smtp_session *s)
{
	return s->fifo_count ? &s->fifo[s->fifo_head] : NULL;
}

static void fifo_pop(struct gw_smtp_session *s)
{
	s->fifo_head = (s->fifo_head + 1) % GW_SMTP_FIFO_MAX;
	s->fifo_count--;
}

/* Injected replies queued behind the head go out as soon as the head is answered. */
static void flush_injected(struct gw_smtp_session *s, u64 at)
{
	struct gw_smtp_pending *p;

	while ((p = fifo_peek(s)) && p->injected) {
		struct gw_smtp_pending copy = *p;

		fifo_pop(s);
		if (s->cb.inject)
			s->cb.inject(s->ctx, &copy, at);
	}
}

void gw_smtp_session_init(struct gw_smtp_session *s, u32 max_line,
			  const struct gw_smtp_callbacks *cb, void *ctx)
{
	struct gw_smtp_pending greeting = {.verb = GW_CMD_CONNECT};

	memset(s, 0, offsetof(struct gw_smtp_session, cline));
	if (max_line == 0 || max_line > GW_SMTP_LINE_HARD)
		max_line = max_line ? GW_SMTP_LINE_HARD : 512;
	s->max_line = max_line;
	if (cb)
		s->cb = *cb;
	s->ctx = ctx;
	fifo_push(s, &greeting);
}

/* Give the current line back: the next feed starts at its first byte again. */
static void defer_line(struct gw_smtp_session *s)
{
	s->coff = s->cline_start;
	s->cline_len = 0;
	s->cline_overlong = 0;
}

/*
 * A MAIL or RCPT whose path did not parse may still be one the server takes
 * (MTAs are lenient): hand over its raw argument, after the verb and the
 * FROM:/TO: keyword, so the caller can still key a verdict on it.
 */
static void raw_argument(const u8 *l, u32 len, struct gw_smtp_cmd *cmd)
{
	u32 p = gw_skip_sp(l, len, cmd->verb_at + 4u), kw = p, n = 0;

	while (p < len && l[p] != ':' && p < kw + 8)
		p++;
	if (p < len && l[p] == ':')
		p++;
	p = gw_skip_sp(l, len, p);
	while (len > p && gw_smtp_blank(l[len - 1]))
		len--;
	for (; p < len && n < GW_PATH_MAX; p++)
		cmd->path[n++] = l[p];
	cmd->path_len = (u16)n;
	cmd->flags |= GW_CMDF_PATH_RAW;
}

static void parse_line(const u8 *l, u32 len, struct gw_smtp_cmd *cmd)
{
	const u8 *nul = memchr(l, 0, len);

	/* Postfix reads a command as a C string: a NUL ends what it acts on */
	if (nul)
		len = (u32)(nul - l);
	gw_smtp_parse_command(l, len, cmd);
	if ((cmd->verb == GW_CMD_MAIL || cmd->verb == GW_CMD_RCPT) &&
	    !(cmd->flags & GW_CMDF_PATH_OK))
		raw_argument(l, len, cmd);
}

/*
 * A line that outgrows max_line. An MTA with that line limit acts on its first
 * max_line bytes (Postfix does, whatever the length), so a MAIL, RCPT or
 * STARTTLS is decided on them now, before its end. Returns false if it was
 * deferred.
 */
static bool overlong_line(struct gw_smtp_session *s)
{
	struct gw_smtp_cmd cmd;
	u32 tag = 0;

	parse_line(s->cline, s->max_line, &cmd);
	if ((cmd.verb != GW_CMD_MAIL && cmd.verb != GW_CMD_RCPT && cmd.verb != GW_CMD_STARTTLS) ||
	    !s->cb.command)
		return true;
	cmd.flags |= GW_CMDF_TRUNCATED;
	cmd.offset = s->cline_start;
	cmd.len = 0;
	if (s->cb.command(s->ctx, &cmd, &tag) == GW_ACT_DEFER && s->cline_start >= s->defer_floor) {
		defer_line(s);
		return false;
	}
	return true;
}

/* One complete command line; false if it was deferred. */
static bool client_line(struct gw_smtp_session *s)
{
	struct gw_smtp_cmd cmd;
	struct gw_smtp_pending p = {0};
	enum gw_smtp_action act = GW_ACT_FORWARD;
	u32 len = s->cline_len, body_len = len;
	u64 chunk = 0;
	u8 verb = GW_CMD_OTHER;

	/* The stored line may hold the terminator; strip CR LF for the parser. */
	if (!s->cline_overlong) {
		while (body_len > 0 &&
		       (s->cline[body_len - 1] == '\n' || s->cline[body_len - 1] == '\r'))
			body_len--;
		parse_line(s->cline, body_len, &cmd);
		verb = cmd.verb;
		chunk = cmd.verb == GW_CMD_BDAT && cmd.status == GW_SMTP_OK ? cmd.size : 0;
	} else {
		/*
		 * The MTA acts on the first max_line bytes of a longer line, so
		 * its verb is theirs: a long DATA still gets 354 (a long MAIL or
		 * RCPT was judged when it outgrew max_line, a long STARTTLS too).
		 * A long BDAT gets no chunk: MTAs differ on it (Postfix takes the
		 * size from its first bytes, Exim refuses the line), and reading
		 * its chunk as commands only costs the sender's own session,
		 * while skipping commands as a chunk would let them by. The
		 * callback sees the line as too long, not as that command again.
		 */
		parse_line(s->cline, s->max_line, &cmd);
		verb = cmd.verb;
		memset(&cmd, 0, offsetof(struct gw_smtp_cmd, path));
		cmd.verb = GW_CMD_OTHER;
		cmd.status = GW_SMTP_TOO_LONG;
	}
	cmd.offset = s->cline_start;
	cmd.len = (u32)(s->coff - s->cline_start);
	p.verb = verb;
	p.offset = cmd.offset;
	/*
	 * Every outstanding command holds a FIFO slot until it is answered. A
	 * client that pipelines more is made to wait, not lost track of: the
	 * line is deferred until replies free a slot.
	 */
	if (s->fifo_count >= GW_SMTP_FIFO_MAX) {
		if (s->cline_start >= s->defer_floor) {
			defer_line(s);
			return false;
		}
		desync(s, GW_DESYNC_FIFO_FULL); /* it went out: nothing else can be done */
		return true;
	}
	if (s->cb.command)
		act = s->cb.command(s->ctx, &cmd, &p.tag);
	if (act == GW_ACT_DEFER) {
		if (s->cline_start >= s->defer_floor) {
			defer_line(s);
			return false;
		}
		act = GW_ACT_FORWARD; /* its beginning went out: it goes on */
	}
	if (act == GW_ACT_DROP) {
		p.injected = 1;
		if (s->fifo_count == 0) {
			/* Nothing outstanding: the reply can go out right now. */
			if (s->cb.inject)
				s->cb.inject(s->ctx, &p, s->soff);
			return true;
		}
	}
	fifo_push(s, &p);
	if (act == GW_ACT_FORWARD && chunk > 0) {
		s->mode = GW_MODE_BDAT;
		s->bdat_remaining = chunk;
	}
	/*
	 * After DATA the client must wait for its reply (RFC 2920): what it sends
	 * before is message text if the reply is 354 and commands if it is not,
	 * and only the reply tells which. So nothing past DATA is read (it waits,
	 * unacked, for the client to send it again) until the reply comes.
	 */
	if (act == GW_ACT_FORWARD && verb == GW_CMD_DATA)
		s->data_reply_due = 1;
	return true;
}

/*
 * A new line cannot be read yet: the FIFO of outstanding commands is full
 * (even a line too long to hold could not be deferred once its start went
 * out), or DATA's reply has not come. Its first byte waits for the client to
 * send it again, unless it was sent on before.
 */
static bool line_must_wait(const struct gw_smtp_session *s)
{
	return (s->fifo_count >= GW_SMTP_FIFO_MAX || s->data_reply_due) &&
	       s->coff >= s->defer_floor;
}

/*
 * The end of a message, across chunk boundaries, as the MTA finds it. Postfix
 * before 3.9 (smtpd_forbid_bare_newline = no, Debian 12's) ends a line at any
 * LF, strips the CRs before it, and ends the message at a line that is then
 * ".": so "\n.\n", "\r\n.\n" and ".\r\r\n" end it as CRLF.CRLF does, and a
 * parser that waited for CRLF.CRLF would take the commands after such an end
 * for message text. Postfix 3.9 (normalize) and Exim end it only at a dot line
 * between CRLFs (end_crlf_only, greywall.conf's end_of_data = crlf): a parser
 * that ended it earlier would take message text for commands, waiting for
 * replies that never come. The LF ending DATA's 354 wait starts the first line.
 */
enum { BODY_MID_LINE, BODY_CR, BODY_LINE_START, BODY_DOT, BODY_DOT_CR, BODY_END };

static u8 body_next(u8 st, u8 c, bool crlf_only)
{
	bool dot = st == BODY_DOT || st == BODY_DOT_CR;

	if (c == '\n') {
		if (st == BODY_DOT_CR || (st == BODY_DOT && !crlf_only))
			return BODY_END;
		if (crlf_only)
			return st == BODY_CR ? BODY_LINE_START : BODY_MID_LINE;
		return BODY_LINE_START;
	}
	if (c == '.')
		return st == BODY_LINE_START ? BODY_DOT : BODY_MID_LINE;
	if (c == '\r')
		return dot ? BODY_DOT_CR : crlf_only ? BODY_CR : BODY_MID_LINE;
	return BODY_MID_LINE;
}

static u32 skip_body(struct gw_smtp_session *s, const u8 *d, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++) {
		s->body_state = body_next(s->body_state, d[i], s->end_crlf_only);
		if (s->body_state == BODY_END) {
			struct gw_smtp_pending p = {.verb = GW_CMD_DATA_END};

			s->coff += i + 1;
			s->mode = GW_MODE_COMMAND;
			s->cline_start = s->coff;
			/* the transaction is over: a RCPT after this needs a new MAIL */
			if (s->cb.command) {
				struct gw_smtp_cmd cmd_end = {.verb = GW_CMD_DATA_END};
				u32 tag = 0;

				cmd_end.offset = s->coff;
				(void)s->cb.command(s->ctx, &cmd_end, &tag);
			}
			fifo_push(s, &p);
			return i + 1;
		}
	}
	s->coff += len;
	return len;
}

u32 gw_smtp_feed_client(struct gw_smtp_session *s, const u8 *data, u32 len)
{
	u64 start = s->coff;
	u32 i = 0;

	while (i < len) {
		if (s->mode == GW_MODE_TLS || s->mode == GW_MODE_DESYNC) {
			s->coff += len - i;
			return len;
		}
		if (s->mode == GW_MODE_DATA) {
			i += skip_body(s, data + i, len - i);
			continue;
		}
		if (s->mode == GW_MODE_BDAT) {
			u64 take = len - i;

			if (take > s->bdat_remaining)
				take = s->bdat_remaining;
			s->bdat_remaining -= take;
			s->coff += take;
			i += (u32)take;
			if (s->bdat_remaining == 0) {
				s->mode = GW_MODE_COMMAND;
				s->cline_start = s->coff;
			}
			continue;
		}
		/* Command mode: gather one line. */
		{
			u8 c;

			if (s->cline_len == 0 && line_must_wait(s))
				return (u32)(s->coff - start);
			c = data[i++];
			if (s->cline_len == 0)
				s->cline_start = s->coff;
			s->coff++;
			if (s->cline_len < s->max_line) {
				s->cline[s->cline_len] = c;
			} else if (!s->cline_overlong) {
				s->cline_overlong = 1;
				if (!overlong_line(s))
					return s->coff > start ? (u32)(s->coff - start) : 0;
			}
			s->cline_len++;
			if (c == '\n') {
				if (!client_line(s))
					return s->coff > start ? (u32)(s->coff - start) : 0;
				s->cline_len = 0;
				s->cline_overlong = 0;
			}
		}
	}
	return len;
}

static void reply_complete(struct gw_smtp_session *s)
{
	struct gw_smtp_pending *head = fifo_peek(s);
	struct gw_smtp_reply r = {
	    .code = s->reply_code,
	    .offset = s->reply_start,
	    .len = (u32)(s->soff - s->reply_start),
	};
	u8 verb = GW_CMD_NONE;

	/* An injected entry at the head means its predecessor was answered already. */
	if (head && !head->injected) {
		verb = head->verb;
		r.tag = head->tag;
		fifo_pop(s);
		if (verb == GW_CMD_DATA)
			s->data_reply_due = 0;
	}
	r.verb = verb;
	if (verb == GW_CMD_DATA && r.code == 354) {
		s->mode = GW_MODE_DATA;
		s->body_state = BODY_LINE_START;
	} else if (verb == GW_CMD_STARTTLS && r.code == 220) {
		s->mode = GW_MODE_TLS;
	}
	/* A reply to BDAT changes nothing: chunk bytes are counted, whatever the server says. */
	if (s->cb.reply)
		s->cb.reply(s->ctx, &r);
	flush_injected(s, s->soff);
}

static void server_line(struct gw_smtp_session *s)
{
	const u8 *l = s->sline;
	u32 len = s->sline_len;
	u16 code;
	bool last;

	if (s->sline_overlong && len > s->max_line)
		len = s->max_line;
	if (len < 4 || !gw_is_digit(l[0]) || !gw_is_digit(l[1]) || !gw_is_digit(l[2]) ||
	    (l[3] != ' ' && l[3] != '-' && l[3] != '\r' && l[3] != '\n')) {
		desync(s, GW_DESYNC_BAD_REPLY);
		return;
	}
	code = (u16)((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
	if (!s->in_multiline) {
		s->reply_start = s->sline_start;
		s->reply_code = code;
	} else if (code != s->reply_code) {
		desync(s, GW_DESYNC_BAD_REPLY);
		return;
	}
	last = l[3] != '-';
	if (s->cb.reply_line) {
		struct gw_smtp_pending *head = fifo_peek(s);

		s->cb.reply_line(s->ctx, l, len, s->sline_start,
				 head && !head->injected ? head->verb : GW_CMD_NONE);
	}
	s->in_multiline = !last;
	if (last)
		reply_complete(s);
}

void gw_smtp_feed_server(struct gw_smtp_session *s, const u8 *data, u32 len)
{
	u32 i;

	for (i = 0; i < len; i++) {
		u8 c = data[i];

		if (s->mode == GW_MODE_DESYNC || s->mode == GW_MODE_TLS) {
			s->soff += len - i;
			return;
		}
		if (s->sline_len == 0)
			s->sline_start = s->soff;
		s->soff++;
		if (s->sline_len < s->max_line)
			s->sline[s->sline_len] = c;
		else
			s->sline_overlong = 1;
		s->sline_len++;
		if (c == '\n') {
			server_line(s);
			s->sline_len = 0;
			s->sline_overlong = 0;
		}
	}
}
