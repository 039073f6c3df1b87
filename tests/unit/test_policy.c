// SPDX-License-Identifier: BSD-2-Clause
/* The greylisting state machine against postgrey's timers, on heap tables. */
#include <unistd.h>

#include "unit.h"

#include "greywall/decide_rcpt.h"
#include "greywall/policy.h"

#define T0  1800000000ULL /* 2027-01-15, any wall-clock second */
#define DAY 86400ULL

struct fixture {
	struct gw_table_header th, ah;
	struct gw_table trip, awl;
	struct gw_config cfg;
	u64 secret[2];
	struct gw_policy pol;
};

static void table_init(struct gw_table *t, struct gw_table_header *h, u64 nb)
{
	memset(h, 0, sizeof(*h));
	t->hdr = h;
	t->buckets = aligned_alloc(64, nb * sizeof(struct gw_bucket));
	memset(t->buckets, 0, nb * sizeof(struct gw_bucket));
	t->nbuckets = nb;
	t->epoch = T0 - 365 * DAY;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	table_init(&f->trip, &f->th, 1024);
	table_init(&f->awl, &f->ah, 256);
	gw_config_defaults(&f->cfg);
	f->secret[0] = 0x0123456789abcdefULL;
	f->secret[1] = 0xfedcba9876543210ULL;
	f->pol = (struct gw_policy){&f->trip, &f->awl, &f->cfg, f->secret};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->trip.buckets);
	free(f->awl.buckets);
	free(f);
	return 0;
}

static void make_triplet(struct gw_triplet *t, const char *ip4, const char *from, const char *to,
			 u8 prefix)
{
	unsigned a, b, c, d;
	u8 addr[4];

	memset(t, 0, sizeof(*t));
	sscanf(ip4, "%u.%u.%u.%u", &a, &b, &c, &d);
	addr[0] = (u8)a, addr[1] = (u8)b, addr[2] = (u8)c, addr[3] = (u8)d;
	gw_client_net_make(&t->net, GW_AF_INET, addr, prefix);
	t->sender_len = (u16)strlen(from);
	memcpy(t->sender, from, t->sender_len);
	t->rcpt_len = (u16)strlen(to);
	memcpy(t->rcpt, to, t->rcpt_len);
}

static enum gw_verdict decide_at(struct fixture *f, const struct gw_triplet *t, u64 now,
				 u32 *remaining)
{
	static const struct gw_list_hits none;
	struct gw_decision d;

	gw_decide(&f->pol, t, &none, now, &d);
	if (remaining)
		*remaining = d.remaining;
	return d.verdict;
}

static void test_first_attempt_then_retry(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t;
	u32 rem;

	make_triplet(&t, "198.18.0.1", "alice@a.example", "bob@b.example", 24);
	assert_int_equal(decide_at(f, &t, T0, &rem), GW_V_GREYLIST);
	assert_int_equal(rem, 300);
	assert_int_equal(decide_at(f, &t, T0 + 299, &rem), GW_V_GREYLIST);
	assert_int_equal(rem, 1);
	/* exactly at the delay passes */
	assert_int_equal(decide_at(f, &t, T0 + 300, NULL), GW_V_PASS);
	assert_int_equal(decide_at(f, &t, T0 + 301, NULL), GW_V_PASS);
}

static void test_early_retries_keep_the_clock(void **state)
{
	/* Exchange 2003's glitch retry: three attempts a second apart. */
	struct fixture *f = *state;
	struct gw_triplet t;
	u32 rem;

	make_triplet(&t, "198.18.0.1", "alice@a.example", "bob@b.example", 24);
	assert_int_equal(decide_at(f, &t, T0, NULL), GW_V_GREYLIST);
	assert_int_equal(decide_at(f, &t, T0 + 1, NULL), GW_V_GREYLIST);
	assert_int_equal(decide_at(f, &t, T0 + 2, NULL), GW_V_GREYLIST);
	assert_int_equal(decide_at(f, &t, T0 + 3, &rem), GW_V_GREYLIST);
	assert_int_equal(rem, 297);
	assert_int_equal(decide_at(f, &t, T0 + 300, NULL), GW_V_PASS);
}

