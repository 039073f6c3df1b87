// SPDX-License-Identifier: BSD-2-Clause
/*
 * Whole conversations through the two-direction parser. Each conversation is
 * fed whole, byte by byte, and split at every offset of every step; the event
 * transcript must be the same every time and must match the expected one.
 */
#include "unit.h"

#include "greywall/smtp_stream.h"

struct step {
	char dir; /* 'C' client->server, 'S' server->client */
	const char *data;
};

struct transcript {
	char buf[8192];
	size_t len;
};

static void emit(struct transcript *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	t->len += (size_t)vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
}

/* Recipients with "grey" in them are dropped, as the dataplane does for a 450. */
static enum gw_smtp_action on_command(void *ctx, const struct gw_smtp_cmd *c, u32 *tag)
{
	struct transcript *t = ctx;

	emit(t, "C %s st=%u @%llu+%u", gw_smtp_verb_name(c->verb), c->status,
	     (unsigned long long)c->offset, c->len);
	if (c->verb == GW_CMD_MAIL || c->verb == GW_CMD_RCPT)
		emit(t, " <%.*s>", c->path_len, c->path);
	emit(t, "\n");
	*tag = (u32)c->offset;
	if (c->verb == GW_CMD_RCPT && memmem(c->path, c->path_len, "grey", 4))
		return GW_ACT_DROP;
	return GW_ACT_FORWARD;
}

static void on_reply(void *ctx, const struct gw_smtp_reply *r)
{
	emit(ctx, "R %u %s @%llu+%u\n", r->code, gw_smtp_verb_name(r->verb),
	     (unsigned long long)r->offset, r->len);
}

static void on_inject(void *ctx, const struct gw_smtp_pending *p, u64 at)
{
	emit(ctx, "I %s cmd@%llu at=%llu\n", gw_smtp_verb_name(p->verb),
	     (unsigned long long)p->offset, (unsigned long long)at);
}

static const struct gw_smtp_callbacks cbs = {
    .command = on_command,
    .reply = on_reply,
    .inject = on_inject,
};

static void feed(struct gw_smtp_session *s, char dir, const char *d, size_t len)
{
	if (dir == 'C')
		gw_smtp_feed_client(s, (const u8 *)d, (u32)len);
	else
		gw_smtp_feed_server(s, (const u8 *)d, (u32)len);
}

/* split_step < 0: whole steps; split_at == 0: byte at a time. */
static void run(const struct step *steps, size_t n, u32 max_line, long split_step, size_t split_at,
		struct transcript *t, struct gw_smtp_session *s)
{
	size_t i, j;

	memset(t, 0, sizeof(*t));
	gw_smtp_session_init(s, max_line, &cbs, t);
	for (i = 0; i < n; i++) {
		const char *d = steps[i].data;
		size_t len = strlen(d);

		if (split_step == -2) {
			for (j = 0; j < len; j++)
				feed(s, steps[i].dir, d + j, 1);
		} else if ((long)i == split_step) {
			feed(s, steps[i].dir, d, split_at);
			feed(s, steps[i].dir, d + split_at, len - split_at);
		} else {
			feed(s, steps[i].dir, d, len);
		}
	}
}

static void check_conversation(const struct step *steps, size_t n, u32 max_line, const char *want,
			       u8 want_mode)
{
	static struct gw_smtp_session s;
	static struct transcript whole, other;
	size_t i, at;

	run(steps, n, max_line, -1, 0, &whole, &s);
	if (strcmp(whole.buf, want) != 0)
		fail_msg("transcript:\n%s\nwant:\n%s", whole.buf, want);
	assert_int_equal(s.mode, want_mode);
	run(steps, n, max_line, -2, 0, &other, &s);
	if (strcmp(other.buf, want) != 0)
		fail_msg("byte-at-a-time transcript:\n%s\nwant:\n%s", other.buf, want);
	for (i = 0; i < n; i++) {
		for (at = 1; at < strlen(steps[i].data); at++) {
			run(steps, n, max_line, (long)i, at, &other, &s);
			if (strcmp(other.buf, want) != 0)
				fail_msg("split step %zu at %zu:\n%s\nwant:\n%s", i, at, other.buf,
					 want);
			assert_int_equal(s.mode, want_mode);
		}
	}
}

#define CHECK(steps, want, mode) check_conversation(steps, ARRAY_SIZE(steps), 512, want, mode)

