// SPDX-License-Identifier: BSD-2-Clause
#include "unit.h"

#include "greywall/normalize.h"

struct norm_case {
	const char *in;
	const char *want; /* NULL: expect an error */
	bool sender;
	bool strip_ext;
	bool verp;
};

static const struct norm_case cases[] = {
    /* lowercase everything */
    {"John.Doe@Example.COM", "john.doe@example.com", false, true, true},
    {"", "", true, true, true}, /* null sender <> */
    {"postmaster", "postmaster", false, true, true},
    {"user@example.com.", "user@example.com", false, true, true},
    /* BATV, standard order prvs=TAG=local */
    {"prvs=1234abcdef=bounce@example.com", "bounce@example.com", true, false, false},
    {"PRVS=0123ABCDEF=Alice@Example.org", "alice@example.org", true, false, false},
    /* BATV, swapped order prvs=local=TAG */
    {"prvs=bounce=1234abcdef@example.com", "bounce@example.com", true, false, false},
    /* not a tag in either field: left alone */
    {"prvs=foo=bar@example.com", "prvs=foo=bar@example.com", true, false, false},
    {"prvs=12345=bounce@example.com", "prvs=12345=bounce@example.com", true, false, false},
    /* SRS0 with each separator, SRS1 */
    {"SRS0=HHH=TT=orig.example=alice@fwd.example", "alice@orig.example", true, false, false},
    {"srs0+hhh=tt=orig.example=alice@fwd.example", "alice@orig.example", true, false, false},
    {"SRS0-hhh=tt=orig.example=alice@fwd.example", "alice@orig.example", true, false, false},
    {"SRS1=HHH=fwd1.example==HHH=TT=orig.example=alice@fwd2.example", "alice@orig.example", true,
     false, false},
    {"srs0=broken@fwd.example", "srs0=broken@fwd.example", true, false, false},
    /* SRS wrapping BATV */
    {"SRS0=HHH=TT=orig.example=prvs=1234abcdef=bob@fwd.example", "bob@orig.example", true, false,
     false},
    /* +extension, switchable */
    {"user+tag@example.com", "user@example.com", false, true, false},
    {"user+tag@example.com", "user+tag@example.com", false, false, false},
    {"+only@example.com", "+only@example.com", false, true, false},
    /* VERP digit folding, sender only */
    {"bounce-12345-678@lists.example", "bounce-#-#@lists.example", true, false, true},
    {"bounce-12345@lists.example", "bounce-12345@lists.example", false, false, true},
    {"bounce-12345@lists.example", "bounce-12345@lists.example", true, false, false},
    {"u1234@1.2.3.example", "u#@1.2.3.example", true, false, true},
    /* quoted local part survives as written, lowercased */
    {"\"John Doe\"@Example.com", "\"john doe\"@example.com", false, true, true},
    {"\"a@b\"@example.com", "\"a@b\"@example.com", false, true, true},
    /* control characters are refused */
    {"bad\r\nx@example.com", NULL, false, true, true},
};

static void test_table(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct norm_case *c = &cases[i];
		struct gw_norm_opts o = {.strip_extension = c->strip_ext, .verp_fold = c->verp};
		u8 out[GW_ADDR_MAX + 1];
		int n =
		    gw_normalize_address((const u8 *)c->in, (u32)strlen(c->in), out, &o, c->sender);

		if (!c->want) {
			if (n >= 0)
				fail_msg("case %u '%s': expected an error, got '%.*s'", i, c->in, n,
					 out);
			continue;
		}
		if (n < 0)
			fail_msg("case %u '%s': error %d", i, c->in, n);
		out[n] = 0;
		if (strcmp((char *)out, c->want) != 0)
			fail_msg("case %u '%s': got '%s', want '%s'", i, c->in, out, c->want);
	}
}

/*
 * An address's length does not decide whether it gets a key: a long
 * +extension goes as it would on a short one, and what is still too long
 * keeps its domain and stands in for its local part with a fingerprint.
 */
static void test_long_paths_get_a_key(void **state)
{
	struct gw_norm_opts o = {.strip_extension = true};
	static u8 in[GW_PATH_LONG_MAX + 2];
	u8 out[GW_ADDR_MAX], out2[GW_ADDR_MAX];
	int n, n2;

	(void)state;
	/* exactly at the limit fits as it is */
	memset(in, 'a', GW_ADDR_MAX);
	in[10] = '@';
	assert_int_equal(gw_normalize_address(in, GW_ADDR_MAX, out, &o, false), GW_ADDR_MAX);
	/* a 600-octet +extension on bob: bob's key */
	memcpy(in, "Bob+", 4);
	memset(in + 4, 'x', 600);
	memcpy(in + 604, "@Receiver.Example", 17);
	n = gw_normalize_address(in, 621, out, &o, false);
	assert_int_equal(n, 20);
	assert_memory_equal(out, "bob@receiver.example", 20);
	/* a 600-octet local part without one: a fingerprint, the domain kept */
	o.strip_extension = false;
	n = gw_normalize_address(in, 621, out, &o, false);
	assert_int_equal(n, 17 + 17);
	assert_int_equal(out[0], '~');
	assert_memory_equal(out + 17, "@receiver.example", 17);
	n2 = gw_normalize_address(in, 621, out2, &o, false);
	assert_int_equal(n2, n);
	assert_memory_equal(out, out2, (size_t)n);
	in[300] = 'y'; /* one byte differs: another key */
	n2 = gw_normalize_address(in, 621, out2, &o, false);
	assert_int_equal(n2, n);
	assert_true(memcmp(out, out2, (size_t)n) != 0);
	/* past any MTA's line, and control bytes, are still refused */
	memset(in, 'a', sizeof(in));
	assert_int_equal(gw_normalize_address(in, GW_PATH_LONG_MAX + 1, out, &o, false),
			 GW_NORM_TOO_LONG);
	in[400] = '\n';
	assert_int_equal(gw_normalize_address(in, 500, out, &o, false), GW_NORM_BAD_CHAR);
}

static void test_batv_tag_shape(void **state)
{
	(void)state;
	assert_true(gw_is_batv_tag((const u8 *)"1234abcdef", 0, 10));
	assert_false(gw_is_batv_tag((const u8 *)"a234abcdef", 0, 10)); /* key must be a digit */
	assert_false(gw_is_batv_tag((const u8 *)"1234abcdeg", 0, 10)); /* hash must be hex */
	assert_false(gw_is_batv_tag((const u8 *)"1234abcde", 0, 9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_long_paths_get_a_key),
	    cmocka_unit_test(test_batv_tag_shape),
	};
	return cmocka_run_group_tests_name("normalize", tests, NULL, NULL);
}
