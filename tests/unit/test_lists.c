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
	assert_non_null(strstr(err, "300.1.1.1/8"));
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidrs),	 cmocka_unit_test(test_addresses_and_domains),
	    cmocka_unit_test(test_bad_entries),	 cmocka_unit_test(test_file_with_error_line),
	    cmocka_unit_test(test_many_entries), cmocka_unit_test(test_directory_is_not_a_list),
	};
	return cmocka_run_group_tests_name("lists", tests, NULL, NULL);
}