static void test_retry_window(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet a, b;
	u32 rem;

	make_triplet(&a, "198.18.0.1", "a@a.example", "x@b.example", 24);
	make_triplet(&b, "198.18.0.1", "b@a.example", "x@b.example", 24);
	assert_int_equal(decide_at(f, &a, T0, NULL), GW_V_GREYLIST);
	assert_int_equal(decide_at(f, &b, T0, NULL), GW_V_GREYLIST);
	/* exactly at the end of the window still passes */
	assert_int_equal(decide_at(f, &a, T0 + 2 * DAY, NULL), GW_V_PASS);
	/* one second later the first attempt is forgotten and the clock starts again */
	assert_int_equal(decide_at(f, &b, T0 + 2 * DAY + 1, &rem), GW_V_GREYLIST);
	assert_int_equal(rem, 300);
	assert_int_equal(decide_at(f, &b, T0 + 2 * DAY + 301, NULL), GW_V_PASS);
}

static void test_max_age(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t, u;

	f->cfg.awl_clients = 0; /* keep the auto-whitelist out of this one */
	make_triplet(&t, "198.18.0.1", "a@a.example", "x@b.example", 24);
	make_triplet(&u, "198.18.0.1", "a@a.example", "y@b.example", 24);
	decide_at(f, &t, T0, NULL);
	decide_at(f, &u, T0, NULL);
	assert_int_equal(decide_at(f, &t, T0 + 600, NULL), GW_V_PASS);
	assert_int_equal(decide_at(f, &u, T0 + 600, NULL), GW_V_PASS);
	/* last seen is kept in minutes: inside the 35 days by a minute passes */
	assert_int_equal(decide_at(f, &t, T0 + 600 + 35 * DAY - 60, NULL), GW_V_PASS);
	/* that pass refreshed last seen: t lives 35 days from it, not from the first pass */
	assert_int_equal(decide_at(f, &t, T0 + 600 + 60 * DAY, NULL), GW_V_PASS);
	assert_int_equal(decide_at(f, &t, T0 + 600 + 95 * DAY + 120, NULL), GW_V_GREYLIST);
	assert_int_equal(decide_at(f, &u, T0 + 600 + 35 * DAY + 60, NULL), GW_V_GREYLIST);
}

static void test_passed_entry_refreshed_by_use(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t;
	u64 now = T0;
	int i;

	f->cfg.awl_clients = 0;
	make_triplet(&t, "198.18.0.1", "a@a.example", "x@b.example", 24);
	decide_at(f, &t, now, NULL);
	now += 300;
	for (i = 0; i < 5; i++, now += 30 * DAY)
		assert_int_equal(decide_at(f, &t, now, NULL), GW_V_PASS);
}

static void test_network_masking(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t, pool, other;

	make_triplet(&t, "198.18.0.1", "a@a.example", "x@b.example", 24);
	make_triplet(&pool, "198.18.0.200", "a@a.example", "x@b.example", 24);
	make_triplet(&other, "198.18.1.1", "a@a.example", "x@b.example", 24);
	decide_at(f, &t, T0, NULL);
	/* big senders retry from another host of the same pool */
	assert_int_equal(decide_at(f, &pool, T0 + 300, NULL), GW_V_PASS);
	assert_int_equal(decide_at(f, &other, T0 + 300, NULL), GW_V_GREYLIST);
}

static void test_exact_address_mode(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t, pool;

	make_triplet(&t, "198.18.0.1", "a@a.example", "x@b.example", 32);
	make_triplet(&pool, "198.18.0.2", "a@a.example", "x@b.example", 32);
	decide_at(f, &t, T0, NULL);
	assert_int_equal(decide_at(f, &pool, T0 + 300, NULL), GW_V_GREYLIST);
}

