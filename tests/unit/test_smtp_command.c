// SPDX-License-Identifier: BSD-2-Clause
#include "unit.h"

#include "greywall/smtp_command.h"

struct cmd_case {
	const char *line;
	u8 verb;
	u8 status;
	const char *path; /* NULL: not checked */
	u64 size;
	u8 flags;
};

static const struct cmd_case cases[] = {
    {"MAIL FROM:<alice@example.com>", GW_CMD_MAIL, GW_SMTP_OK, "alice@example.com", 0, 0},
    {"mail from:<Alice@Example.com>", GW_CMD_MAIL, GW_SMTP_OK, "Alice@Example.com", 0, 0},
    {"MAIL FROM:<>", GW_CMD_MAIL, GW_SMTP_OK, "", 0, 0},
    {"MAIL FROM: <a@b.example>", GW_CMD_MAIL, GW_SMTP_OK, "a@b.example", 0, 0},
    {"MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME", GW_CMD_MAIL, GW_SMTP_OK, "a@b.example",
     12345, GW_CMDF_8BITMIME},
    {"MAIL FROM:<a@b.example> SMTPUTF8 BODY=BINARYMIME", GW_CMD_MAIL, GW_SMTP_OK, "a@b.example", 0,
     GW_CMDF_SMTPUTF8 | GW_CMDF_BINARYMIME},
    {"MAIL FROM:<a@b.example> SIZE=12x", GW_CMD_MAIL, GW_SMTP_SYNTAX, NULL, 0, 0},
    {"MAIL FROM:<a@b.example", GW_CMD_MAIL, GW_SMTP_BAD_PATH, NULL, 0, 0},
    {"MAIL TO:<a@b.example>", GW_CMD_MAIL, GW_SMTP_SYNTAX, NULL, 0, 0},
    {"MAIL FROM:a@b.example", GW_CMD_MAIL, GW_SMTP_OK, "a@b.example", 0, 0},
    {"RCPT TO:<bob@example.net>", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    {"RcPt To:<bob@example.net> NOTIFY=NEVER", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    /* source route: ignored per RFC 5321 */
    {"RCPT TO:<@relay1.example,@relay2.example:bob@example.net>", GW_CMD_RCPT, GW_SMTP_OK,
     "bob@example.net", 0, 0},
    {"RCPT TO:<@relay1.example bob@example.net>", GW_CMD_RCPT, GW_SMTP_BAD_PATH, NULL, 0, 0},
    /* quoted local parts may hold '>', '@' and escaped quotes */
    {"RCPT TO:<\"odd>name\"@example.net>", GW_CMD_RCPT, GW_SMTP_OK, "\"odd>name\"@example.net", 0,
     0},
    {"RCPT TO:<\"a\\\"b\"@example.net>", GW_CMD_RCPT, GW_SMTP_OK, "\"a\\\"b\"@example.net", 0, 0},
    {"RCPT TO:<\"unterminated@example.net>", GW_CMD_RCPT, GW_SMTP_BAD_PATH, NULL, 0, 0},
    {"RCPT TO:<postmaster>", GW_CMD_RCPT, GW_SMTP_OK, "postmaster", 0, 0},
    {"RCPT", GW_CMD_RCPT, GW_SMTP_SYNTAX, NULL, 0, 0},
    {"EHLO mx.Example.org", GW_CMD_EHLO, GW_SMTP_OK, "mx.example.org", 0, 0},
    {"helo [198.18.0.1]", GW_CMD_HELO, GW_SMTP_OK, "[198.18.0.1]", 0, 0},
    {"EHLO", GW_CMD_EHLO, GW_SMTP_SYNTAX, NULL, 0, 0},
    {"DATA", GW_CMD_DATA, GW_SMTP_OK, NULL, 0, 0},
    {"data x", GW_CMD_DATA, GW_SMTP_SYNTAX, NULL, 0, 0},
    {"BDAT 1000", GW_CMD_BDAT, GW_SMTP_OK, NULL, 1000, 0},
    {"BDAT 0 LAST", GW_CMD_BDAT, GW_SMTP_OK, NULL, 0, GW_CMDF_BDAT_LAST},
    {"bdat 12 last", GW_CMD_BDAT, GW_SMTP_OK, NULL, 12, GW_CMDF_BDAT_LAST},
    {"BDAT x", GW_CMD_BDAT, GW_SMTP_SYNTAX, NULL, 0, 0},
    {"BDAT 12 FIRST", GW_CMD_BDAT, GW_SMTP_SYNTAX, NULL, 12, 0},
    {"RSET", GW_CMD_RSET, GW_SMTP_OK, NULL, 0, 0},
    {"RSET x", GW_CMD_RSET, GW_SMTP_SYNTAX, NULL, 0, 0},
    {"RSET \t", GW_CMD_RSET, GW_SMTP_OK, NULL, 0, 0},
    {"QUIT", GW_CMD_QUIT, GW_SMTP_OK, NULL, 0, 0},
    {"STARTTLS", GW_CMD_STARTTLS, GW_SMTP_OK, NULL, 0, 0},
    {"NOOP", GW_CMD_NOOP, GW_SMTP_OK, NULL, 0, 0},
    {"VRFY bob", GW_CMD_OTHER, GW_SMTP_OK, NULL, 0, 0},
    {"", GW_CMD_OTHER, GW_SMTP_OK, NULL, 0, 0},
    {"MAILX FROM:<a@b>", GW_CMD_OTHER, GW_SMTP_OK, NULL, 0, 0},
    /* words split as Postfix splits them (smtpd_token: any isspace() byte, leading ones skipped) */
    {" RCPT TO:<bob@example.net>", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    {"\t\tRCPT TO:<bob@example.net>", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    {"RCPT\tTO:\t<bob@example.net>", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    {"RCPT\vTO:\f<bob@example.net>", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    {"RCPT\rTO:<bob@example.net>\r", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    {"RCPT TO:bob@example.net\tNOTIFY=NEVER", GW_CMD_RCPT, GW_SMTP_OK, "bob@example.net", 0, 0},
    {"\tMAIL\tFROM:<a@b.example>\tSIZE=7", GW_CMD_MAIL, GW_SMTP_OK, "a@b.example", 7, 0},
    {"\fEHLO\vmx.example.org\tx", GW_CMD_EHLO, GW_SMTP_OK, "mx.example.org", 0, 0},
    {" STARTTLS\r", GW_CMD_STARTTLS, GW_SMTP_OK, NULL, 0, 0},
    {"\tDATA\t", GW_CMD_DATA, GW_SMTP_OK, NULL, 0, 0},
    {"BDAT\t12\tLAST", GW_CMD_BDAT, GW_SMTP_OK, NULL, 12, GW_CMDF_BDAT_LAST},
    {"  ", GW_CMD_OTHER, GW_SMTP_OK, NULL, 0, 0},
    /* BDAT as Postfix takes it: leading zeros, blanks after LAST */
    {"BDAT 20 LAST ", GW_CMD_BDAT, GW_SMTP_OK, NULL, 20, GW_CMDF_BDAT_LAST},
    {"BDAT 000000000000000000000020 LAST", GW_CMD_BDAT, GW_SMTP_OK, NULL, 20, GW_CMDF_BDAT_LAST},
    {"BDAT 20\v", GW_CMD_BDAT, GW_SMTP_OK, NULL, 20, 0},
    {"BDAT 20 LASTX", GW_CMD_BDAT, GW_SMTP_SYNTAX, NULL, 20, 0},
    /* RFC 822 specials: Postfix reads another address out of these */
    {"RCPT TO:<postmaster@x.example<bob@y.example>>", GW_CMD_RCPT, GW_SMTP_BAD_PATH, NULL, 0, 0},
    {"RCPT TO:<bob@y.example(@white.example>", GW_CMD_RCPT, GW_SMTP_BAD_PATH, NULL, 0, 0},
    {"RCPT TO:postmaster@x.example<bob@y.example>", GW_CMD_RCPT, GW_SMTP_BAD_PATH, NULL, 0, 0},
    {"RCPT TO:<postmaster@x.example:bob@y.example;>", GW_CMD_RCPT, GW_SMTP_BAD_PATH, NULL, 0, 0},
    {"RCPT TO:<\"a(b\"@y.example>", GW_CMD_RCPT, GW_SMTP_OK, "\"a(b\"@y.example", 0, 0},
    {"RCPT TO:<postmaster@[IPv6:2001:db8::1]>", GW_CMD_RCPT, GW_SMTP_OK,
     "postmaster@[IPv6:2001:db8::1]", 0, 0},
    {"RCPT TO:<a@[IPv6:2001:db8::1]:b@c>", GW_CMD_RCPT, GW_SMTP_BAD_PATH, NULL, 0, 0},
};

static void test_table(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct cmd_case *c = &cases[i];
		struct gw_smtp_cmd cmd;

		gw_smtp_parse_command((const u8 *)c->line, (u32)strlen(c->line), &cmd);
		if (cmd.verb != c->verb || cmd.status != c->status)
			fail_msg("case %u '%s': verb %u status %u, want verb %u status %u", i,
				 c->line, cmd.verb, cmd.status, c->verb, c->status);
		if (c->path && (cmd.path_len != strlen(c->path) ||
				memcmp(cmd.path, c->path, cmd.path_len) != 0))
			fail_msg("case %u '%s': path '%.*s', want '%s'", i, c->line, cmd.path_len,
				 cmd.path, c->path);
		/* GW_CMDF_PATH_OK has its own test below */
		if (c->size != cmd.size || c->flags != (cmd.flags & ~GW_CMDF_PATH_OK))
			fail_msg("case %u '%s': size %llu flags %u", i, c->line,
				 (unsigned long long)cmd.size, cmd.flags);
	}
}

/* Paths longer than a triplet stores are handed over whole, up to GW_PATH_MAX. */
static void test_path_length_limit(void **state)
{
	static char line[GW_PATH_MAX + 64];
	struct gw_smtp_cmd cmd;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "RCPT TO:<");
	memset(line + n, 'a', 600);
	n += 600;
	n += snprintf(line + n, sizeof(line) - (size_t)n, "> ORCPT=rfc822;x");
	gw_smtp_parse_command((const u8 *)line, (u32)n, &cmd);
	assert_int_equal(cmd.status, GW_SMTP_OK);
	assert_int_equal(cmd.path_len, 600);
	n = snprintf(line, sizeof(line), "RCPT TO:<");
	memset(line + n, 'a', GW_PATH_MAX + 1);
	n += GW_PATH_MAX + 1;
	n += snprintf(line + n, sizeof(line) - (size_t)n, ">");
	gw_smtp_parse_command((const u8 *)line, (u32)n, &cmd);
	assert_int_equal(cmd.status, GW_SMTP_BAD_PATH);
}

/* GW_CMDF_PATH_OK says the path parsed, even when a parameter after it did not. */
static void test_path_ok_flag(void **state)
{
	static const struct {
		const char *line;
		bool ok;
	} cases[] = {
	    {"RCPT TO:<bob@example.com>", true},
	    {"RCPT TO:<bob@example.com> SIZE=abc", true}, /* a bad parameter, the path is fine */
	    {"MAIL FROM:<>", true},
	    {"RCPT TO:<bob@example.com", false},
	    {"RCPT FROM:<bob@example.com>", false},
	    {"EHLO bob.example", false},
	};
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gw_smtp_cmd cmd;

		gw_smtp_parse_command((const u8 *)cases[i].line, (u32)strlen(cases[i].line), &cmd);
		if (!!(cmd.flags & GW_CMDF_PATH_OK) != cases[i].ok)
			fail_msg("'%s': path_ok %d", cases[i].line,
				 !!(cmd.flags & GW_CMDF_PATH_OK));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_path_length_limit),
	    cmocka_unit_test(test_path_ok_flag),
	};
	return cmocka_run_group_tests_name("smtp_command", tests, NULL, NULL);
}
