// SPDX-License-Identifier: BSD-2-Clause
/* The SPF record parser (control/spf.c): RFC 7208's syntax, what each term carries, and refusals.
 */
#include "unit.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "spf.h"

static int parse(const char *text, struct spf_record *record, char *err)
{
	return spf_record_parse(text, strlen(text), record, err, SPF_ERROR_MAX);
}

static void assert_refused(const char *text, const char *reason_part)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX] = "";

	if (parse(text, &record, err) == 0) {
		spf_record_free(&record);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err, reason_part))
		fail_msg("'%s' refused with '%s', expected '%s'", text, err, reason_part);
}

static const char *network_text(const struct spf_cidr *cidr, char *buf)
{
	return spf_cidr_format(cidr, buf, SPF_CIDR_STRLEN);
}

static void test_version_tag(void **state)
{
	(void)state;
	assert_true(spf_is_spf1("v=spf1", 6));
	assert_true(spf_is_spf1("V=SPF1 -all", 11));
	assert_false(spf_is_spf1("v=spf10 -all", 12));
	assert_false(spf_is_spf1("v=spf1x", 7));
	assert_false(spf_is_spf1("spf1 a", 6));
	assert_false(spf_is_spf1("v=spf", 5));
}

static void test_networks_are_masked_with_default_lengths(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX], buf[SPF_CIDR_STRLEN];

	(void)state;
	assert_int_equal(parse("v=spf1 ip4:192.0.2.77/24 IP4:198.51.100.1 ip6:2001:db8::1:2/48 "
			       "ip6:2001:DB8::9 -all",
			       &record, err),
			 0);
	assert_int_equal(record.term_count, 5);
	assert_string_equal(network_text(&record.terms[0].network, buf), "192.0.2.0/24");
	assert_string_equal(network_text(&record.terms[1].network, buf), "198.51.100.1/32");
	assert_string_equal(network_text(&record.terms[2].network, buf), "2001:db8::/48");
	assert_string_equal(network_text(&record.terms[3].network, buf), "2001:db8::9/128");
	assert_int_equal(record.terms[0].network.family, AF_INET);
	assert_int_equal(record.terms[2].network.family, AF_INET6);
	assert_int_equal(record.dns_terms, 0);
	assert_true(record.has_all);
	spf_record_free(&record);
}

static void test_qualifiers(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX];

	(void)state;
	assert_int_equal(
	    parse("v=spf1 +a -mx ~ip4:192.0.2.1 ?include:_spf.example.com all", &record, err), 0);
	assert_int_equal(record.term_count, 5);
	assert_int_equal(record.terms[0].qualifier, '+');
	assert_int_equal(record.terms[1].qualifier, '-');
	assert_int_equal(record.terms[2].qualifier, '~');
	assert_int_equal(record.terms[3].qualifier, '?');
	assert_int_equal(record.terms[4].qualifier, '+');
	assert_int_equal(record.terms[4].mechanism, SPF_MECH_ALL);
	assert_int_equal(record.dns_terms, 3); /* a, mx, include: whatever their qualifier */
	spf_record_free(&record);
}

static void test_a_and_mx_cidr_lengths(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX];

	(void)state;
	assert_int_equal(parse("v=spf1 a a/24 a//64 a/24//64 a:mail.example.com/30 "
			       "mx:mx.example.com//56 MX",
			       &record, err),
			 0);
	assert_int_equal(record.term_count, 7);
	assert_null(record.terms[0].domain);
	assert_int_equal(record.terms[0].cidr4, 32);
	assert_int_equal(record.terms[0].cidr6, 128);
	assert_int_equal(record.terms[1].cidr4, 24);
	assert_int_equal(record.terms[1].cidr6, 128);
	assert_int_equal(record.terms[2].cidr4, 32);
	assert_int_equal(record.terms[2].cidr6, 64);
	assert_int_equal(record.terms[3].cidr4, 24);
	assert_int_equal(record.terms[3].cidr6, 64);
	assert_string_equal(record.terms[4].domain, "mail.example.com");
	assert_int_equal(record.terms[4].cidr4, 30);
	assert_string_equal(record.terms[5].domain, "mx.example.com");
	assert_int_equal(record.terms[5].cidr6, 56);
	assert_int_equal(record.terms[6].mechanism, SPF_MECH_MX);
	assert_int_equal(record.dns_terms, 7);
	assert_false(record.has_all);
	spf_record_free(&record);
}

static void test_redirect_only_without_all(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX];

	(void)state;
	assert_int_equal(parse("v=spf1 ip4:192.0.2.1 redirect=_spf.example.com", &record, err), 0);
	assert_string_equal(record.redirect, "_spf.example.com");
	assert_int_equal(record.dns_terms, 1);
	spf_record_free(&record);
	/* RFC 7208 6.1: "all" anywhere, even after the redirect, voids it */
	assert_int_equal(parse("v=spf1 redirect=_spf.example.com ~all", &record, err), 0);
	assert_null(record.redirect);
	assert_int_equal(record.dns_terms, 0);
	spf_record_free(&record);
	assert_refused("v=spf1 redirect=a.example.com redirect=b.example.com", "twice");
}

static void test_terms_after_all_are_not_reached_but_must_parse(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX];

	(void)state;
	assert_int_equal(
	    parse("v=spf1 ip4:192.0.2.1 -all include:late.example.com a", &record, err), 0);
	assert_int_equal(record.term_count, 2);
	assert_int_equal(record.dns_terms, 0);
	spf_record_free(&record);
	assert_refused("v=spf1 -all bogus:thing", "unknown mechanism");
}

