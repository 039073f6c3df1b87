// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "greywall/lists.h"

static struct gw_list_hits match(const struct gw_lists *l, const char *ip, const char *from,
				 const char *to)
{
	struct gw_list_hits h;
	u8 addr[16] = {0};
	u8 fam = GW_AF_INET;

	if (inet_pton(AF_INET, ip, addr) != 1) {
		assert_int_equal(inet_pton(AF_INET6, ip, addr), 1);
		fam = GW_AF_INET6;
	}
	gw_lists_match(l, fam, addr, (const u8 *)from, (u16)strlen(from), (const u8 *)to,
		       (u16)strlen(to), &h);
	return h;
}

static void test_cidrs(void **state)
{
	struct gw_lists *l = gw_lists_new();
	char err[256];
	struct gw_list_hits h;

	(void)state;
	assert_int_equal(gw_lists_add(l, GW_WHITE, "client 198.18.0.0/16", err, sizeof(err)), 0);
	assert_int_equal(gw_lists_add(l, GW_BLACK, "client 198.18.66.0/24", err, sizeof(err)), 0);
	assert_int_equal(gw_lists_add(l, GW_WHITE, "client fd00:1::/32", err, sizeof(err)), 0);
	assert_int_equal(gw_lists_add(l, GW_BLACK, "client 198.19.1.1", err, sizeof(err)), 0);
	h = match(l, "198.18.1.2", "", "x@y");
	assert_int_equal(h.white, GW_LIST_CLIENT);
	assert_int_equal(h.black, 0);
	/* the longest prefix decides */
	h = match(l, "198.18.66.9", "", "x@y");
	assert_int_equal(h.white, 0);
	assert_int_equal(h.black, GW_LIST_CLIENT);
	h = match(l, "198.19.1.1", "", "x@y");
	assert_int_equal(h.black, GW_LIST_CLIENT);
	h = match(l, "198.19.1.2", "", "x@y");
	assert_int_equal(h.black | h.white, 0);
	h = match(l, "fd00:1:ffff::1", "", "x@y");
	assert_int_equal(h.white, GW_LIST_CLIENT);
	h = match(l, "fd00:2::1", "", "x@y");
	assert_int_equal(h.white, 0);
	gw_lists_free(l);
}

static void test_addresses_and_domains(void **state)
{
	struct gw_lists *l = gw_lists_new();
	char err[256];
	struct gw_list_hits h;

	(void)state;
	assert_int_equal(gw_lists_add(l, GW_WHITE, "sender @Partner.Example", err, sizeof(err)), 0);
	assert_int_equal(gw_lists_add(l, GW_WHITE, "recipient <vip@corp.example>", err, 256), 0);
	assert_int_equal(gw_lists_add(l, GW_BLACK, "sender spam@bad.example", err, 256), 0);
	h = match(l, "198.18.0.1", "anyone@partner.example", "x@corp.example");
	assert_int_equal(h.white, GW_LIST_SENDER);
	/* a subdomain is not the domain */
	h = match(l, "198.18.0.1", "anyone@sub.partner.example", "x@corp.example");
	assert_int_equal(h.white, 0);
	h = match(l, "198.18.0.1", "a@b.example", "vip@corp.example");
	assert_int_equal(h.white, GW_LIST_RCPT);
	h = match(l, "198.18.0.1", "spam@bad.example", "vip@corp.example");
	assert_int_equal(h.black, GW_LIST_SENDER);
	assert_int_equal(h.white, GW_LIST_RCPT);
	assert_int_equal(gw_lists_size(l), 3);
	gw_lists_free(l);
}

static void test_bad_entries(void **state)
{
	struct gw_lists *l = gw_lists_new();
	char err[256];

	(void)state;
	assert_int_equal(gw_lists_add(l, GW_WHITE, "client 300.1.1.1/8", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an IPv4 or IPv6 address"));
	assert_null(strstr(err, "300.1.1.1/8")); /* the kind of error, not the text */
	assert_int_equal(gw_lists_add(l, GW_WHITE, "client 10.0.0.0/33", err, sizeof(err)), -1);
	assert_int_equal(gw_lists_add(l, GW_WHITE, "client fd00::/129", err, sizeof(err)), -1);
	assert_int_equal(gw_lists_add(l, GW_WHITE, "host 10.0.0.0/8", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown entry kind"));
	assert_int_equal(gw_lists_add(l, GW_WHITE, "sender", err, sizeof(err)), -1);
	assert_int_equal(gw_lists_add(l, GW_WHITE, "sender @", err, sizeof(err)), -1);
	assert_int_equal(gw_lists_size(l), 0);
	gw_lists_free(l);
}

static void test_file_with_error_line(void **state)
{
	char path[] = "/tmp/gw-list-XXXXXX", err[256];
	struct gw_lists *l = gw_lists_new();
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs("# partners\nclient 198.18.0.0/15   # lab\n\nsender @ok.example\nclient nonsense\n",
	      f);
	fclose(f);
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":5: "));
	f = fopen(path, "w");
	fputs("# partners\nclient 198.18.0.0/15   # lab\n\nsender @ok.example\n", f);
	fclose(f);
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), 2);
	unlink(path);
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	gw_lists_free(l);
}