static void test_ipv6_prefix(void **state)
{
	struct gw_client_net a, b, c;
	u8 x[16] = {0xfd, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0xbb, 0, 0, 0, 0, 0, 1};
	u8 y[16] = {0xfd, 0, 0, 0, 0, 0, 0, 1, 0x11, 0x22, 0, 0, 0, 0, 0, 9};
	u8 z[16] = {0xfd, 0, 0, 0, 0, 0, 0, 2, 0xaa, 0xbb, 0, 0, 0, 0, 0, 1};

	(void)state;
	gw_client_net_make(&a, GW_AF_INET6, x, 64);
	gw_client_net_make(&b, GW_AF_INET6, y, 64);
	gw_client_net_make(&c, GW_AF_INET6, z, 64);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(&a, &c, sizeof(a));
	/* a /61 keeps the top bits of byte 7 only */
	gw_client_net_make(&a, GW_AF_INET6, x, 61);
	gw_client_net_make(&c, GW_AF_INET6, z, 61);
	assert_memory_equal(&a, &c, sizeof(a));
}

static void test_auto_whitelist_counts_hourly(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t, fresh;
	char rcpt[32];
	u64 now = T0;
	int i;

	/* Five passes inside one hour count once: a new triplet is still greylisted. */
	for (i = 0; i < 5; i++) {
		snprintf(rcpt, sizeof(rcpt), "u%d@b.example", i);
		make_triplet(&t, "198.18.0.1", "a@a.example", rcpt, 24);
		decide_at(f, &t, now, NULL);
		assert_int_equal(decide_at(f, &t, now + 300, NULL), GW_V_PASS);
		now += 60;
	}
	make_triplet(&fresh, "198.18.0.9", "z@z.example", "new@b.example", 24);
	assert_int_equal(decide_at(f, &fresh, now + 300, NULL), GW_V_GREYLIST);

	/* Four more passes an hour apart make five counted: the network is whitelisted. */
	for (i = 5; i < 9; i++) {
		now += 3600;
		snprintf(rcpt, sizeof(rcpt), "u%d@b.example", i);
		make_triplet(&t, "198.18.0.1", "a@a.example", rcpt, 24);
		decide_at(f, &t, now, NULL);
		assert_int_equal(decide_at(f, &t, now + 300, NULL), GW_V_PASS);
	}
	make_triplet(&fresh, "198.18.0.77", "z@z.example", "other@b.example", 24);
	assert_int_equal(decide_at(f, &fresh, now + 400, NULL), GW_V_PASS_AWL);
	/* and only that network */
	make_triplet(&fresh, "198.18.5.77", "z@z.example", "other@b.example", 24);
	assert_int_equal(decide_at(f, &fresh, now + 400, NULL), GW_V_GREYLIST);
	/* the auto-whitelist entry ages out after max age without passes */
	make_triplet(&fresh, "198.18.0.78", "q@z.example", "other@b.example", 24);
	assert_int_equal(decide_at(f, &fresh, now + 300 + 36 * DAY, NULL), GW_V_GREYLIST);
}

static void test_lists_and_exemptions(void **state)
{
	struct fixture *f = *state;
	struct gw_list_hits white = {.white = GW_LIST_SENDER}, black = {.black = GW_LIST_CLIENT},
			    both = {.white = GW_LIST_CLIENT, .black = GW_LIST_RCPT}, none = {0};
	struct gw_triplet t, pm, ab;
	struct gw_decision d;

	make_triplet(&t, "198.18.0.1", "a@a.example", "x@b.example", 24);
	make_triplet(&pm, "198.18.0.1", "a@a.example", "postmaster@b.example", 24);
	make_triplet(&ab, "198.18.0.1", "a@a.example", "abuse", 24);
	gw_decide(&f->pol, &t, &white, T0, &d);
	assert_int_equal(d.verdict, GW_V_PASS_WHITELIST);
	gw_decide(&f->pol, &t, &black, T0, &d);
	assert_int_equal(d.verdict, GW_V_BLACKLIST);
	/* a permanent decision wins over a whitelist entry */
	gw_decide(&f->pol, &t, &both, T0, &d);
	assert_int_equal(d.verdict, GW_V_BLACKLIST);
	gw_decide(&f->pol, &pm, &none, T0, &d);
	assert_int_equal(d.verdict, GW_V_PASS_EXEMPT);
	gw_decide(&f->pol, &ab, &none, T0, &d);
	assert_int_equal(d.verdict, GW_V_PASS_EXEMPT);
	f->cfg.exempt_postmaster = 0;
	gw_decide(&f->pol, &pm, &none, T0, &d);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	/* nothing above touched the table for t */
	gw_decide(&f->pol, &t, &none, T0 + 1000, &d);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	assert_int_equal(d.remaining, 300);
}

