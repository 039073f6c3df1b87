// SPDX-License-Identifier: BSD-2-Clause
/*
 * The SPF record parser on any bytes: as a record's text (with and without a
 * "v=spf1 " put in front, so that most inputs reach the terms), and as a
 * name's TXT rdata from which spf_select_record picks the record. Invariants:
 * a refusal says why; an accepted record's terms are what their mechanisms
 * allow (lengths in range, networks masked, a domain where one is required),
 * and nothing past "all" is reached.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "spf.h"

static void check_network(const struct spf_cidr *network)
{
	struct spf_cidr masked = *network;
	char text[SPF_CIDR_STRLEN];
	unsigned max = network->family == AF_INET ? 32 : 128;

	assert(network->family == AF_INET || network->family == AF_INET6);
	assert(network->prefix_len <= max);
	/* every bit past the prefix is clear */
	for (unsigned bit = network->prefix_len; bit < 128; bit++)
		assert(!(masked.addr[bit / 8] & (0x80 >> (bit % 8))));
	spf_cidr_format(network, text, sizeof(text));
	assert(strlen(text) < sizeof(text) - 1);
}

static void parse_and_check(const char *text, size_t len)
{
	struct spf_record record;
	char err[SPF_ERROR_MAX] = "";
	unsigned dns_terms = 0;

	if (spf_record_parse(text, len, &record, err, sizeof(err)) < 0) {
		assert(err[0] != '\0');
		assert(record.terms == NULL && record.text == NULL);
		return;
	}
	for (size_t i = 0; i < record.term_count; i++) {
		const struct spf_term *term = &record.terms[i];

		assert(strchr("+-~?", term->qualifier) && term->qualifier);
		assert(term->cidr4 <= 32 && term->cidr6 <= 128);
		/* only the last reached term may be "all" */
		assert(term->mechanism != SPF_MECH_ALL || i == record.term_count - 1);
		switch (term->mechanism) {
		case SPF_MECH_IP4:
		case SPF_MECH_IP6:
			check_network(&term->network);
			assert(term->network.family ==
			       (term->mechanism == SPF_MECH_IP4 ? AF_INET : AF_INET6));
			break;
		case SPF_MECH_INCLUDE:
		case SPF_MECH_EXISTS:
			assert(term->domain);
			/* fall through */
		case SPF_MECH_A:
		case SPF_MECH_MX:
		case SPF_MECH_PTR:
			dns_terms++;
			break;
		default:
			break;
		}
		if (term->domain) {
			assert(term->domain[0] != '\0');
			assert(strlen(term->domain) <= len * 3 / 2);
			if (!term->domain_is_macro)
				assert(strlen(term->domain) <= SPF_DOMAIN_MAX + 1);
		}
	}
	if (record.has_all)
		assert(record.redirect == NULL);
	if (record.redirect)
		dns_terms++;
	assert(dns_terms == record.dns_terms);
	spf_record_free(&record);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *rdata[4];
	int rdata_len[4];
	size_t count = 0, pos = 1, text_len;
	char *text, err[SPF_ERROR_MAX];
	int found;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		parse_and_check((const char *)data + 1, size - 1);
		return 0;
	case 1:
		text = malloc(size + 7);
		memcpy(text, "v=spf1 ", 7);
		memcpy(text + 7, data + 1, size - 1);
		parse_and_check(text, size + 6);
		free(text);
		return 0;
	default:
		break;
	}
	/* up to 4 rdatas, each a length byte and that many bytes (cut short at the end) */
	while (pos < size && count < 4) {
		size_t len = data[pos++];

		if (len > size - pos)
			len = size - pos;
		rdata[count] = data + pos;
		rdata_len[count++] = (int)len;
		pos += len;
	}
	found = spf_select_record(rdata, rdata_len, count, &text, &text_len, err, sizeof(err));
	if (found == 1) {
		assert(spf_is_spf1(text, text_len));
		assert(text[text_len] == '\0');
		parse_and_check(text, text_len);
		free(text);
	} else {
		assert(text == NULL);
	}
	return 0;
}