static void test_many_entries(void **state)
{
	struct gw_lists *l = gw_lists_new();
	char e[64], err[256];
	struct gw_list_hits h;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		snprintf(e, sizeof(e), "recipient user%d@corp.example", i);
		assert_int_equal(gw_lists_add(l, GW_WHITE, e, err, sizeof(err)), 0);
	}
	h = match(l, "198.18.0.1", "", "user19999@corp.example");
	assert_int_equal(h.white, GW_LIST_RCPT);
	h = match(l, "198.18.0.1", "", "user20000@corp.example");
	assert_int_equal(h.white, 0);
	gw_lists_free(l);
}

/* After "rm white.txt; mkdir white.txt" a reload must fail, not load an empty list. */
static void test_directory_is_not_a_list(void **state)
{
	char dir[] = "/tmp/gw-listdir-XXXXXX", err[256];
	struct gw_lists *l = gw_lists_new();

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "not a regular file (a directory)"));
	gw_lists_free(l);
	assert_null(gw_lists_load_files(dir, NULL, err, sizeof(err)));
	assert_null(gw_lists_load_files(NULL, dir, err, sizeof(err)));
	/* nor a FIFO, which would also hang the reader */
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(mkfifo(dir, 0600), 0);
	assert_null(gw_lists_load_files(dir, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	unlink(dir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A list path may be a symlink to a secret: errors give file:line and the kind, not the text. */
static void test_errors_do_not_quote_the_file(void **state)
{
	static const char *const bad[] = {
	    "hunter2\n",
	    "hunter2 x\n",
	    "client hunter2\n",
	    "client 10.0.0.0/hunter2\n",
	    "# ok\nhunter2:x:0:0::/root:/bin/sh\n",
	    "sender <hunter2\x01>\n",
	};
	char path[] = "/tmp/gw-list-XXXXXX", err[256];
	size_t i;

	(void)state;
	close(mkstemp(path));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct gw_lists *l = gw_lists_new();

		write_file(path, bad[i]);
		assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), -1);
		if (strstr(err, "hunter2") || !strstr(err, path) || !strchr(err, ':'))
			fail_msg("case %zu: '%s'", i, err);
		gw_lists_free(l);
	}
	write_file(path, "\n\nclient\n");
	assert_null(gw_lists_load_files(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, ":3: 'client' needs a value"));
	unlink(path);
}

/* Someone else's file is not trusted to open the gate. */
static void test_list_owned_by_a_stranger_refused(void **state)
{
	char path[] = "/tmp/gw-list-XXXXXX", err[256];

	(void)state;
	close(mkstemp(path));
	write_file(path, "client 198.18.0.0/15\n");
	assert_int_equal(chown(path, 54321, 54321), 0);
	assert_null(gw_lists_load_files(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "owned by uid 54321"));
	unlink(path);
}

static void test_list_owned_by_the_daemon_user_taken(void **state)
{
	char path[] = "/tmp/gw-list-XXXXXX", err[256];
	struct gw_lists *l;

	(void)state;
	close(mkstemp(path));
	write_file(path, "client 198.18.0.0/15\n");
	assert_int_equal(chown(path, 54321, 54321), 0);
	gw_lists_trust_owner(54321);
	l = gw_lists_load_files(path, NULL, err, sizeof(err));
	gw_lists_trust_owner(0);
	assert_non_null(l);
	assert_int_equal(gw_lists_size(l), 1);
	gw_lists_free(l);
	unlink(path);
}

/* a list anyone may write opens the gate to anyone */
static void test_world_writable_list_refused(void **state)
{
	char path[] = "/tmp/gw-list-XXXXXX", err[256];
	struct gw_lists *l = gw_lists_new();

	(void)state;
	close(mkstemp(path));
	write_file(path, "client 10.0.0.1\n");
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), -1);
	if (!strstr(err, path) || !strstr(err, "anyone may write it (mode 0666)"))
		fail_msg("'%s'", err);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), 1);
	gw_lists_free(l);
	unlink(path);
}