static void test_postmaster_lookalikes_not_exempt(void **state)
{
	(void)state;
	assert_true(gw_is_exempt_rcpt((const u8 *)"postmaster@x", 12));
	assert_true(gw_is_exempt_rcpt((const u8 *)"postmaster", 10));
	assert_false(gw_is_exempt_rcpt((const u8 *)"postmasters@x", 13));
	assert_false(gw_is_exempt_rcpt((const u8 *)"abusers@x", 9));
	assert_false(gw_is_exempt_rcpt((const u8 *)"notabuse@x", 10));
}

static void test_starttls_pseudo_triplet(void **state)
{
	struct fixture *f = *state;
	static const struct gw_list_hits none, white = {.white = GW_LIST_CLIENT};
	struct gw_client_net net, known;
	struct gw_triplet t;
	struct gw_decision d;
	u8 a[4] = {198, 18, 0, 1}, b[4] = {198, 18, 7, 1};

	gw_client_net_make(&net, GW_AF_INET, a, 24);
	gw_decide_tls(&f->pol, &net, (const u8 *)"mx.a.example", 12, &none, T0, &d);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	gw_decide_tls(&f->pol, &net, (const u8 *)"mx.a.example", 12, &none, T0 + 100, &d);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	/* another HELO name is another pseudo-triplet */
	gw_decide_tls(&f->pol, &net, (const u8 *)"mx2.a.example", 13, &none, T0 + 300, &d);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	gw_decide_tls(&f->pol, &net, (const u8 *)"mx.a.example", 12, &none, T0 + 300, &d);
	assert_int_equal(d.verdict, GW_V_PASS);
	/* a network with a passed plain triplet goes straight through */
	make_triplet(&t, "198.18.7.1", "a@a.example", "x@b.example", 24);
	decide_at(f, &t, T0, NULL);
	decide_at(f, &t, T0 + 300, NULL);
	gw_client_net_make(&known, GW_AF_INET, b, 24);
	gw_decide_tls(&f->pol, &known, (const u8 *)"new.example", 11, &none, T0 + 301, &d);
	assert_int_equal(d.verdict, GW_V_PASS_AWL);
	/* whitelisted networks and the "pass" setting skip it */
	gw_client_net_make(&net, GW_AF_INET, (u8[4]){198, 19, 0, 1}, 24);
	gw_decide_tls(&f->pol, &net, (const u8 *)"x", 1, &white, T0, &d);
	assert_int_equal(d.verdict, GW_V_PASS_WHITELIST);
	f->cfg.tls_mode = GW_TLS_PASS;
	gw_decide_tls(&f->pol, &net, (const u8 *)"x", 1, &none, T0, &d);
	assert_int_equal(d.verdict, GW_V_PASS_WHITELIST);
}

static void test_full_table_fails_open(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t;
	char rcpt[32];
	int i, fail_open = 0;

	f->cfg.awl_clients = 0;
	/* Passed entries are never evicted, so a table full of them fails open. */
	for (i = 0; i < 1024 * 4 + 100; i++) {
		snprintf(rcpt, sizeof(rcpt), "u%d@b.example", i);
		make_triplet(&t, "198.18.0.1", "a@a.example", rcpt, 24);
		if (decide_at(f, &t, T0, NULL) == GW_V_FAIL_OPEN) {
			fail_open++;
			continue;
		}
		assert_int_equal(decide_at(f, &t, T0 + 300, NULL), GW_V_PASS);
	}
	assert_true(fail_open > 0);
	assert_int_equal(f->th.stats.full, (u64)fail_open);
}

