// SPDX-License-Identifier: BSD-2-Clause
/* greywalld: configuration parsing and the policy protocol's answers. */
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "greywall/conf.h"
#include "../../control/policy_server.h"
#include "../../control/verdict_log.h"
#include "../../control/json.h"
#include "greywall/verdict_text.h"

static char conf_path[64];

static int write_conf(const char *text)
{
	FILE *f = fopen(conf_path, "w");

	fputs(text, f);
	fclose(f);
	return 0;
}

static void test_shipped_config_is_the_defaults(void **state)
{
	struct gw_conf c, d;
	char err[256];

	(void)state;
	gw_conf_defaults(&c);
	gw_conf_defaults(&d);
	if (gw_conf_load(&c, "control/greywall.conf", err, sizeof(err)))
		fail_msg("%s", err);
	/* the annotated file in the repo says exactly what the built-in defaults are */
	assert_memory_equal(&c, &d, sizeof(c));
}

static void test_values_and_comments(void **state)
{
	struct gw_conf c;
	char err[256];

	(void)state;
	gw_conf_defaults(&c);
	write_conf(
	    "# comment\n\n  delay = 60   # one minute\nv4_prefix=32\nverp_fold = no\n"
	    "tls_mode = pass\npolicy_defer_text = Try again in %t s #1\n"
	    "policy_listen = [::1]:10099\nwhitelist_path = /etc/greywall/my_text # partners\n");
	if (gw_conf_load(&c, conf_path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(c.policy.delay, 60);
	assert_int_equal(c.policy.v4_prefix, 32);
	assert_false(c.policy.norm.verp_fold);
	assert_int_equal(c.policy.tls_mode, GW_TLS_PASS);
	assert_string_equal(c.policy_defer_text, "Try again in %t s #1");
	assert_string_equal(c.policy_listen, "[::1]:10099");
	/* only reply texts keep a " #"; a path that merely contains "_text" does not */
	assert_string_equal(c.whitelist_path, "/etc/greywall/my_text");

	/* greywall-dp's lists: spaces or commas, the last setting replacing the first */
	write_conf("protect = 10.0.0.0/8\nprotect = 192.0.2.0/24, 2001:db8::/32\n"
		   "smtp_ports = 25,587 2525\n");
	if (gw_conf_load(&c, conf_path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(c.nprotect, 2);
	assert_int_equal(c.protect[0].len, 24);
	assert_int_equal(c.protect[1].family, 6);
	assert_int_equal(c.nsmtp_ports, 3);
	assert_int_equal(c.smtp_ports[2], 2525);
}

static void test_bad_lines_name_file_and_line(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"delay = 60\nbogus = 1\n", ":2: unknown key 'bogus'"},
	    {"delay = soon\n", ":1: delay: 'soon' is not a number"},
	    {"delay = -5\n", ":1: delay: '-5'"},
	    {"v4_prefix = 33\n", ":1: v4_prefix: '33' is not a number from 0 to 32"},
	    {"\n\njust words\n", ":3: expected 'key = value'"},
	    {"verp_fold = maybe\n", ":1: verp_fold: 'maybe' is not yes or no"},
	    {"tls_mode = strip\n", ":1: tls_mode"},
	    {"policy_defer_text = wait %x\n", ":1: policy_defer_text: unknown placeholder"},
	    /* --check must refuse every address the start would refuse, with the same words */
	    {"metrics_listen = 127.0.0.1:99999\n", ":1: metrics_listen '127.0.0.1:99999': port"},
	    {"policy_listen = nohostport\n", ":1: policy_listen 'nohostport': expected host:port"},
	    {"policy_listen = 127.0.0.1:\n", ":1: policy_listen '127.0.0.1:': port"},
	    {"policy_listen = 127.0.0.1:0\n", ":1: policy_listen '127.0.0.1:0': port"},
	    {"policy_listen = 127.0.0.1:http\n", ":1: policy_listen '127.0.0.1:http': port"},
	    {"metrics_listen = 999.1.1.1:9425\n", ":1: metrics_listen '999.1.1.1:9425'"},
	    {"metrics_listen = [::1:9425\n", ":1: metrics_listen '[::1:9425'"},
	    /* greywall-dp's keys */
	    {"protect = 10.0.0.0/8, 10.0.0.0/33\n", ":1: protect: '10.0.0.0/33' is not an IPv4"},
	    {"smtp_ports = 25 0\n", ":1: smtp_ports: '0' is not a port from 1 to 65535"},
	    {"smtp_ports =\n", ":1: smtp_ports: at least one port"},
	    {"mtu = 64\n", ":1: mtu: '64' is not a number from 128 to 9216"},
	};
	struct gw_conf c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		gw_conf_defaults(&c);
		write_conf(cases[i].text);
		if (gw_conf_load(&c, conf_path, err, sizeof(err)) == 0)
			fail_msg("case %zu accepted", i);
		if (!strstr(err, cases[i].want) || !strstr(err, conf_path))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].want);
	}
	assert_int_equal(gw_conf_load(&c, "/nonexistent/greywall.conf", err, 256), -1);
	assert_non_null(strstr(err, "No such file"));
}

