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
};

#define GW_HELO_MAX GW_ADDR_MAX

struct gw_smtp_cmd {
	u8 verb;
	u8 status;
	u8 flags;
	u16 path_len; /* MAIL/RCPT path without brackets and route; HELO name */
	u64 size;     /* SIZE= of MAIL, chunk size of BDAT */
	u64 offset;   /* stream offset of the line's first byte */
	u32 len;      /* line length including the terminator */
	u8 path[GW_ADDR_MAX];
};

GW_INLINE bool gw_kw_eq(const u8 *s, u32 len, const char *kw)
{
	u32 i;

	for (i = 0; kw[i]; i++)
		if (i >= len || gw_ascii_lower(s[i]) != (u8)kw[i])
			return false;
	return i == len;
}

GW_INLINE bool gw_kw_prefix(const u8 *s, u32 len, const char *kw)
{
	u32 i;

	for (i = 0; kw[i]; i++)
		if (i >= len || gw_ascii_lower(s[i]) != (u8)kw[i])
			return false;
	return true;
}

GW_INLINE u32 gw_skip_sp(const u8 *s, u32 len, u32 p)
{
	while (p < len && p < 4096 && (s[p] == ' ' || s[p] == '\t'))
		p++;
	return p;
}

/*
 * Reverse-path or forward-path after "FROM:" / "TO:". Accepts <>, source
 * routes (<@a,@b:u@d>, which RFC 5321 says to ignore), quoted local parts,
 * and the bracketless form that lenient servers take.
 */
GW_INLINE int gw_parse_path(const u8 *s, u32 len, u32 *pos, struct gw_smtp_cmd *c)
{
	u32 p = gw_skip_sp(s, len, *pos), n = 0;
	bool bracket = false, quoted = false;

	if (p < len && s[p] == '<') {
		bracket = true;
		p++;
		if (p < len && s[p] == '@') {
			while (p < len && p < 4096 && s[p] != ':' && s[p] != '>')
				p++;
			if (p >= len || s[p] != ':')
				return GW_SMTP_BAD_PATH;
			p++;
		}
	}
	for (; p < len && p < 4096; p++) {
		u8 ch = s[p];

		if (ch < 0x20 || ch == 0x7f)
			return GW_SMTP_BAD_PATH;
		if (quoted) {
			if (ch == '\\' && p + 1 < len) {
				if (n + 2 > GW_ADDR_MAX)
					return GW_SMTP_BAD_PATH;
				c->path[n++] = ch;
				c->path[n++] = s[++p];
				continue;
			}
			if (ch == '"')
				quoted = false;
		} else if (ch == '"') {
			quoted = true;
		} else if (bracket && ch == '>') {
			break;
		} else if (!bracket && ch == ' ') {
			break;
		}
		if (n >= GW_ADDR_MAX)
			return GW_SMTP_BAD_PATH;
		c->path[n++] = ch;
	}
	if (quoted || (bracket && (p >= len || s[p] != '>')))
		return GW_SMTP_BAD_PATH;
	if (bracket)
		p++;
	c->path_len = (u16)n;
	*pos = p;
	return GW_SMTP_OK;
}

/* ESMTP parameters after the path: SIZE=, BODY=, SMTPUTF8. Others are the server's business. */
GW_INLINE int gw_parse_params(const u8 *s, u32 len, u32 p, struct gw_smtp_cmd *c)
{
	u32 guard;

	for (guard = 0; guard < 64; guard++) {
		u32 start, end;

		p = gw_skip_sp(s, len, p);
		if (p >= len)
			return GW_SMTP_OK;
		start = p;
		while (p < len && p < 4096 && s[p] != ' ')
			p++;
		end = p;
		if (gw_kw_prefix(s + start, end - start, "size=")) {
			if (!gw_parse_u64(s + start + 5, end - start - 5, &c->size))
				return GW_SMTP_SYNTAX;
		} else if (gw_kw_eq(s + start, end - start, "body=8bitmime")) {
			c->flags |= GW_CMDF_8BITMIME;
		} else if (gw_kw_eq(s + start, end - start, "body=binarymime")) {
			c->flags |= GW_CMDF_BINARYMIME;
		} else if (gw_kw_eq(s + start, end - start, "smtputf8")) {
			c->flags |= GW_CMDF_SMTPUTF8;
		}
	}
	return GW_SMTP_SYNTAX;
}

