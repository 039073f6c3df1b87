// SPDX-License-Identifier: BSD-2-Clause
#include "unit.h"

#include "greywall/reply.h"

static void test_default_greylist_text(void **state)
{
	struct gw_reply_vars v = {"bob@b.example", "alice@a.example", "198.18.0.1", 297};
	char out[GW_REPLY_MAX];
	int n;

	(void)state;
	n = gw_reply_render(GW_REPLY_GREYLIST_DEFAULT, &v, out, sizeof(out));
	assert_string_equal(out, "450 4.7.1 <bob@b.example>: Recipient address rejected: "
				 "Greylisted, retry in 297 seconds\r\n");
	assert_int_equal(n, (int)strlen(out));
}

static void test_all_placeholders(void **state)
{
	struct gw_reply_vars v = {"r@x", "s@y", "fd00::1", 5};
	char out[GW_REPLY_MAX], err[128];

	(void)state;
	assert_int_equal(gw_reply_template_check("451 %r %s %c %t 100%%", err, sizeof(err)), 0);
	gw_reply_render("451 %r %s %c %t 100%%", &v, out, sizeof(out));
	assert_string_equal(out, "451 r@x s@y fd00::1 5 100%\r\n");
}

static void test_injection_is_neutralised(void **state)
{
	/* A recipient with CRLF must not be able to end our reply and start another. */
	struct gw_reply_vars v = {"x\r\n250 ok", "", "", 0};
	char out[GW_REPLY_MAX];

	(void)state;
	gw_reply_render("450 <%r>", &v, out, sizeof(out));
	assert_string_equal(out, "450 <x??250 ok>\r\n");
}

static void test_bad_templates(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(gw_reply_template_check("250 ok", err, sizeof(err)), -1);
	assert_int_equal(gw_reply_template_check("450", err, sizeof(err)), -1);
	assert_int_equal(gw_reply_template_check("450 %x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "%x"));
	assert_int_equal(gw_reply_template_check("450 trailing %", err, sizeof(err)), -1);
	assert_int_equal(gw_reply_template_check("450 a\tb", err, sizeof(err)), -1);
	assert_int_equal(gw_reply_template_check(GW_REPLY_TLS_DEFAULT, err, sizeof(err)), 0);
	assert_int_equal(gw_reply_template_check(GW_REPLY_BLACKLIST_DEFAULT, err, sizeof(err)), 0);
}

/* A name too long for the reply is shortened; the reply, and so the verdict, still goes. */
static void test_long_names_are_shortened_to_fit(void **state)
{
	char big[600], out[GW_REPLY_MAX];
	struct gw_reply_vars v = {big, big, "198.18.0.1", 300};
	int n;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	n = gw_reply_render("450 4.7.1 <%r>: from <%s> [%c], retry in %t seconds", &v, out,
			    sizeof(out));
	assert_true(n > 0 && n <= (int)sizeof(out) - 1);
	assert_int_equal(strlen(out), (size_t)n);
	assert_memory_equal(out, "450 4.7.1 <aaa", 14);
	assert_non_null(strstr(out, "...>: from <aaa"));
	assert_non_null(strstr(out, "...> [198.18.0.1], retry in 300 seconds\r\n"));
	/* a buffer too small for the fixed text alone is still refused */
	assert_int_equal(gw_reply_render("450 %r", &v, out, 5), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_greylist_text),
	    cmocka_unit_test(test_all_placeholders),
	    cmocka_unit_test(test_injection_is_neutralised),
	    cmocka_unit_test(test_bad_templates),
	    cmocka_unit_test(test_long_names_are_shortened_to_fit),
	};
	return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}