/* the last setting wins, as before, but both places are named */
static void test_key_given_twice_warns(void **state)
{
	struct gw_conf c;
	char err[256], want1[128], want2[128];

	(void)state;
	gw_conf_defaults(&c);
	write_conf("delay = 60\nv4_prefix = 32\n\ndelay = 90\n");
	if (gw_conf_load(&c, conf_path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(c.policy.delay, 90);
	snprintf(want1, sizeof(want1), "%s:4: warning: 'delay'", conf_path);
	snprintf(want2, sizeof(want2), "also set at %s:1", conf_path);
	if (!strstr(c.warnings, want1) || !strstr(c.warnings, want2))
		fail_msg("warnings: '%s'", c.warnings);
	assert_null(strstr(c.warnings, "v4_prefix"));
	write_conf("delay = 60\n");
	assert_int_equal(gw_conf_load(&c, conf_path, err, sizeof(err)), 0);
	assert_string_equal(c.warnings, "");
}

/* greywall.conf decides who gets through: only root (or greywall itself) may write it */
static void test_config_anyone_may_write_is_refused(void **state)
{
	struct gw_conf c;
	char err[256];

	(void)state;
	gw_conf_defaults(&c);
	write_conf("delay = 60\n");
	assert_int_equal(chown(conf_path, 65534, 65534), 0);
	assert_int_equal(gw_conf_load(&c, conf_path, err, sizeof(err)), -1);
	if (!strstr(err, conf_path) || !strstr(err, "owned by uid 65534"))
		fail_msg("a stranger's config: '%s'", err);
	assert_int_equal(chown(conf_path, 0, 0), 0);
	assert_int_equal(chmod(conf_path, 0666), 0);
	assert_int_equal(gw_conf_load(&c, conf_path, err, sizeof(err)), -1);
	if (!strstr(err, "anyone may write it"))
		fail_msg("a world-writable config: '%s'", err);
	assert_int_equal(chmod(conf_path, 0644), 0);
	assert_int_equal(gw_conf_load(&c, conf_path, err, sizeof(err)), 0);
}

/* a FIFO must not hang --check or the start waiting for a writer */
static void test_config_fifo_is_refused_at_once(void **state)
{
	char dir[] = "/tmp/gw-confdir-XXXXXX", fifo[64], err[256];
	struct gw_conf c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/greywall.conf", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	gw_conf_defaults(&c);
	alarm(5); /* the default action ends the test run: a hang is a failure */
	assert_int_equal(gw_conf_load(&c, fifo, err, sizeof(err)), -1);
	alarm(0);
	assert_non_null(strstr(err, "not a regular file (a device, FIFO or socket)"));
	unlink(fifo);
	rmdir(dir);
}

/* a NUL byte is named as such, with its line, and is not "line too long" */
static void test_config_nul_byte_named(void **state)
{
	static const char text[] = "delay = 60\nmax_age = 5\0junk\n";
	struct gw_conf c;
	char err[256];
	FILE *f = fopen(conf_path, "w");

	(void)state;
	assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	fclose(f);
	gw_conf_defaults(&c);
	assert_int_equal(gw_conf_load(&c, conf_path, err, sizeof(err)), -1);
	if (!strstr(err, ":2: a NUL byte") || strstr(err, "too long"))
		fail_msg("'%s'", err);
}

/* greywalld replaces published_lists whole: naming a list file there is refused */
static void test_published_lists_is_a_file_of_its_own(void **state)
{
	struct gw_conf c;
	char err[256];

	(void)state;
	gw_conf_defaults(&c);
	write_conf("whitelist_path = /etc/greywall/white.txt\n"
		   "published_lists = /etc/greywall/white.txt\n");
	assert_int_equal(gw_conf_load(&c, conf_path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a list file too"));
	gw_conf_defaults(&c);
	write_conf("whitelist_path = /etc/greywall/white.txt\n"
		   "published_lists = /var/lib/greywall/published.txt\n");
	assert_int_equal(gw_conf_load(&c, conf_path, err, sizeof(err)), 0);
}

/* "greywalld -c DIRECTORY --check" must not pass on the built-in defaults */
static void test_directory_is_not_a_config(void **state)
{
	char dir[] = "/tmp/gw-confdir-XXXXXX", err[256];
	struct gw_conf c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	gw_conf_defaults(&c);
	assert_int_equal(gw_conf_load(&c, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "not a regular file (a directory)"));
	rmdir(dir);
}

struct pol_fixture {
	struct gw_conf cfg;
	struct gw_table_header th, ah;
	struct gw_table trip, awl;
	struct gw_policy_ctx ctx;
	u64 secret[2];
};

static int pol_setup(void **state)
{
	struct pol_fixture *f = calloc(1, sizeof(*f));
	char err[128];

	gw_conf_defaults(&f->cfg);
	f->trip = (struct gw_table){&f->th, calloc(256, 64), 256, 0, GW_TABLE_TRIPLETS};
	f->awl = (struct gw_table){&f->ah, calloc(64, 64), 64, 0, GW_TABLE_AWL};
	f->secret[0] = 1;
	f->secret[1] = 2;
	f->ctx.cfg = &f->cfg;
	f->ctx.policy = (struct gw_policy){&f->trip, &f->awl, &f->cfg.policy, f->secret};
	f->ctx.lists = gw_lists_new();
	gw_lists_add(f->ctx.lists, GW_BLACK, "sender @spam.example", err, sizeof(err));
	*state = f;
	return 0;
}

static int pol_teardown(void **state)
{
	struct pol_fixture *f = *state;

	free(f->trip.buckets);
	free(f->awl.buckets);
	gw_lists_free(f->ctx.lists);
	free(f);
	return 0;
}

static const char *ask(struct pol_fixture *f, const char *req, unsigned long long now)
{
	static char out[1024];
	size_t n = gw_policy_answer(&f->ctx, req, strlen(req), out, sizeof(out) - 1, now);

	out[n] = 0;
	return out;
}

#define REQ(state, client, sender, rcpt)                                                           \
	"request=smtpd_access_policy\nprotocol_state=" state "\nprotocol_name=ESMTP\n"             \
	"client_address=" client "\nclient_name=unknown\nhelo_name=mx.a.example\n"                 \
	"sender=" sender "\nrecipient=" rcpt "\n"

static void test_policy_answers(void **state)
{
	struct pol_fixture *f = *state;
	const unsigned long long t0 = 1800000000ULL;

	assert_string_equal(ask(f, REQ("RCPT", "198.18.0.1", "a@a.example", "b@b.example"), t0),
			    "action=DEFER_IF_PERMIT Greylisted, retry in 300 seconds\n\n");
	assert_string_equal(
	    ask(f, REQ("RCPT", "198.18.0.9", "a@a.example", "b@b.example"), t0 + 100),
	    "action=DEFER_IF_PERMIT Greylisted, retry in 200 seconds\n\n");
	assert_string_equal(
	    ask(f, REQ("RCPT", "198.18.0.1", "a@a.example", "b@b.example"), t0 + 300),
	    "action=DUNNO\n\n");
	/* only RCPT is decided */
	assert_string_equal(ask(f, REQ("DATA", "198.18.0.1", "x@x.example", "y@y.example"), t0),
			    "action=DUNNO\n\n");
	/* the null sender is a sender */
	assert_string_equal(ask(f, REQ("RCPT", "fd00:18::1", "", "b@b.example"), t0),
			    "action=DEFER_IF_PERMIT Greylisted, retry in 300 seconds\n\n");
	assert_string_equal(ask(f, REQ("RCPT", "198.18.0.1", "x@spam.example", "b@b.example"), t0),
			    "action=550 5.7.1 Access denied\n\n");
	/* malformed requests are answered, not trusted */
	assert_string_equal(ask(f, REQ("RCPT", "not-an-ip", "a@a.example", "b@b.example"), t0),
			    "action=DUNNO\n\n");
	assert_string_equal(ask(f, "protocol_state=RCPT\n", t0), "action=DUNNO\n\n");
	assert_int_equal(f->ctx.bad_requests, 2);
}

/*
 * A NUL inside an attribute is not Postfix speaking: "203.0.113.77\0junk" must
 * not be read as 203.0.113.77. An empty recipient names no triplet. Both are
 * answered DUNNO, counted as bad requests, and leave the table untouched.
 */
static void test_policy_refuses_nul_and_empty_recipient(void **state)
{
	static const char nul[] = "request=smtpd_access_policy\nprotocol_state=RCPT\n"
				  "client_address=203.0.113.77\0junk\nsender=a@a.example\n"
				  "recipient=b@b.example\n";
	static const char empty[] = "request=smtpd_access_policy\nprotocol_state=RCPT\n"
				    "client_address=203.0.113.78\nsender=a@a.example\n"
				    "recipient=\n";
	struct pol_fixture *f = *state;
	char out[256];
	size_t n;

	n = gw_policy_answer(&f->ctx, nul, sizeof(nul) - 1, out, sizeof(out), 1800000000ULL);
	assert_int_equal(n, 14);
	assert_memory_equal(out, "action=DUNNO\n\n", 14);
	n = gw_policy_answer(&f->ctx, empty, sizeof(empty) - 1, out, sizeof(out), 1800000000ULL);
	assert_int_equal(n, 14);
	assert_memory_equal(out, "action=DUNNO\n\n", 14);
	assert_int_equal(f->ctx.bad_requests, 2);
	assert_int_equal(gw_load64(&f->th.stats.inserts), 0);
}

/* The relay filter's decision on the table, and its verdict event as greywalld reads it. */
static int filter_decides(struct pol_fixture *f, struct gw_judged *j, const char *sender,
			  const char *rcpt, unsigned long long now, u64 *fp)
{
	const struct gw_config *pc = &f->cfg.policy;
	struct gw_verdict_sink sink = {pc, f->secret, NULL, "relay filter", j, NULL};
	const u8 client[16] = {198, 18, 0, 1};
	struct gw_list_hits hits = {0};
	struct gw_decision d;
	struct gw_triplet t;
	struct gw_verdict_seen v;

	memset(&t, 0, sizeof(t));
	t.sender_len = (u16)gw_normalize_address((const u8 *)sender, (u32)strlen(sender), t.sender,
						 &pc->norm, true);
	t.rcpt_len = (u16)gw_normalize_address((const u8 *)rcpt, (u32)strlen(rcpt), t.rcpt,
					       &pc->norm, false);
	gw_client_net_of(&t.net, pc, GW_AF_INET, client);
	gw_decide(&f->ctx.policy, &t, &hits, now, &d);
	*fp = gw_triplet_fp(f->secret, &t);
	v = (struct gw_verdict_seen){.time = now,
				     .verdict = (u8)d.verdict,
				     .family = GW_AF_INET,
				     .sender_normalized = true,
				     .client = client,
				     .sender = t.sender,
				     .rcpt = (const u8 *)rcpt,
				     .sender_len = t.sender_len,
				     .rcpt_len = (u16)strlen(rcpt),
				     .remaining = d.remaining};
	gw_verdict_record(&sink, &v);
	return (int)d.verdict;
}

static u32 pass_count(struct pol_fixture *f, u64 fp)
{
	struct gw_slot *slot = gw_table_lookup(&f->trip, fp);
	u64 st = 0;

	assert_non_null(slot);
	assert_true(gw_slot_read(slot, fp, &st));
	assert_int_equal(gw_state_kind(st), GW_ST_PASSED);
	return gw_state_count(st);
}

/*
 * The backstop deployment: the relay filter passes a triplet after the delay,
 * then Postfix asks greywalld about the same RCPT. The answer is DUNNO, and
 * the pass is counted once (the filter's): not in the triplet's count again,
 * not in the policy server's verdicts. The next request without a filter pass
 * before it (a shape the filter let through un-judged) is decided and counted.
 */
static void test_policy_backstop_counts_a_filter_pass_once(void **state)
{
	struct pol_fixture *f = *state;
	const unsigned long long t0 = 1800000000ULL;
	static struct gw_judged judged;
	u64 fp;

	memset(&judged, 0, sizeof(judged));
	f->ctx.judged = &judged;
	/* a table made a day ago: its minute clock holds the 35 days a pass lives */
	f->trip.epoch = t0 - 86400;
	f->awl.epoch = t0 - 86400;
	/* the filter greylists the first attempt: Postfix never sees that RCPT */
	assert_int_equal(filter_decides(f, &judged, "a@a.example", "b@b.example", t0, &fp),
			 GW_V_GREYLIST);
	/* a greylist leaves no credit: a request that slipped past is judged as ever */
	assert_string_equal(ask(f, REQ("RCPT", "198.18.0.1", "a@a.example", "b@b.example"), t0 + 1),
			    "action=DEFER_IF_PERMIT Greylisted, retry in 299 seconds\n\n");
	assert_int_equal(f->ctx.verdicts[GW_V_GREYLIST], 1);

	assert_int_equal(filter_decides(f, &judged, "a@a.example", "b@b.example", t0 + 300, &fp),
			 GW_V_PASS);
	assert_int_equal(pass_count(f, fp), 1);
	assert_string_equal(
	    ask(f, REQ("RCPT", "198.18.0.1", "a@a.example", "b@b.example"), t0 + 300),
	    "action=DUNNO\n\n");
	assert_int_equal(pass_count(f, fp), 1);
	assert_int_equal(f->ctx.verdicts[GW_V_PASS], 0);
	assert_int_equal(f->ctx.judged_by_data_path, 1);

	/* one credit per filter pass: the next request is the policy server's own */
	assert_string_equal(
	    ask(f, REQ("RCPT", "198.18.0.1", "a@a.example", "b@b.example"), t0 + 301),
	    "action=DUNNO\n\n");
	assert_int_equal(pass_count(f, fp), 2);
	assert_int_equal(f->ctx.verdicts[GW_V_PASS], 1);

	/* a credit older than the window is not taken */
	filter_decides(f, &judged, "a@a.example", "b@b.example", t0 + 400, &fp);
	assert_string_equal(ask(f, REQ("RCPT", "198.18.0.1", "a@a.example", "b@b.example"),
				t0 + 401 + GW_JUDGED_WINDOW),
			    "action=DUNNO\n\n");
	assert_int_equal(pass_count(f, fp), 4);
	assert_int_equal(f->ctx.judged_by_data_path, 1);
	f->ctx.judged = NULL;
}

static char *json_of(const char *s, size_t n)
{
	static char buf[256];
	char *p = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&p, &len);

	gw_json_string(f, s, n);
	fclose(f);
	snprintf(buf, sizeof(buf), "%s", p);
	free(p);
	return buf;
}

/* greyctl --json: every byte a client sent comes out as JSON that strict parsers take. */
static void test_json_strings_are_valid_utf8(void **state)
{
	(void)state;
	assert_string_equal(json_of("a\xff"
				    "b@x",
				    5),
			    "\"a\\u00ffb@x\"");
	/* valid UTF-8 (SMTPUTF8 addresses) goes through as it is */
	assert_string_equal(json_of("\xc3\xa9@\xe2\x82\xac\xf0\x9f\x98\x80", 10),
			    "\"\xc3\xa9@\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* overlong '/', a UTF-16 surrogate, past U+10FFFF, a cut sequence: byte by byte */
	assert_string_equal(json_of("\xc0\xaf", 2), "\"\\u00c0\\u00af\"");
	assert_string_equal(json_of("\xed\xa0\x80", 3), "\"\\u00ed\\u00a0\\u0080\"");
	assert_string_equal(json_of("\xf4\x90\x80\x80", 4), "\"\\u00f4\\u0090\\u0080\\u0080\"");
	assert_string_equal(json_of("\xe2\x82", 2), "\"\\u00e2\\u0082\"");
	assert_string_equal(json_of("q\"b\\\n\x01", 6), "\"q\\\"b\\\\\\u000a\\u0001\"");
}

static void line_of(struct gw_verdict_text *t, char *out, size_t cap)
{
	t->client_address = "203.0.113.5";
	t->delay = 300;
	gw_verdict_line(t, out, cap);
}

/* Verdict lines: postgrey's words, and Postfix's reject line for a data path's reject. */
static void test_verdict_lines_in_postgrey_and_postfix_shapes(void **state)
{
	struct gw_verdict_text t;
	char l[1024];

	(void)state;
	t = (struct gw_verdict_text){.verdict = GW_V_GREYLIST,
				     .remaining = 300,
				     .client_name = "mx.sender.example",
				     .sender = "a@s.example",
				     .rcpt = "b@r.example"};
	line_of(&t, l, sizeof(l));
	assert_string_equal(l, "action=greylist, reason=new, client_name=mx.sender.example, "
			       "client_address=203.0.113.5, sender=a@s.example, "
			       "recipient=b@r.example");
	t.remaining = 12;
	t.client_name = NULL;
	t.sender = "";
	line_of(&t, l, sizeof(l));
	assert_string_equal(l, "action=greylist, reason=early-retry (12s missing), "
			       "client_name=unknown, client_address=203.0.113.5, "
			       "recipient=b@r.example");
	t = (struct gw_verdict_text){.verdict = GW_V_PASS, .rcpt = "b@r.example"};
	line_of(&t, l, sizeof(l));
	assert_non_null(strstr(l, "action=pass, reason=triplet found, "));
	t.verdict = GW_V_PASS_AWL;
	line_of(&t, l, sizeof(l));
	assert_non_null(strstr(l, "action=pass, reason=client AWL, "));
	t.verdict = GW_V_PASS_WHITELIST;
	t.white = GW_LIST_RCPT;
	line_of(&t, l, sizeof(l));
	assert_non_null(strstr(l, "action=pass, reason=recipient whitelist, "));
	t.verdict = GW_V_BLACKLIST;
	t.black = GW_LIST_SENDER;
	line_of(&t, l, sizeof(l));
	assert_non_null(strstr(l, "action=reject, reason=sender blacklist, "));
	/* a data path's 450, with a newline in the name that must not split the log line */
	t = (struct gw_verdict_text){.verdict = GW_V_GREYLIST,
				     .sender = "a@s\n.example",
				     .rcpt = "b@r.example",
				     .helo = "mx",
				     .reply =
					 "450 4.7.1 <b@r.example>: Recipient address rejected: "
					 "Greylisted\r\n",
				     .origin = "greywall-dp"};
	line_of(&t, l, sizeof(l));
	assert_string_equal(l, "reject: RCPT from unknown[203.0.113.5]: 450 4.7.1 <b@r.example>: "
			       "Recipient address rejected: Greylisted; from=<a@s?.example> "
			       "to=<b@r.example> proto=ESMTP helo=<mx> (greywall-dp)");
}

/* LOG_PERROR stays on unless stderr is the very stream JOURNAL_STREAM names. */
static void test_stderr_is_journal_only_when_it_is_that_stream(void **state)
{
	FILE *tmp = tmpfile();
	int saved = dup(2);
	struct stat st;
	char v[64];
	bool named, other, unset;

	(void)state;
	assert_non_null(tmp);
	assert_int_equal(fstat(fileno(tmp), &st), 0);
	dup2(fileno(tmp), 2);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	named = gw_stderr_is_journal();
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1); /* a service whose stderr a script redirected */
	other = gw_stderr_is_journal();
	unsetenv("JOURNAL_STREAM");
	unset = gw_stderr_is_journal();
	dup2(saved, 2);
	close(saved);
	fclose(tmp);
	assert_true(named);
	assert_false(other);
	assert_false(unset);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shipped_config_is_the_defaults),
	    cmocka_unit_test(test_values_and_comments),
	    cmocka_unit_test(test_bad_lines_name_file_and_line),
	    cmocka_unit_test(test_directory_is_not_a_config),
	    cmocka_unit_test(test_config_anyone_may_write_is_refused),
	    cmocka_unit_test(test_config_fifo_is_refused_at_once),
	    cmocka_unit_test(test_config_nul_byte_named),
	    cmocka_unit_test(test_published_lists_is_a_file_of_its_own),
	    cmocka_unit_test(test_key_given_twice_warns),
	    cmocka_unit_test(test_json_strings_are_valid_utf8),
	    cmocka_unit_test(test_verdict_lines_in_postgrey_and_postfix_shapes),
	    cmocka_unit_test(test_stderr_is_journal_only_when_it_is_that_stream),
	    cmocka_unit_test_setup_teardown(test_policy_answers, pol_setup, pol_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_refuses_nul_and_empty_recipient, pol_setup,
					    pol_teardown),
	    cmocka_unit_test_setup_teardown(test_policy_backstop_counts_a_filter_pass_once,
					    pol_setup, pol_teardown),
	};
	int rc;

	snprintf(conf_path, sizeof(conf_path), "/tmp/gw-conf-%d", (int)getpid());
	rc = cmocka_run_group_tests_name("control", tests, NULL, NULL);
	unlink(conf_path);
	return rc;
}