static void test_plain_session(void **state)
{
	static const struct step steps[] = {
	    {'S', "220 mx.example ESMTP\r\n"},
	    {'C', "EHLO client.example\r\n"},
	    {'S', "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"},
	    {'C', "MAIL FROM:<a@client.example>\r\n"},
	    {'S', "250 2.1.0 Ok\r\n"},
	    {'C', "RCPT TO:<b@mx.example>\r\n"},
	    {'S', "250 2.1.5 Ok\r\n"},
	    {'C', "QUIT\r\n"},
	    {'S', "221 Bye\r\n"},
	};

	(void)state;
	CHECK(steps,
	      "R 220 connect @0+22\n"
	      "C EHLO st=0 @0+21\n"
	      "R 250 EHLO @22+46\n"
	      "C MAIL st=0 @21+30 <a@client.example>\n"
	      "R 250 MAIL @68+14\n"
	      "C RCPT st=0 @51+24 <b@mx.example>\n"
	      "R 250 RCPT @82+14\n"
	      "C QUIT st=0 @75+6\n"
	      "R 221 QUIT @96+9\n",
	      GW_MODE_COMMAND);
}

static void test_pipelined_mixed_verdicts(void **state)
{
	/* MAIL, a greylisted RCPT, a passed RCPT, DATA in one flight. */
	static const struct step steps[] = {
	    {'S', "220 mx\r\n"},
	    {'C', "MAIL FROM:<a@c>\r\nRCPT TO:<grey@mx>\r\nRCPT TO:<ok@mx>\r\nDATA\r\n"},
	    {'S', "250 ok\r\n250 ok\r\n354 go\r\n"},
	    {'C', "Subject: x\r\n\r\nRCPT TO:<grey@inbody>\r\n..dot\r\n.\r\n"},
	    {'S', "250 queued\r\n"},
	};

	(void)state;
	CHECK(steps,
	      "R 220 connect @0+8\n"
	      "C MAIL st=0 @0+17 <a@c>\n"
	      "C RCPT st=0 @17+19 <grey@mx>\n"
	      "C RCPT st=0 @36+17 <ok@mx>\n"
	      "C DATA st=0 @53+6\n"
	      "R 250 MAIL @8+8\n"
	      "I RCPT cmd@17 at=16\n"
	      "R 250 RCPT @16+8\n"
	      "R 354 DATA @24+8\n"
	      "C (end of data) st=0 @106+0\n"
	      "R 250 (end of data) @32+12\n",
	      GW_MODE_COMMAND);
}

static void test_all_greylisted_with_data(void **state)
{
	static const struct step steps[] = {
	    {'S', "220 mx\r\n"},
	    {'C', "MAIL FROM:<a@c>\r\nRCPT TO:<grey1@mx>\r\nRCPT TO:<grey2@mx>\r\nDATA\r\n"},
	    {'S', "250 ok\r\n554 5.5.1 Error: no valid recipients\r\n"},
	    {'C', "RSET\r\n"},
	    {'S', "250 ok\r\n"},
	};

	(void)state;
	/* Both injected replies go right after MAIL's; DATA fails, so no data mode. */
	CHECK(steps,
	      "R 220 connect @0+8\n"
	      "C MAIL st=0 @0+17 <a@c>\n"
	      "C RCPT st=0 @17+20 <grey1@mx>\n"
	      "C RCPT st=0 @37+20 <grey2@mx>\n"
	      "C DATA st=0 @57+6\n"
	      "R 250 MAIL @8+8\n"
	      "I RCPT cmd@17 at=16\n"
	      "I RCPT cmd@37 at=16\n"
	      "R 554 DATA @16+38\n"
	      "C RSET st=0 @63+6\n"
	      "R 250 RSET @54+8\n",
	      GW_MODE_COMMAND);
}

static void test_inject_with_nothing_outstanding(void **state)
{
	static const struct step steps[] = {
	    {'S', "220 mx\r\n"}, {'C', "MAIL FROM:<>\r\n"},
	    {'S', "250 ok\r\n"}, {'C', "RCPT TO:<grey@mx>\r\n"},
	    {'C', "QUIT\r\n"},	 {'S', "221 bye\r\n"},
	};

	(void)state;
	CHECK(steps,
	      "R 220 connect @0+8\n"
	      "C MAIL st=0 @0+14 <>\n"
	      "R 250 MAIL @8+8\n"
	      "C RCPT st=0 @14+19 <grey@mx>\n"
	      "I RCPT cmd@14 at=16\n"
	      "C QUIT st=0 @33+6\n"
	      "R 221 QUIT @16+9\n",
	      GW_MODE_COMMAND);
}