/* A NUL byte is not a long line: say what it is, and where. */
static void test_nul_byte_named(void **state)
{
	static const char text[] = "client 10.0.0.1\nclient 10.0.0.2\0junk\nclient 10.0.0.3\n";
	char path[] = "/tmp/gw-list-XXXXXX", err[256], longline[1500];
	struct gw_lists *l = gw_lists_new();
	FILE *f;

	(void)state;
	close(mkstemp(path));
	f = fopen(path, "w");
	assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	fclose(f);
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), -1);
	if (!strstr(err, ":2: a NUL byte") || strstr(err, "too long"))
		fail_msg("'%s'", err);
	/* a long line is still a long line, and a last line without a newline still counts */
	memset(longline, 'a', sizeof(longline));
	longline[sizeof(longline) - 1] = 0;
	write_file(path, longline);
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: line too long"));
	write_file(path, "\n# c\nclient 10.0.0.9");
	assert_int_equal(gw_lists_load_file(l, GW_WHITE, path, err, sizeof(err)), 1);
	gw_lists_free(l);
	unlink(path);
}

static u64 pool_of(const struct gw_lists *l, const char *ip, u8 *colors)
{
	u8 addr[16] = {0}, c;
	u64 pool;
	int v6 = strchr(ip, ':') != NULL;

	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, ip, addr), 1);
	gw_lists_client_lookup(l, v6 ? GW_AF_INET6 : GW_AF_INET, addr, 128, &c, &pool);
	if (colors)
		*colors = c;
	return pool;
}

/* A pools file: each name's CIDRs answer its id, other addresses none. */
static void test_pools_file(void **state)
{
	char path[] = "/tmp/gw-pools-XXXXXX", err[256];
	const struct gw_pool_info *info;
	struct gw_lists *l;
	u64 big = gw_pool_id("big", 3);

	(void)state;
	close(mkstemp(path));
	write_file(path, "# outbound servers\nbig 198.51.100.0/24 203.0.113.0/25\n\n"
			 "small 2001:db8:5::/48 # v6 too\n");
	l = gw_lists_load_all(NULL, NULL, path, err, sizeof(err));
	if (!l)
		fail_msg("%s", err);
	assert_true(big != 0);
	assert_true(pool_of(l, "198.51.100.7", NULL) == big);
	assert_true(pool_of(l, "203.0.113.9", NULL) == big); /* another /24, the same pool */
	assert_true(pool_of(l, "203.0.113.200", NULL) == 0); /* past the /25 */
	assert_true(pool_of(l, "2001:db8:5:1::9", NULL) == gw_pool_id("small", 5));
	assert_true(pool_of(l, "192.0.2.1", NULL) == 0);
	assert_int_equal(gw_lists_pools(l, &info), 2);
	assert_string_equal(gw_lists_pool_name(l, big), "big");
	assert_int_equal(info[0].cidrs + info[1].cidrs, 3);
	gw_lists_free(l);
	unlink(path);
}

/* The colours and the pool come from one walk, each from its longest listed network. */
static void test_pools_and_lists_in_one_walk(void **state)
{
	char white[] = "/tmp/gw-white-XXXXXX", pools[] = "/tmp/gw-pools-XXXXXX", err[256];
	struct gw_lists *l;
	u8 c;

	(void)state;
	close(mkstemp(white));
	close(mkstemp(pools));
	write_file(white, "client 198.51.100.7\nclient 10.0.0.0/8\n");
	write_file(pools, "big 198.51.100.0/24 10.1.2.0/24\n");
	l = gw_lists_load_all(white, NULL, pools, err, sizeof(err));
	if (!l)
		fail_msg("%s", err);
	/* a whitelisted host inside the pool: both */
	assert_true(pool_of(l, "198.51.100.7", &c) == gw_pool_id("big", 3));
	assert_int_equal(c, 1u << GW_WHITE);
	/* the pool's other hosts: the pool, no colour */
	assert_true(pool_of(l, "198.51.100.8", &c) == gw_pool_id("big", 3));
	assert_int_equal(c, 0);
	/* a pool inside a whitelisted /8: the pool, and the /8's colour below it */
	assert_true(pool_of(l, "10.1.2.3", &c) == gw_pool_id("big", 3));
	assert_int_equal(c, 1u << GW_WHITE);
	assert_int_equal(gw_lists_client_colors(l, GW_AF_INET, (const u8 *)"\x0a\x01\x02\x03", 32),
			 1u << GW_WHITE);
	gw_lists_free(l);
	unlink(white);
	unlink(pools);
}

