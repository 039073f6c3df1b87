/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One SMTP command line to a structured command (RFC 5321 4.1). Shared with
 * the BPF programs, so it takes a bounded line and calls nothing.
 */
#ifndef GREYWALL_SMTP_COMMAND_H
#define GREYWALL_SMTP_COMMAND_H

#include "compiler.h"
#include "normalize.h"

enum gw_smtp_verb {
	GW_CMD_NONE = 0, /* a reply with no command outstanding */
	GW_CMD_CONNECT,	 /* the greeting is the reply to the connection */
	GW_CMD_EHLO,
	GW_CMD_HELO,
	GW_CMD_MAIL,
	GW_CMD_RCPT,
	GW_CMD_DATA,
	GW_CMD_DATA_END, /* CRLF.CRLF: the message itself gets a reply */
	GW_CMD_BDAT,
	GW_CMD_RSET,
	GW_CMD_QUIT,
	GW_CMD_STARTTLS,
	GW_CMD_NOOP,
	GW_CMD_OTHER,
	GW_CMD_COUNT
};

enum gw_smtp_status {
	GW_SMTP_OK = 0,
	GW_SMTP_SYNTAX,	  /* verb known, arguments malformed */
	GW_SMTP_BAD_PATH, /* unterminated, over-long or control characters */
	GW_SMTP_TOO_LONG, /* line over the configured limit */
};

enum gw_smtp_cmd_flags {
	GW_CMDF_BDAT_LAST = 1,
	GW_CMDF_SMTPUTF8 = 2,
	GW_CMDF_8BITMIME = 4,
	GW_CMDF_BINARYMIME = 8,
	GW_CMDF_PATH_OK = 16,	/* MAIL/RCPT: the path parsed, whatever came after it */
	GW_CMDF_PATH_RAW = 32,	/* it did not: path holds the raw argument (user space) */
	GW_CMDF_TRUNCATED = 64, /* the line outgrew max_line: decided on its first max_line */
};

#define GW_HELO_MAX GW_ADDR_MAX
/*
 * The longest path the parser hands over: in BPF the triplet's own size (a
 * longer one is passed and counted, for the backstop to judge); in user
 * space a whole command line's worth, normalised and fingerprinted there.
 */
#ifdef __bpf__
#define GW_PATH_MAX GW_ADDR_MAX
#else
#define GW_PATH_MAX 2048
#endif

struct gw_smtp_cmd {
	u8 verb;
	u8 status;
	u8 flags;
	u16 path_len; /* MAIL/RCPT path without brackets and route; HELO name */
	u16 verb_at;  /* the verb's first byte: blanks before it are allowed */
	u64 size;     /* SIZE= of MAIL, chunk size of BDAT */
	u64 offset;   /* stream offset of the line's first byte */
	u32 len;      /* line length including the terminator */
	u8 path[GW_PATH_MAX];
};

/*
 * The line the parser reads. In BPF it is a fixed buffer and every index is
 * masked into it (gw_index), so a step that starts at an unknown offset still verifies;
 * in user space it is the caller's bytes. Offsets never reach the mask: a
 * line is at most GW_LINE_CAP bytes on both sides.
 */
#ifdef __bpf__
/*
 * RFC 5321 4.5.3.1.4 allows 512 octets with the CRLF; the relay filter
 * passes longer lines and counts them. Every bound loop of the parser costs
 * the verifier this many iterations.
 */
#define GW_LINE_CAP 512
#else
#define GW_LINE_CAP 2048 /* GW_SMTP_LINE_HARD */
#endif
#ifdef __bpf__
struct gw_line {
	u8 b[GW_LINE_CAP];
};
typedef const struct gw_line *gw_line_t;
#define GW_LB(s, i) ((s)->b[gw_index((i), GW_LINE_CAP)])
#else
typedef const u8 *gw_line_t;
#define GW_LB(s, i) ((s)[i])
#endif

/* s[off, off + len) equals kw, ignoring ASCII case (kw is lower case). */
GW_INLINE bool gw_kw_eq(gw_line_t s, u32 off, u32 len, const char *kw)
{
	u32 i;

	for (i = 0; kw[i]; i++)
		if (i >= len || gw_ascii_lower(GW_LB(s, off + i)) != (u8)kw[i])
			return false;
	return i == len;
}