static void test_bdat_body_is_not_parsed(void **state)
{
	static const struct step steps[] = {
	    {'S', "220 mx\r\n"},
	    {'C', "BDAT 22\r\nRCPT TO:<grey@x>\r\nQUIT"},
	    {'C', "BDAT 0 LAST\r\n"},
	    {'S', "250 chunk\r\n250 done\r\n"},
	};

	(void)state;
	CHECK(steps,
	      "R 220 connect @0+8\n"
	      "C BDAT st=0 @0+9\n"
	      "C BDAT st=0 @31+13\n"
	      "R 250 BDAT @8+11\n"
	      "R 250 BDAT @19+10\n",
	      GW_MODE_COMMAND);
}

static void test_failed_data_stays_in_command_mode(void **state)
{
	static const struct step steps[] = {
	    {'S', "220 mx\r\n"},
	    {'C', "DATA\r\n"},
	    {'S', "503 5.5.1 need RCPT\r\n"},
	    {'C', "RCPT TO:<grey@mx>\r\n"},
	};

	(void)state;
	CHECK(steps,
	      "R 220 connect @0+8\n"
	      "C DATA st=0 @0+6\n"
	      "R 503 DATA @8+21\n"
	      "C RCPT st=0 @6+19 <grey@mx>\n"
	      "I RCPT cmd@6 at=29\n",
	      GW_MODE_COMMAND);
}

static void test_starttls_stops_parsing(void **state)
{
	static const struct step steps[] = {
	    {'S', "220 mx\r\n"},
	    {'C', "STARTTLS\r\n"},
	    {'S', "220 2.0.0 go ahead\r\n\x16\x03\x01garbage"},
	    {'C', "\x16\x03\x01RCPT TO:<grey@mx>\r\n"},
	};

	(void)state;
	CHECK(steps,
	      "R 220 connect @0+8\n"
	      "C STARTTLS st=0 @0+10\n"
	      "R 220 STARTTLS @8+20\n",
	      GW_MODE_TLS);
}

/*
 * A line longer than max_line: a MAIL or RCPT is reported early, once, from
 * its first max_line bytes (flagged truncated; here its path does not close
 * within them, so the raw argument is handed over), then the whole line as
 * too long when it ends; the session goes on.
 */
static void test_overlong_line(void **state)
{
	static char longline[700];
	static struct step steps[] = {
	    {'S', "220 mx\r\n"},	  {'C', longline},     {'S', "500 5.5.2 line too long\r\n"},
	    {'C', "RCPT TO:<ok@mx>\r\n"}, {'S', "250 ok\r\n"},
	};
	static char want[1400], raw[520];

	(void)state;
	memset(longline, 'A', 600);
	memcpy(longline, "RCPT TO:<", 9);
	memcpy(longline + 600, ">\r\n", 4);
	/* the raw argument: from the '<' to the end of the first 512 bytes */
	memset(raw, 'A', sizeof(raw));
	raw[0] = '<';
	raw[512 - 8] = 0;
	snprintf(want, sizeof(want),
		 "R 220 connect @0+8\n"
		 "C RCPT st=%d @0+0 <%s>\n"
		 "C other st=%d @0+603\n"
		 "R 500 RCPT @8+25\n" /* its reply answers the RCPT its first bytes were */
		 "C RCPT st=0 @603+17 <ok@mx>\n"
		 "R 250 RCPT @33+8\n",
		 GW_SMTP_BAD_PATH, raw, GW_SMTP_TOO_LONG);
	/* The split loop over a 603-byte step is slow but still milliseconds. */
	check_conversation(steps, ARRAY_SIZE(steps), 512, want, GW_MODE_COMMAND);
}

/*
 * A client that pipelines more commands than the FIFO holds is made to wait,
 * not lost track of: the line that finds the FIFO full is given back
 * unconsumed (nothing is reported for it), and once a reply frees a slot the
 * same bytes fed again are taken.
 */