static void test_fingerprint_domains_differ(void **state)
{
	struct fixture *f = *state;
	struct gw_triplet t;

	make_triplet(&t, "198.18.0.1", "", "", 24);
	/* same network, empty strings: the three kinds of key still differ */
	assert_int_not_equal(gw_triplet_fp(f->secret, &t), gw_awl_fp(f->secret, &t.net));
	assert_int_not_equal(gw_triplet_fp(f->secret, &t),
			     gw_tls_fp(f->secret, &t.net, (const u8 *)"", 0));
	/* moving a byte between sender and recipient changes the key */
	make_triplet(&t, "198.18.0.1", "ab", "c", 24);
	{
		u64 one = gw_triplet_fp(f->secret, &t);

		make_triplet(&t, "198.18.0.1", "a", "bc", 24);
		assert_int_not_equal(one, gw_triplet_fp(f->secret, &t));
	}
}

/*
 * A big sender retries from another server, in another /24 of its pool: the
 * retry passes after the delay; one from outside the pool is a new triplet.
 */
static void test_sender_pool_retry_from_another_network(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/gw-pools-XXXXXX", err[256];
	static const u8 first[4] = {198, 51, 100, 7}, other[4] = {203, 0, 113, 9},
			stranger[4] = {192, 0, 2, 1};
	static const char from[] = "bounce@big.example", to[] = "bob@b.example";
	struct gw_lists *l;
	struct gw_triplet t;
	struct gw_decision d;
	FILE *fp;

	close(mkstemp(path));
	fp = fopen(path, "w");
	fputs("big 198.51.100.0/24 203.0.113.0/24\n", fp);
	fclose(fp);
	l = gw_lists_load_all(NULL, NULL, path, err, sizeof(err));
	if (!l)
		fail_msg("%s", err);
	assert_int_equal(gw_decide_rcpt(&f->pol, l, GW_AF_INET, first, (const u8 *)from,
					sizeof(from) - 1, (const u8 *)to, sizeof(to) - 1, T0, &t,
					&d),
			 0);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	assert_int_equal(t.net.family, GW_AF_POOL);
	gw_decide_rcpt(&f->pol, l, GW_AF_INET, stranger, (const u8 *)from, sizeof(from) - 1,
		       (const u8 *)to, sizeof(to) - 1, T0 + 400, &t, &d);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	gw_decide_rcpt(&f->pol, l, GW_AF_INET, other, (const u8 *)from, sizeof(from) - 1,
		       (const u8 *)to, sizeof(to) - 1, T0 + 400, &t, &d);
	assert_int_equal(d.verdict, GW_V_PASS);
	/* without the pool, the other /24 is a stranger too */
	gw_decide_rcpt(&f->pol, NULL, GW_AF_INET, other, (const u8 *)from, sizeof(from) - 1,
		       (const u8 *)to, sizeof(to) - 1, T0 + 500, &t, &d);
	assert_int_equal(d.verdict, GW_V_GREYLIST);
	gw_lists_free(l);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_first_attempt_then_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sender_pool_retry_from_another_network, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_early_retries_keep_the_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_window, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_passed_entry_refreshed_by_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_network_masking, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exact_address_mode, setup, teardown),
	    cmocka_unit_test(test_ipv6_prefix),
	    cmocka_unit_test_setup_teardown(test_auto_whitelist_counts_hourly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lists_and_exemptions, setup, teardown),
	    cmocka_unit_test(test_postmaster_lookalikes_not_exempt),
	    cmocka_unit_test_setup_teardown(test_starttls_pseudo_triplet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_table_fails_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fingerprint_domains_differ, setup, teardown),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