GW_INLINE bool gw_kw_prefix(gw_line_t s, u32 off, u32 len, const char *kw)
{
	u32 i;

	for (i = 0; kw[i]; i++)
		if (i >= len || gw_ascii_lower(GW_LB(s, off + i)) != (u8)kw[i])
			return false;
	return true;
}

/*
 * A byte that separates the words of a command line. The MTA decides what a
 * line says, so this is the MTA's rule, not RFC 5321's single space: Postfix
 * splits at any isspace() byte (smtpd_token) and skips blanks before the verb,
 * so "\tRCPT\vTO:<a@b>" is an RCPT to it and must be one to greywall.
 */
GW_INLINE bool gw_smtp_blank(u8 c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

GW_STEP u32 gw_skip_sp(gw_line_t s, u32 len, u32 p)
{
	if (!s)
		return len;
	while (p < len && p < GW_LINE_CAP && gw_smtp_blank(GW_LB(s, p)))
		p++;
	return p;
}

/* The end of the run of non-blank bytes at p. */
GW_STEP u32 gw_skip_token(gw_line_t s, u32 len, u32 p)
{
	if (!s)
		return len;
	while (p < len && p < GW_LINE_CAP && !gw_smtp_blank(GW_LB(s, p)))
		p++;
	return p;
}

/* A decimal number of 1 to 19 digits filling s[start, end), or -1. */
GW_STEP int gw_line_u64(gw_line_t s, u32 start, u32 end, u64 *out)
{
	u64 v = 0;
	u32 i;

	if (!s || !out || end <= start || end - start > 19)
		return -1;
	for (i = 0; i < 19 && start + i < end; i++) {
		u8 ch = GW_LB(s, start + i);

		if (!gw_is_digit(ch))
			return -1;
		v = v * 10 + (u64)(ch - '0');
	}
	*out = v;
	return 0;
}

/* A source route "@a,@b:" from p: the offset after the ':', or -1. */
GW_STEP int gw_skip_route(gw_line_t s, u32 len, u32 p)
{
	if (!s)
		return -1;
	while (p < len && p < GW_LINE_CAP && GW_LB(s, p) != ':' && GW_LB(s, p) != '>')
		p++;
	if (p >= len || p >= GW_LINE_CAP || GW_LB(s, p) != ':')
		return -1;
	return (int)p + 1;
}

/* ' ' ( ) , : ; < as bits from ' ' up: the RFC 822 specials a path may not hold unquoted */
#define GW_PATH_SPECIALS                                                                           \
	((1u << 0) | (1u << ('(' - ' ')) | (1u << (')' - ' ')) | (1u << (',' - ' ')) |             \
	 (1u << (':' - ' ')) | (1u << (';' - ' ')) | (1u << ('<' - ' ')))

/*
 * Reverse-path or forward-path after "FROM:" / "TO:". Accepts <>, source
 * routes (<@a,@b:u@d>, which RFC 5321 says to ignore), quoted local parts,
 * and the bracketless form that lenient servers take. Returns the offset
 * after the path, or minus a gw_smtp_status.
 */
GW_STEP int gw_parse_path(gw_line_t s, u32 len, u32 p, struct gw_smtp_cmd *c)
{
	bool bracket = false, quoted = false, literal = false;
	u32 n = 0;

	if (!s || !c || len > GW_LINE_CAP)
		return -GW_SMTP_BAD_PATH;
	if (p < len && GW_LB(s, p) == '<') {
		bracket = true;
		p++;
		if (p < len && GW_LB(s, p) == '@') {
			int route_end = gw_skip_route(s, len, p);

			if (route_end < 0)
				return -GW_SMTP_BAD_PATH;
			p = (u32)route_end;
		}
	}
	for (; p < len && p < GW_LINE_CAP; p++) {
		u8 ch = GW_LB(s, p);

		if (!bracket && !quoted && gw_smtp_blank(ch))
			break;
		if (ch < 0x20 || ch == 0x7f)
			return -GW_SMTP_BAD_PATH;
#ifndef __bpf__
		/*
		 * A domain literal ([IPv6:2001:db8::1]) may hold ':'. The relay
		 * filter has no verifier budget left for it: such a path passes
		 * there, counted, for its backstop to judge.
		 */
		if (!quoted)
			literal = ch == '[' ? true : ch == ']' ? false : literal;
#endif
		/*
		 * RFC 822 syntax an MTA reads its own way: Postfix (tok822) takes
		 * "<postmaster@x<bob@y>>" or "<bob@y(@white.example>" for bob@y.
		 * Such a path is not a path to greywall: keyed raw, it can be
		 * neither exempt nor listed.
		 */
		if (!quoted && !literal && ch >= ' ' && ch <= '<' &&
		    ((GW_PATH_SPECIALS >> (ch - ' ')) & 1))
			return -GW_SMTP_BAD_PATH;
		if (quoted) {
			if (ch == '\\' && p + 1 < len) {
				if (n + 2 > GW_PATH_MAX)
					return -GW_SMTP_BAD_PATH;
				c->path[n++] = ch;
				c->path[n++] = GW_LB(s, ++p);
				continue;
			}
			if (ch == '"')
				quoted = false;
		} else if (ch == '"') {
			quoted = true;
		} else if (bracket && ch == '>') {
			break;
		}
		if (n >= GW_PATH_MAX)
			return -GW_SMTP_BAD_PATH;
		c->path[n++] = ch;
	}
	if (quoted || (bracket && (p >= len || GW_LB(s, p) != '>')))
		return -GW_SMTP_BAD_PATH;
	if (bracket)
		p++;
	c->path_len = (u16)n;
	c->flags |= GW_CMDF_PATH_OK;
	return (int)p;
}

/* One ESMTP parameter s[start, end): SIZE=, BODY=, SMTPUTF8. Others are the server's business. */
GW_STEP int gw_parse_param(gw_line_t s, u32 start, u32 end, struct gw_smtp_cmd *c)
{
	u32 n = end - start;

	if (!s || !c || end < start)
		return GW_SMTP_SYNTAX;
	if (gw_kw_prefix(s, start, n, "size=")) {
		if (gw_line_u64(s, start + 5, end, &c->size) < 0)
			return GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, start, n, "body=8bitmime")) {
		c->flags |= GW_CMDF_8BITMIME;
	} else if (gw_kw_eq(s, start, n, "body=binarymime")) {
		c->flags |= GW_CMDF_BINARYMIME;
	} else if (gw_kw_eq(s, start, n, "smtputf8")) {
		c->flags |= GW_CMDF_SMTPUTF8;
	}
	return GW_SMTP_OK;
}