static void test_fifo_full_defers_the_line_until_a_reply(void **state)
{
	static struct gw_smtp_session s;
	static struct transcript t;
	u64 before;
	int i;

	(void)state;
	memset(&t, 0, sizeof(t));
	gw_smtp_session_init(&s, 512, &cbs, &t);
	/* the greeting holds the first slot */
	for (i = 0; i < GW_SMTP_FIFO_MAX - 1; i++)
		assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"NOOP\r\n", 6), 6);
	before = s.coff;
	t.len = 0;
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"NOOP\r\nQUIT\r\n", 12), 0);
	assert_int_equal(s.coff, before);
	assert_int_equal(s.mode, GW_MODE_COMMAND);
	assert_int_equal(t.len, 0); /* the deferred line was not reported */
	/* not even a line's first byte is taken while the FIFO is full */
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"NO", 2), 0);
	assert_int_equal(s.coff, before);
	gw_smtp_feed_server(&s, (const u8 *)"220 hi\r\n", 8);
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"NOOP\r\nQUIT\r\n", 12), 6);
	assert_int_equal(s.coff, before + 6);
	gw_smtp_feed_server(&s, (const u8 *)"250 ok\r\n", 8);
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"QUIT\r\n", 6), 6);
	assert_int_equal(s.mode, GW_MODE_COMMAND);
}

static void test_garbage_reply_desyncs(void **state)
{
	static struct gw_smtp_session s;
	static struct transcript t;

	(void)state;
	memset(&t, 0, sizeof(t));
	gw_smtp_session_init(&s, 512, &cbs, &t);
	gw_smtp_feed_server(&s, (const u8 *)"SSH-2.0-OpenSSH\r\n", 17);
	assert_int_equal(s.mode, GW_MODE_DESYNC);
	assert_int_equal(s.desync, GW_DESYNC_BAD_REPLY);
}

static void test_bare_lf_lines(void **state)
{
	static const struct step steps[] = {
	    {'S', "220 mx\n"},
	    {'C', "MAIL FROM:<a@b>\nRCPT TO:<c@d>\n"},
	    {'S', "250 ok\n250 ok\n"},
	};

	(void)state;
	CHECK(steps,
	      "R 220 connect @0+7\n"
	      "C MAIL st=0 @0+16 <a@b>\n"
	      "C RCPT st=0 @16+14 <c@d>\n"
	      "R 250 MAIL @7+7\n"
	      "R 250 RCPT @14+7\n",
	      GW_MODE_COMMAND);
}

/*
 * A message ends where Postfix 3.7 ends it: at a dot line, whatever the LF
 * before it and the CRs after it (smtpd_forbid_bare_newline = no). The RCPT
 * right after such an end is a command, and is judged; a dot-stuffed line and
 * a dot in the middle of a line end nothing.
 */
static void test_message_ends_where_postfix_ends_it(void **state)
{
	static const char *const ends[] = {"\r\n.\r\n", "\n.\n", "\n.\r\n", "\r\n.\n",
					   "\r\n.\r\r\n"};
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ends); i++) {
		static char body[128], want[512];
		struct step steps[] = {
		    {'S', "220 mx\r\n"},
		    {'C', "DATA\r\n"},
		    {'S', "354 go\r\n"},
		    {'C', body},
		};
		size_t n = strlen(ends[i]);

		snprintf(body, sizeof(body), "x\r\n..\r\na.b\n.x\r\nend%sRCPT TO:<grey@mx>\r\n",
			 ends[i]);
		snprintf(want, sizeof(want),
			 "R 220 connect @0+8\n"
			 "C DATA st=0 @0+6\n"
			 "R 354 DATA @8+8\n"
			 "C (end of data) st=0 @%zu+0\n"
			 "C RCPT st=0 @%zu+19 <grey@mx>\n",
			 6 + 18 + n, 6 + 18 + n);
		check_conversation(steps, ARRAY_SIZE(steps), 512, want, GW_MODE_COMMAND);
	}
}

/*
 * Nothing after DATA is read before DATA's reply: a 354 makes it message
 * text, anything else commands, and the client may not know which yet.
 * "DATA\r\n.\r\nRCPT..." in one write would otherwise have its "." read as a
 * command and the RCPT, which the server reads after an empty message, as
 * text.
 */