/* A network in two pools, a bad name, a pool without CIDRs: refused with file:line. */
static void test_bad_pools_refused(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
	    {"a 192.0.2.0/24\nb 192.0.2.0/24\n", ":2: this network is already in pool 'a'"},
	    {"bad/name 192.0.2.0/24\n", ":1: pool name"},
	    {"lonely\n", ":1: a pool needs a name and at least one CIDR"},
	    {"a 192.0.2.0/33\n", ":1: pool: not an IPv4 or IPv6 address or CIDR"},
	};
	char path[] = "/tmp/gw-pools-XXXXXX", err[256];
	size_t i;

	(void)state;
	close(mkstemp(path));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		write_file(path, cases[i].text);
		assert_null(gw_lists_load_all(NULL, NULL, path, err, sizeof(err)));
		if (!strstr(err, cases[i].want) || !strstr(err, path))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].want);
	}
	/* the same network twice in one pool is no conflict */
	write_file(path, "a 192.0.2.0/24\na 192.0.2.0/24 198.51.100.0/24\n");
	{
		struct gw_lists *l = gw_lists_load_all(NULL, NULL, path, err, sizeof(err));

		assert_non_null(l);
		gw_lists_free(l);
	}
	unlink(path);
}

/* What greywalld publishes for greywall-dp: pools and rows join the files' set; a
 * network the files' pools hold stays there; a bad line is named by file:line. */
static void test_published_lists_merge(void **state)
{
	char pools[] = "/tmp/gw-pools-XXXXXX", pub[] = "/tmp/gw-pub-XXXXXX", err[256];
	struct gw_lists *l;
	size_t skipped;
	u8 c;

	(void)state;
	close(mkstemp(pools));
	close(mkstemp(pub));
	write_file(pools, "mine 198.51.100.0/24\n");
	write_file(pub, "# greywalld\npool spfpool 198.51.100.0/24\npool spfpool 203.0.113.0/24\n"
			"white sender @partner.example\nblack client 192.0.2.66\n");
	l = gw_lists_load_all(NULL, NULL, pools, err, sizeof(err));
	assert_non_null(l);
	assert_int_equal(gw_lists_merge_published(l, pub, &skipped, err, sizeof(err)), 3);
	assert_int_equal(skipped, 1);
	assert_true(pool_of(l, "198.51.100.9", NULL) == gw_pool_id("mine", 4));
	assert_true(pool_of(l, "203.0.113.9", NULL) == gw_pool_id("spfpool", 7));
	pool_of(l, "192.0.2.66", &c);
	assert_int_equal(c, 1u << GW_BLACK);
	assert_int_equal(gw_lists_address_colors(l, 'S', (const u8 *)"@partner.example", 16),
			 1u << GW_WHITE);
	gw_lists_free(l);
	/* a line of another kind is refused by place, and a missing file adds nothing */
	write_file(pub, "pool a 192.0.2.0/24\ngrey client 1.2.3.4\n");
	l = gw_lists_new();
	assert_int_equal(gw_lists_merge_published(l, pub, &skipped, err, sizeof(err)), -1);
	if (!strstr(err, ":2: expected 'pool', 'white' or 'black'"))
		fail_msg("'%s'", err);
	unlink(pub);
	assert_int_equal(gw_lists_merge_published(l, pub, &skipped, err, sizeof(err)), 0);
	gw_lists_free(l);
	unlink(pools);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidrs),
	    cmocka_unit_test(test_addresses_and_domains),
	    cmocka_unit_test(test_bad_entries),
	    cmocka_unit_test(test_file_with_error_line),
	    cmocka_unit_test(test_many_entries),
	    cmocka_unit_test(test_directory_is_not_a_list),
	    cmocka_unit_test(test_errors_do_not_quote_the_file),
	    cmocka_unit_test(test_list_owned_by_a_stranger_refused),
	    cmocka_unit_test(test_list_owned_by_the_daemon_user_taken),
	    cmocka_unit_test(test_nul_byte_named),
	    cmocka_unit_test(test_world_writable_list_refused),
	    cmocka_unit_test(test_pools_file),
	    cmocka_unit_test(test_pools_and_lists_in_one_walk),
	    cmocka_unit_test(test_bad_pools_refused),
	    cmocka_unit_test(test_published_lists_merge),
	};
	return cmocka_run_group_tests_name("lists", tests, NULL, NULL);
}