/* The parameters after the path, at most 64 of them. */
GW_INLINE int gw_parse_params(gw_line_t s, u32 len, u32 p, struct gw_smtp_cmd *c)
{
	u32 guard;

	for (guard = 0; guard < 64; guard++) {
		u32 start, end;

		p = gw_skip_sp(s, len, p);
		if (p >= len)
			return GW_SMTP_OK;
		start = p;
		end = gw_skip_token(s, len, p);
		if (end <= start || gw_parse_param(s, start, end, c) != GW_SMTP_OK)
			return GW_SMTP_SYNTAX;
		p = end;
	}
	return GW_SMTP_SYNTAX;
}

/* MAIL FROM: / RCPT TO: (kw) from p: the path and its parameters. */
GW_INLINE int gw_parse_envelope(gw_line_t s, u32 len, u32 p, const char *kw, struct gw_smtp_cmd *c)
{
	u32 kwlen = 0;
	int end;

	while (kw[kwlen])
		kwlen++;
	p = gw_skip_sp(s, len, p);
	if (p + kwlen > len || !gw_kw_prefix(s, p, kwlen, kw))
		return GW_SMTP_SYNTAX;
	end = gw_parse_path(s, len, gw_skip_sp(s, len, p + kwlen), c);
	if (end < 0)
		return -end;
	return gw_parse_params(s, len, (u32)end, c);
}