static void test_nothing_after_data_is_read_before_its_reply(void **state)
{
	static struct gw_smtp_session s;
	static struct transcript t;
	const char *after = ".\r\nMAIL FROM:<a@b>\r\nRCPT TO:<grey@mx>\r\n";
	u32 n = (u32)strlen(after);

	(void)state;
	memset(&t, 0, sizeof(t));
	gw_smtp_session_init(&s, 512, &cbs, &t);
	gw_smtp_feed_server(&s, (const u8 *)"220 mx\r\n", 8);
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"DATA\r\n.\r\n", 9), 6);
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)after, n), 0);
	gw_smtp_feed_server(&s, (const u8 *)"354 go\r\n", 8);
	assert_int_equal(s.mode, GW_MODE_DATA);
	/* sent again after the 354: the dot ends the message, the RCPT is a command */
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)after, n), n);
	assert_int_equal(s.mode, GW_MODE_COMMAND);
	assert_non_null(strstr(t.buf, "C RCPT st=0 @"));
	/* a refused DATA: what follows is commands */
	gw_smtp_feed_server(&s, (const u8 *)"250 queued\r\n250 ok\r\n250 ok\r\n", 28);
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"DATA\r\nRSET\r\n", 12), 6);
	gw_smtp_feed_server(&s, (const u8 *)"554 no valid recipients\r\n", 26);
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"RSET\r\n", 6), 6);
	assert_int_equal(s.mode, GW_MODE_COMMAND);
}

/* A DATA padded past max_line is still DATA to the MTA, so its 354 starts a message. */
static void test_overlong_data_still_starts_a_message(void **state)
{
	static struct gw_smtp_session s;
	static struct transcript t;
	static char line[700];

	(void)state;
	memset(&t, 0, sizeof(t));
	memset(line, ' ', sizeof(line));
	memcpy(line, "DATA", 4);
	memcpy(line + 600, "\r\n", 2);
	gw_smtp_session_init(&s, 512, &cbs, &t);
	gw_smtp_feed_server(&s, (const u8 *)"220 mx\r\n", 8);
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)line, 602), 602);
	gw_smtp_feed_server(&s, (const u8 *)"354 go\r\n", 8);
	assert_int_equal(s.mode, GW_MODE_DATA);
	/* a fake BDAT in the text is text */
	assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"BDAT 99999\r\n.\r\n", 16), 16);
	assert_int_equal(s.mode, GW_MODE_COMMAND);
}

/*
 * With end_of_data = crlf (Postfix 3.9, Exim) only a dot line between CRLFs
 * ends a message; a bare LF on either side of the dot leaves it text.
 */
static void test_message_ends_only_at_crlf_dot_crlf_when_told(void **state)
{
	static const struct {
		const char *text;
		bool ends;
	} cases[] = {
	    {"a\r\n.\r\n", true}, {"a\r\n.\r\r\n", true}, {"a\n.\n", false},
	    {"a\n.\r\n", false},  {"a\r\n.\n", false},	  {"a\r\n..\r\n", false},
	};
	static struct gw_smtp_session s;
	static struct transcript t;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u32 n = (u32)strlen(cases[i].text);

		memset(&t, 0, sizeof(t));
		gw_smtp_session_init(&s, 512, &cbs, &t);
		s.end_crlf_only = 1;
		gw_smtp_feed_server(&s, (const u8 *)"220 mx\r\n", 8);
		assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)"DATA\r\n", 6), 6);
		gw_smtp_feed_server(&s, (const u8 *)"354 go\r\n", 8);
		assert_int_equal(gw_smtp_feed_client(&s, (const u8 *)cases[i].text, n), n);
		if ((s.mode == GW_MODE_COMMAND) != cases[i].ends)
			fail_msg("case %u: mode %u", i, s.mode);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_session),
	    cmocka_unit_test(test_pipelined_mixed_verdicts),
	    cmocka_unit_test(test_all_greylisted_with_data),
	    cmocka_unit_test(test_inject_with_nothing_outstanding),
	    cmocka_unit_test(test_bdat_body_is_not_parsed),
	    cmocka_unit_test(test_failed_data_stays_in_command_mode),
	    cmocka_unit_test(test_starttls_stops_parsing),
	    cmocka_unit_test(test_overlong_line),
	    cmocka_unit_test(test_fifo_full_defers_the_line_until_a_reply),
	    cmocka_unit_test(test_garbage_reply_desyncs),
	    cmocka_unit_test(test_bare_lf_lines),
	    cmocka_unit_test(test_message_ends_where_postfix_ends_it),
	    cmocka_unit_test(test_message_ends_only_at_crlf_dot_crlf_when_told),
	    cmocka_unit_test(test_nothing_after_data_is_read_before_its_reply),
	    cmocka_unit_test(test_overlong_data_still_starts_a_message),
	};
	return cmocka_run_group_tests_name("smtp_stream", tests, NULL, NULL);
}