static void test_macros_are_marked_and_checked(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX];

	(void)state;
	assert_int_equal(
	    parse("v=spf1 include:%{d}._spf.example.com exists:%{ir}.%{v}.x.example.com "
		  "a:%{l1r-}.example.com redirect=%{o}",
		  &record, err),
	    0);
	assert_true(record.terms[0].domain_is_macro);
	assert_true(record.terms[1].domain_is_macro);
	assert_true(record.terms[2].domain_is_macro);
	assert_true(record.redirect_is_macro);
	assert_int_equal(record.dns_terms, 4);
	spf_record_free(&record);
	/* the escapes need no message: "%%" "%_" "%-" expand on the spot */
	assert_int_equal(parse("v=spf1 a:x%%y.example.com", &record, err), 0);
	assert_false(record.terms[0].domain_is_macro);
	assert_string_equal(record.terms[0].domain, "x%y.example.com");
	spf_record_free(&record);
	assert_refused("v=spf1 include:%{z}.example.com", "macro");
	assert_refused("v=spf1 include:%{d.example.com", "macro");
	assert_refused("v=spf1 include:50%.example.com", "macro");
}

static void test_modifiers(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX];

	(void)state;
	assert_int_equal(parse("v=spf1 exp=explain.example.com moo=%{d}cow -all", &record, err), 0);
	assert_int_equal(record.term_count, 1);
	spf_record_free(&record);
	assert_refused("v=spf1 exp=a.example.com exp=b.example.com", "twice");
	assert_refused("v=spf1 exp=", "empty");
	assert_refused("v=spf1 +redirect=a.example.com", "unknown mechanism");
}

static void test_bad_records_are_refused(void **state)
{
	(void)state;
	assert_refused("v=spf2.0/pra ip4:192.0.2.1", "not a v=spf1");
	assert_refused("v=spf1 ip4:300.1.2.3", "ip4: not a network");
	assert_refused("v=spf1 ip4:192.0.2.1/33", "ip4: not a network");
	assert_refused("v=spf1 ip4:192.0.2.1/024", "ip4: not a network");
	assert_refused("v=spf1 ip4:192.0.2.1/", "ip4: not a network");
	assert_refused("v=spf1 ip4:2001:db8::1", "ip4: not a network");
	assert_refused("v=spf1 ip6:2001:db8::/129", "ip6: not a network");
	assert_refused("v=spf1 ip6", "ip6: not a network");
	assert_refused("v=spf1 a/33", "cidr-length");
	assert_refused("v=spf1 mx//129", "cidr-length");
	assert_refused("v=spf1 include", "needs a domain");
	assert_refused("v=spf1 exists", "needs a domain");
	assert_refused("v=spf1 include:localhost", "not a domain");
	assert_refused("v=spf1 include:example.123", "not a domain");
	assert_refused("v=spf1 include:a..example.com", "not a domain");
	assert_refused("v=spf1 all:x", "no argument");
	assert_refused("v=spf1 + a", "unknown mechanism");
	assert_refused("v=spf1 a:", "empty domain");
	assert_refused("v=spf1 moo=%{q}", "bad character or macro");
}

static void test_domains(void **state)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX];

	(void)state;
	assert_int_equal(parse("v=spf1 include:_spf.google.com. include:spf.protection.outlook.com "
			       "a:x.xn--p1ai a:x.y-z",
			       &record, err),
			 0);
	assert_string_equal(record.terms[0].domain, "_spf.google.com.");
	spf_record_free(&record);
}

static void test_select_record(void **state)
{
	static const uint8_t split[] = "\x0ev=spf1 ip4:192\x0f.0.2.1 -all xyz";
	static const uint8_t other[] = "\x0dsome-token=42";
	static const uint8_t second[] = "\x11v=spf1 mx -all ok";
	static const uint8_t broken[] = "\x30v=spf1";
	const uint8_t *rdata[3];
	int lengths[3];
	char *text, err[SPF_ERROR_MAX];
	size_t text_len;

	(void)state;
	rdata[0] = other;
	lengths[0] = (int)sizeof(other) - 1;
	rdata[1] = split;
	lengths[1] = 1 + 14 + 1 + 15;
	assert_int_equal(spf_select_record(rdata, lengths, 2, &text, &text_len, err, sizeof(err)),
			 1);
	assert_string_equal(text, "v=spf1 ip4:192.0.2.1 -all xyz");
	assert_int_equal(text_len, strlen(text));
	free(text);

	assert_int_equal(spf_select_record(rdata, lengths, 1, &text, &text_len, err, sizeof(err)),
			 0);
	assert_null(text);

	rdata[2] = second;
	lengths[2] = 1 + 17;
	assert_int_equal(spf_select_record(rdata, lengths, 3, &text, &text_len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "more than one v=spf1 record"));
	assert_null(text);

	rdata[0] = broken;
	lengths[0] = (int)sizeof(broken) - 1;
	assert_int_equal(spf_select_record(rdata, lengths, 1, &text, &text_len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "malformed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_tag),
	    cmocka_unit_test(test_networks_are_masked_with_default_lengths),
	    cmocka_unit_test(test_qualifiers),
	    cmocka_unit_test(test_a_and_mx_cidr_lengths),
	    cmocka_unit_test(test_redirect_only_without_all),
	    cmocka_unit_test(test_terms_after_all_are_not_reached_but_must_parse),
	    cmocka_unit_test(test_macros_are_marked_and_checked),
	    cmocka_unit_test(test_modifiers),
	    cmocka_unit_test(test_bad_records_are_refused),
	    cmocka_unit_test(test_domains),
	    cmocka_unit_test(test_select_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