/* The HELO/EHLO name from p, lower-cased into c->path. */
GW_STEP int gw_parse_helo(gw_line_t s, u32 len, u32 p, struct gw_smtp_cmd *c)
{
	u32 n = 0;

	if (!s || !c)
		return GW_SMTP_SYNTAX;
	while (p + n < len && p + n < GW_LINE_CAP && n < GW_HELO_MAX &&
	       !gw_smtp_blank(GW_LB(s, p + n))) {
		c->path[n] = gw_ascii_lower(GW_LB(s, p + n));
		n++;
	}
	c->path_len = (u16)n;
	return n == 0 ? GW_SMTP_SYNTAX : GW_SMTP_OK;
}

/* BDAT chunk-size [LAST] from p. */
GW_STEP int gw_parse_bdat(gw_line_t s, u32 len, u32 p, struct gw_smtp_cmd *c)
{
	u32 start, end;

	if (!s || !c)
		return GW_SMTP_SYNTAX;
	start = gw_skip_sp(s, len, p);
	end = start;
	while (end < len && end < GW_LINE_CAP && gw_is_digit(GW_LB(s, end)))
		end++;
#ifndef __bpf__
	/* leading zeros count for nothing (off_cvt_string); the relay filter needs no size */
	while (end - start > 1 && GW_LB(s, start) == '0')
		start++;
#endif
	if (gw_line_u64(s, start, end, &c->size) < 0)
		return GW_SMTP_SYNTAX;
	end = gw_skip_sp(s, len, end);
	p = gw_skip_token(s, len, end);
	if (p > end && gw_kw_eq(s, end, p - end, "last")) {
		c->flags |= GW_CMDF_BDAT_LAST;
		end = gw_skip_sp(s, len, p);
	}
	if (end != len)
		return GW_SMTP_SYNTAX;
	return GW_SMTP_OK;
}

/*
 * Parse one command line. len excludes the CRLF (or bare LF). The caller
 * fills offset and len; this fills the rest.
 */
GW_INLINE void gw_smtp_parse_command(gw_line_t s, u32 len, struct gw_smtp_cmd *c)
{
	u32 v, vlen = 0, p;

	c->verb = GW_CMD_OTHER;
	c->status = GW_SMTP_OK;
	c->flags = 0;
	c->path_len = 0;
	c->size = 0;
	if (len > GW_LINE_CAP)
		len = GW_LINE_CAP;
	/* the verb is the first word, wherever the blanks before it end */
	v = gw_skip_sp(s, len, 0);
	while (v + vlen < len && vlen < 16 && !gw_smtp_blank(GW_LB(s, v + vlen)))
		vlen++;
	c->verb_at = (u16)v;
	p = v + vlen;
	if (gw_kw_eq(s, v, vlen, "mail")) {
		c->verb = GW_CMD_MAIL;
		c->status = (u8)gw_parse_envelope(s, len, p, "from:", c);
	} else if (gw_kw_eq(s, v, vlen, "rcpt")) {
		c->verb = GW_CMD_RCPT;
		c->status = (u8)gw_parse_envelope(s, len, p, "to:", c);
	} else if (gw_kw_eq(s, v, vlen, "ehlo") || gw_kw_eq(s, v, vlen, "helo")) {
		c->verb = gw_ascii_lower(GW_LB(s, v)) == 'e' ? GW_CMD_EHLO : GW_CMD_HELO;
		c->status = (u8)gw_parse_helo(s, len, gw_skip_sp(s, len, p), c);
	} else if (gw_kw_eq(s, v, vlen, "bdat")) {
		c->verb = GW_CMD_BDAT;
		c->status = (u8)gw_parse_bdat(s, len, p, c);
	} else if (gw_kw_eq(s, v, vlen, "data")) {
		c->verb = GW_CMD_DATA;
		if (gw_skip_sp(s, len, p) != len)
			c->status = GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, v, vlen, "rset")) {
		c->verb = GW_CMD_RSET;
		/* "RSET x": the server refuses it and keeps its transaction */
		if (gw_skip_sp(s, len, p) != len)
			c->status = GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, v, vlen, "quit")) {
		c->verb = GW_CMD_QUIT;
	} else if (gw_kw_eq(s, v, vlen, "starttls")) {
		c->verb = GW_CMD_STARTTLS;
		if (gw_skip_sp(s, len, p) != len)
			c->status = GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, v, vlen, "noop")) {
		c->verb = GW_CMD_NOOP;
	}
}

#endif /* GREYWALL_SMTP_COMMAND_H */