GW_INLINE int gw_parse_envelope(const u8 *s, u32 len, u32 p, const char *kw, struct gw_smtp_cmd *c)
{
	u32 kwlen = 0;
	int rc;

	while (kw[kwlen])
		kwlen++;
	p = gw_skip_sp(s, len, p);
	if (p + kwlen > len || !gw_kw_prefix(s + p, kwlen, kw))
		return GW_SMTP_SYNTAX;
	p += kwlen;
	rc = gw_parse_path(s, len, &p, c);
	if (rc != GW_SMTP_OK)
		return rc;
	return gw_parse_params(s, len, p, c);
}

/*
 * Parse one command line. len excludes the CRLF (or bare LF). The caller
 * fills offset and len; this fills the rest.
 */
GW_INLINE void gw_smtp_parse_command(const u8 *s, u32 len, struct gw_smtp_cmd *c)
{
	u32 vlen = 0, p;

	c->verb = GW_CMD_OTHER;
	c->status = GW_SMTP_OK;
	c->flags = 0;
	c->path_len = 0;
	c->size = 0;
	while (vlen < len && vlen < 16 && s[vlen] != ' ')
		vlen++;
	p = vlen;
	if (gw_kw_eq(s, vlen, "mail")) {
		c->verb = GW_CMD_MAIL;
		c->status = (u8)gw_parse_envelope(s, len, p, "from:", c);
	} else if (gw_kw_eq(s, vlen, "rcpt")) {
		c->verb = GW_CMD_RCPT;
		c->status = (u8)gw_parse_envelope(s, len, p, "to:", c);
	} else if (gw_kw_eq(s, vlen, "ehlo") || gw_kw_eq(s, vlen, "helo")) {
		u32 start, n = 0;

		c->verb = gw_ascii_lower(s[0]) == 'e' ? GW_CMD_EHLO : GW_CMD_HELO;
		start = gw_skip_sp(s, len, p);
		while (start + n < len && n < GW_HELO_MAX && s[start + n] != ' ') {
			c->path[n] = gw_ascii_lower(s[start + n]);
			n++;
		}
		c->path_len = (u16)n;
		if (n == 0)
			c->status = GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, vlen, "bdat")) {
		u32 start = gw_skip_sp(s, len, p), end = start;

		c->verb = GW_CMD_BDAT;
		while (end < len && end < 4096 && gw_is_digit(s[end]))
			end++;
		if (!gw_parse_u64(s + start, end - start, &c->size)) {
			c->status = GW_SMTP_SYNTAX;
			return;
		}
		end = gw_skip_sp(s, len, end);
		if (gw_kw_eq(s + end, len - end, "last"))
			c->flags |= GW_CMDF_BDAT_LAST;
		else if (end != len)
			c->status = GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, vlen, "data")) {
		c->verb = GW_CMD_DATA;
		if (gw_skip_sp(s, len, p) != len)
			c->status = GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, vlen, "rset")) {
		c->verb = GW_CMD_RSET;
	} else if (gw_kw_eq(s, vlen, "quit")) {
		c->verb = GW_CMD_QUIT;
	} else if (gw_kw_eq(s, vlen, "starttls")) {
		c->verb = GW_CMD_STARTTLS;
		if (gw_skip_sp(s, len, p) != len)
			c->status = GW_SMTP_SYNTAX;
	} else if (gw_kw_eq(s, vlen, "noop")) {
		c->verb = GW_CMD_NOOP;
	}
}

#endif /* GREYWALL_SMTP_COMMAND_H */
