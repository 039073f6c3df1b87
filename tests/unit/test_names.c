// SPDX-License-Identifier: BSD-2-Clause
/* greywalld's triplet names: attempts, the cap, and expiry that keeps every other name findable. */
#include "unit.h"

#include "../../control/names.h"
#include "greywall/policy.h"

static const u8 client[16] = {198, 18, 0, 1};

static void test_attempts_and_verdicts(void **state)
{
	struct gw_names *n = gw_names_new(8);
	const struct gw_name *nm;

	(void)state;
	nm = gw_names_note(n, 42, 1000, GW_V_GREYLIST, GW_AF_INET, client, "a@s.example",
			   "b@r.example");
	assert_non_null(nm);
	assert_int_equal(nm->attempts, 1);
	assert_false(nm->ever_passed);
	nm = gw_names_note(n, 42, 1400, GW_V_PASS, GW_AF_INET, client, "ignored", "ignored");
	assert_int_equal(nm->attempts, 2);
	assert_true(nm->ever_passed);
	assert_int_equal(nm->first, 1000);
	assert_int_equal(nm->last, 1400);
	assert_string_equal(nm->sender, "a@s.example"); /* the first text stays */
	assert_null(gw_names_get(n, 43));
	gw_names_free(n);
}

static void test_cap_drops_new_names_only(void **state)
{
	struct gw_names *n = gw_names_new(4);
	u64 fp;

	(void)state;
	for (fp = 1; fp <= 6; fp++)
		gw_names_note(n, fp, 1, GW_V_GREYLIST, GW_AF_INET, client, "s", "r");
	assert_int_equal(gw_names_count(n), 4);
	assert_int_equal(gw_names_dropped(n), 2);
	assert_non_null(gw_names_note(n, 1, 2, GW_V_GREYLIST, GW_AF_INET, client, "s", "r"));
	gw_names_free(n);
}

/* Colliding fingerprints (same low bits) form one run; expiring from its middle keeps the rest. */
static void test_expiry_keeps_runs_intact(void **state)
{
	struct gw_names *n = gw_names_new(64);
	u64 i;

	(void)state;
	for (i = 0; i < 40; i++)
		gw_names_note(n, (i << 20) | 5, i, GW_V_GREYLIST, GW_AF_INET, client, "s", "r");
	assert_int_equal(gw_names_expire(n, 20), 20);
	assert_int_equal(gw_names_count(n), 20);
	for (i = 0; i < 40; i++) {
		const struct gw_name *nm = gw_names_get(n, (i << 20) | 5);

		if (i < 20)
			assert_null(nm);
		else
			assert_non_null(nm);
	}
	gw_names_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_attempts_and_verdicts),
	    cmocka_unit_test(test_cap_drops_new_names_only),
	    cmocka_unit_test(test_expiry_keeps_runs_intact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
