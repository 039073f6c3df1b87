// SPDX-License-Identifier: BSD-2-Clause
/*
 * Sender pools from SPF: RFC 7208 records expanded into networks through
 * libunbound. The header says what counts and which limits hold; this file
 * says how.
 */
#include "spf.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <unbound.h>

#define DNS_TYPE_A    1
#define DNS_TYPE_MX   15
#define DNS_TYPE_TXT  16
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN  1
#define DNS_NOERROR   0
#define DNS_NXDOMAIN  3

static void set_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- networks ---- */

static void mask_to_prefix(struct spf_cidr *cidr)
{
	unsigned bytes = cidr->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned first_bit = i * 8;

		if (first_bit >= cidr->prefix_len)
			cidr->addr[i] = 0;
		else if (cidr->prefix_len - first_bit < 8)
			cidr->addr[i] &= (uint8_t)(0xff << (8 - (cidr->prefix_len - first_bit)));
	}
	for (unsigned i = bytes; i < 16; i++)
		cidr->addr[i] = 0;
}

void spf_cidr_set_free(struct spf_cidr_set *set)
{
	free(set->cidrs);
	set->cidrs = NULL;
	set->count = set->capacity = 0;
}

char *spf_cidr_format(const struct spf_cidr *cidr, char *buf, size_t buflen)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(cidr->family, cidr->addr, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(buf, buflen, "%s/%u", text, cidr->prefix_len);
	return buf;
}

static int cidr_compare(const void *left, const void *right)
{
	const struct spf_cidr *a = left, *b = right;
	int by_address;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	by_address = memcmp(a->addr, b->addr, 16);
	if (by_address)
		return by_address;
	return (int)a->prefix_len - (int)b->prefix_len;
}

static bool cidr_contains(const struct spf_cidr *outer, const struct spf_cidr *inner)
{
	struct spf_cidr masked;

	if (outer->family != inner->family || outer->prefix_len > inner->prefix_len)
		return false;
	masked = *inner;
	masked.prefix_len = outer->prefix_len;
	mask_to_prefix(&masked);
	return memcmp(masked.addr, outer->addr, 16) == 0;
}

/*
 * Sort, then drop every network that an earlier kept one holds: sorted by
 * address and then by length, a holder comes before all it holds, and anything
 * between the two lies inside the holder too, so comparing with the last kept
 * one is enough.
 */
static void cidr_set_compact(struct spf_cidr_set *set)
{
	size_t kept = 0;

	if (set->count < 2)
		return;
	qsort(set->cidrs, set->count, sizeof(set->cidrs[0]), cidr_compare);
	for (size_t i = 0; i < set->count; i++) {
		if (kept && cidr_contains(&set->cidrs[kept - 1], &set->cidrs[i]))
			continue;
		set->cidrs[kept++] = set->cidrs[i];
	}
	set->count = kept;
}

/* 0, or -1 when the set would pass max_cidrs even after compacting, or on no memory. */
static int cidr_set_add(struct spf_cidr_set *set, const struct spf_cidr *cidr, size_t max_cidrs)
{
	if (set->count >= max_cidrs) {
		cidr_set_compact(set);
		if (set->count >= max_cidrs)
			return -1;
	}
	if (set->count == set->capacity) {
		size_t capacity = set->capacity ? set->capacity * 2 : 16;
		struct spf_cidr *grown;

		if (capacity > max_cidrs)
			capacity = max_cidrs;
		grown = realloc(set->cidrs, capacity * sizeof(*grown));
		if (!grown)
			return -1;
		set->cidrs = grown;
		set->capacity = capacity;
	}
	set->cidrs[set->count] = *cidr;
	mask_to_prefix(&set->cidrs[set->count]);
	set->count++;
	return 0;
}

/* ---- the record parser ---- */

bool spf_is_spf1(const char *text, size_t len)
{
	if (len < 6 || strncasecmp(text, "v=spf1", 6) != 0)
		return false;
	return len == 6 || text[6] == ' ';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

/* RFC 7208 7.1: a macro-literal is a visible character other than '%'. */
static bool is_macro_literal(char c)
{
	return c >= 0x21 && c <= 0x7e && c != '%';
}

/* "%{" macro-letter transformers *delimiter "}" starting at s[0] == '%'; its length or 0. */
static size_t macro_expand_length(const char *s, size_t len)
{
	size_t i;

	if (len < 4 || s[1] != '{' || !strchr("slodiphcrtvSLODIPHCRTV", s[2]) || s[2] == '\0')
		return 0;
	i = 3;
	while (i < len && is_digit(s[i]))
		i++;
	if (i < len && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < len && s[i] != '\0' && strchr(".-+,/_=", s[i]))
		i++;
	if (i >= len || s[i] != '}')
		return 0;
	return i + 1;
}

/*
 * Check a macro-string and expand the escapes that need no message ("%%",
 * "%_", "%-") into out (room for len * 3 / 2 + 1). Returns the expanded length,
 * or -1 on a syntax error. *has_macro says whether a "%{...}" was seen, which
 * is copied through unexpanded.
 */
static long macro_string_expand(const char *s, size_t len, char *out, bool *has_macro)
{
	size_t used = 0;

	*has_macro = false;
	for (size_t i = 0; i < len;) {
		if (s[i] != '%') {
			if (!is_macro_literal(s[i]))
				return -1;
			out[used++] = s[i++];
			continue;
		}
		if (i + 1 >= len)
			return -1;
		switch (s[i + 1]) {
		case '%':
			out[used++] = '%';
			i += 2;
			break;
		case '_':
			out[used++] = ' ';
			i += 2;
			break;
		case '-':
			memcpy(out + used, "%20", 3);
			used += 3;
			i += 2;
			break;
		case '{': {
			size_t macro_len = macro_expand_length(s + i, len - i);

			if (!macro_len)
				return -1;
			memcpy(out + used, s + i, macro_len);
			used += macro_len;
			i += macro_len;
			*has_macro = true;
			break;
		}
		default:
			return -1;
		}
	}
	out[used] = '\0';
	return (long)used;
}

/*
 * A domain-spec without macros must end in "." toplabel [ "." ] (RFC 7208 7.1)
 * and be a name DNS can carry: labels of 1 to 63 characters, 253 in all.
 */
static bool static_domain_is_valid(const char *domain)
{
	size_t len = strlen(domain);
	const char *label, *top;
	size_t top_len;
	bool top_has_alpha = false, top_has_hyphen = false;

	if (len && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return false;
	label = domain;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || domain[i] == '.') {
			size_t label_len = (size_t)(domain + i - label);

			if (label_len == 0 || label_len > 63)
				return false;
			label = domain + i + 1;
		}
	}
	top = memrchr(domain, '.', len);
	if (!top)
		return false; /* one label: "." toplabel is required */
	top++;
	top_len = (size_t)(domain + len - top);
	for (size_t i = 0; i < top_len; i++) {
		if (is_alpha(top[i]))
			top_has_alpha = true;
		else if (top[i] == '-')
			top_has_hyphen = true;
		else if (!is_digit(top[i]))
			return false;
	}
	if (top_has_hyphen)
		return is_alnum(top[0]) && is_alnum(top[top_len - 1]);
	return top_has_alpha;
}

/* Parse a domain-spec s[0..len) into the arena; NULL and err on a syntax error. */
static const char *parse_domain_spec(const char *s, size_t len, char **arena, bool *is_macro,
				     const char *term_name, char *err, size_t errlen)
{
	char *out = *arena;
	long expanded;

	if (len == 0) {
		set_error(err, errlen, "%s: empty domain", term_name);
		return NULL;
	}
	expanded = macro_string_expand(s, len, out, is_macro);
	if (expanded < 0) {
		set_error(err, errlen, "%s: bad character or macro in domain-spec", term_name);
		return NULL;
	}
	/* a macro's domain-end may be the macro itself; only a static name can be checked */
	if (!*is_macro && !static_domain_is_valid(out)) {
		set_error(err, errlen, "%s: not a domain name", term_name);
		return NULL;
	}
	*arena += expanded + 1;
	return out;
}

/* A cidr-length: "0" or digits without a leading zero, at most max. -1 if not. */
static int parse_prefix_length(const char *s, size_t len, unsigned max)
{
	unsigned value = 0;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		value = value * 10 + (unsigned)(s[i] - '0');
	}
	return value <= max ? (int)value : -1;
}

/*
 * Split a trailing dual-cidr-length ("/24", "//64", "/24//64") off an a or mx
 * argument, s[0..*len); shortens *len to what precedes it.
 */
static int split_dual_cidr(const char *s, size_t *len, uint8_t *cidr4, uint8_t *cidr6)
{
	const char *slash;
	size_t end = *len;
	int value;

	*cidr4 = 32;
	*cidr6 = 128;
	slash = memrchr(s, '/', end);
	if (!slash)
		return 0;
	if (slash > s && slash[-1] == '/') {
		value = parse_prefix_length(slash + 1, (size_t)(s + end - slash - 1), 128);
		if (value < 0)
			return -1;
		*cidr6 = (uint8_t)value;
		end = (size_t)(slash - 1 - s);
		slash = memrchr(s, '/', end);
		if (!slash)
			goto done;
	}
	value = parse_prefix_length(slash + 1, (size_t)(s + end - slash - 1), 32);
	if (value < 0)
		return -1;
	*cidr4 = (uint8_t)value;
	end = (size_t)(slash - s);
done:
	*len = end;
	return 0;
}

static int parse_ip_network(const char *s, size_t len, int family, struct spf_cidr *network)
{
	char text[INET6_ADDRSTRLEN + 1];
	const char *slash = memchr(s, '/', len);
	size_t address_len = slash ? (size_t)(slash - s) : len;
	unsigned max = family == AF_INET ? 32 : 128;
	int prefix = (int)max;

	if (address_len == 0 || address_len >= sizeof(text))
		return -1;
	memcpy(text, s, address_len);
	text[address_len] = '\0';
	memset(network, 0, sizeof(*network));
	if (inet_pton(family, text, network->addr) != 1)
		return -1;
	if (slash) {
		prefix = parse_prefix_length(slash + 1, len - address_len - 1, max);
		if (prefix < 0)
			return -1;
	}
	network->family = (uint8_t)family;
	network->prefix_len = (uint8_t)prefix;
	mask_to_prefix(network);
	return 0;
}

/* Indexed by enum spf_mechanism. */
static const struct {
	const char *name;
	bool queries_dns;
} mechanisms[] = {
    [SPF_MECH_ALL] = {"all", false}, [SPF_MECH_INCLUDE] = {"include", true},
    [SPF_MECH_A] = {"a", true},	     [SPF_MECH_MX] = {"mx", true},
    [SPF_MECH_PTR] = {"ptr", true},  [SPF_MECH_IP4] = {"ip4", false},
    [SPF_MECH_IP6] = {"ip6", false}, [SPF_MECH_EXISTS] = {"exists", true},
};

/* One modifier, name=value: redirect and exp once each, any other checked and ignored. */
static int parse_modifier(struct spf_record *record, const char *name, size_t name_len,
			  const char *value, size_t value_len, char **arena, bool *seen_exp,
			  char *err, size_t errlen)
{
	bool is_macro;

	if (name_len == 8 && strncasecmp(name, "redirect", 8) == 0) {
		if (record->redirect) {
			set_error(err, errlen, "redirect= appears twice");
			return -1;
		}
		record->redirect =
		    parse_domain_spec(value, value_len, arena, &is_macro, "redirect", err, errlen);
		if (!record->redirect)
			return -1;
		record->redirect_is_macro = is_macro;
		return 0;
	}
	if (name_len == 3 && strncasecmp(name, "exp", 3) == 0) {
		if (*seen_exp) {
			set_error(err, errlen, "exp= appears twice");
			return -1;
		}
		*seen_exp = true;
		/* the explanation only words a rejection: checked, then dropped */
		if (!parse_domain_spec(value, value_len, arena, &is_macro, "exp", err, errlen))
			return -1;
		return 0;
	}
	/* unknown modifiers are ignored (RFC 7208 6), but their value must still parse */
	if (macro_string_expand(value, value_len, *arena, &is_macro) < 0) {
		set_error(err, errlen, "modifier %.*s: bad character or macro", (int)name_len,
			  name);
		return -1;
	}
	return 0;
}

static int parse_mechanism(struct spf_term *term, const char *word, size_t word_len, char **arena,
			   char *err, size_t errlen)
{
	size_t name_len = 0, arg_len;
	const char *arg;
	bool found = false, is_macro = false;
	const char *name;

	while (name_len < word_len && word[name_len] != ':' && word[name_len] != '/')
		name_len++;
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++) {
		if (strlen(mechanisms[i].name) == name_len &&
		    strncasecmp(word, mechanisms[i].name, name_len) == 0) {
			term->mechanism = (enum spf_mechanism)i;
			found = true;
			break;
		}
	}
	if (!found) {
		set_error(err, errlen, "unknown mechanism '%.*s'",
			  (int)(name_len > 32 ? 32 : name_len), word);
		return -1;
	}
	name = mechanisms[term->mechanism].name;
	arg = word + name_len;
	arg_len = word_len - name_len;
	term->cidr4 = 32;
	term->cidr6 = 128;
	switch (term->mechanism) {
	case SPF_MECH_ALL:
		if (arg_len) {
			set_error(err, errlen, "all takes no argument");
			return -1;
		}
		return 0;
	case SPF_MECH_IP4:
	case SPF_MECH_IP6: {
		int family = term->mechanism == SPF_MECH_IP4 ? AF_INET : AF_INET6;

		if (arg_len < 2 || arg[0] != ':' ||
		    parse_ip_network(arg + 1, arg_len - 1, family, &term->network) < 0) {
			set_error(err, errlen, "%s: not a network", name);
			return -1;
		}
		return 0;
	}
	case SPF_MECH_A:
	case SPF_MECH_MX:
		if (split_dual_cidr(arg, &arg_len, &term->cidr4, &term->cidr6) < 0) {
			set_error(err, errlen, "%s: bad cidr-length", name);
			return -1;
		}
		break;
	default:
		break;
	}
	if (arg_len == 0) {
		if (term->mechanism == SPF_MECH_INCLUDE || term->mechanism == SPF_MECH_EXISTS) {
			set_error(err, errlen, "%s needs a domain", name);
			return -1;
		}
		return 0; /* a, mx, ptr: the current domain */
	}
	if (arg[0] != ':') {
		set_error(err, errlen, "%s: expected ':' before the domain", name);
		return -1;
	}
	term->domain = parse_domain_spec(arg + 1, arg_len - 1, arena, &is_macro, name, err, errlen);
	if (!term->domain)
		return -1;
	term->domain_is_macro = is_macro;
	return 0;
}

int spf_record_parse(const char *text, size_t len, struct spf_record *record, char *err,
		     size_t errlen)
{
	size_t capacity = 0, pos;
	char *arena;
	bool seen_exp = false;

	memset(record, 0, sizeof(*record));
	if (!spf_is_spf1(text, len)) {
		set_error(err, errlen, "not a v=spf1 record");
		return -1;
	}
	if (memchr(text, '\0', len)) {
		set_error(err, errlen, "NUL byte in the record");
		return -1;
	}
	/* every expanded domain-spec fits in 3/2 of its text, plus a NUL per term */
	record->text = malloc(len * 2 + 16);
	if (!record->text) {
		set_error(err, errlen, "out of memory");
		return -1;
	}
	arena = record->text;
	pos = 6;
	for (;;) {
		size_t start, word_len;
		const char *word;
		struct spf_term *term;

		while (pos < len && text[pos] == ' ')
			pos++;
		if (pos >= len)
			break;
		start = pos;
		while (pos < len && text[pos] != ' ')
			pos++;
		word = text + start;
		word_len = pos - start;

		/* a modifier: name "=" where name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
		if (is_alpha(word[0])) {
			size_t name_len = 1;

			while (name_len < word_len &&
			       (is_alnum(word[name_len]) || strchr("-_.", word[name_len])))
				name_len++;
			if (name_len < word_len && word[name_len] == '=') {
				if (parse_modifier(record, word, name_len, word + name_len + 1,
						   word_len - name_len - 1, &arena, &seen_exp, err,
						   errlen) < 0)
					goto fail;
				continue;
			}
		}
		if (record->term_count == capacity) {
			size_t grown_capacity = capacity ? capacity * 2 : 16;
			struct spf_term *grown =
			    realloc(record->terms, grown_capacity * sizeof(*grown));

			if (!grown) {
				set_error(err, errlen, "out of memory");
				goto fail;
			}
			record->terms = grown;
			capacity = grown_capacity;
		}
		term = &record->terms[record->term_count];
		memset(term, 0, sizeof(*term));
		term->qualifier = '+';
		if (strchr("+-~?", word[0])) {
			term->qualifier = word[0];
			word++;
			word_len--;
		}
		if (parse_mechanism(term, word, word_len, &arena, err, errlen) < 0)
			goto fail;
		/* evaluation stops at "all": later terms are checked for syntax only */
		if (!record->has_all) {
			record->term_count++;
			if (mechanisms[term->mechanism].queries_dns)
				record->dns_terms++;
		}
		if (term->mechanism == SPF_MECH_ALL)
			record->has_all = true;
	}
	/* RFC 7208 6.1: redirect is ignored when the record has "all" anywhere */
	if (record->has_all) {
		record->redirect = NULL;
		record->redirect_is_macro = false;
	}
	if (record->redirect)
		record->dns_terms++;
	return 0;
fail:
	spf_record_free(record);
	return -1;
}

void spf_record_free(struct spf_record *record)
{
	free(record->terms);
	free(record->text);
	memset(record, 0, sizeof(*record));
}

int spf_select_record(const uint8_t *const *rdata, const int *rdata_len, size_t count, char **text,
		      size_t *text_len, char *err, size_t errlen)
{
	char *found = NULL;
	size_t found_len = 0;

	*text = NULL;
	*text_len = 0;
	for (size_t i = 0; i < count; i++) {
		size_t len = rdata_len[i] > 0 ? (size_t)rdata_len[i] : 0, joined_len = 0;
		char *joined = malloc(len + 1);

		if (!joined) {
			set_error(err, errlen, "out of memory");
			goto fail;
		}
		for (size_t pos = 0; pos < len;) {
			size_t part = rdata[i][pos];

			if (pos + 1 + part > len) {
				free(joined);
				set_error(err, errlen, "malformed TXT record");
				goto fail;
			}
			memcpy(joined + joined_len, rdata[i] + pos + 1, part);
			joined_len += part;
			pos += 1 + part;
		}
		joined[joined_len] = '\0';
		if (!spf_is_spf1(joined, joined_len)) {
			free(joined);
			continue;
		}
		if (found) {
			free(joined);
			set_error(err, errlen, "more than one v=spf1 record");
			goto fail;
		}
		found = joined;
		found_len = joined_len;
	}
	*text = found;
	*text_len = found_len;
	return found ? 1 : 0;
fail:
	free(found);
	return -1;
}

/* ---- evaluation through DNS ---- */

struct spf_resolver {
	struct ub_ctx *ctx;
	struct spf_resolver_options options;
	char upstream[128];
	struct spf_eval *evals; /* running, for deadlines and freeing */
};

/* A record on the include path: what a new include or redirect must not repeat. */
struct spf_node {
	char domain[SPF_DOMAIN_MAX + 2];
	struct spf_node *parent;
	struct spf_node *next_owned;
};

/* The A and AAAA queries of one a term or one MX name: void only if neither answers. */
struct spf_address_group {
	unsigned remaining;
	bool answered;
	bool counts_as_void; /* an a term; not the addresses of one MX name */
	char name[SPF_DOMAIN_MAX + 2];
};

enum query_kind {
	QUERY_RECORD,  /* TXT of the target, an include or a redirect */
	QUERY_ADDRESS, /* A or AAAA of an a term or of an MX name */
	QUERY_MX,
};

struct spf_query {
	struct spf_eval *eval;
	enum query_kind kind;
	int rrtype;
	int async_id;
	struct spf_node *node;		 /* QUERY_RECORD: the record's place on the path */
	bool is_redirect;		 /* QUERY_RECORD */
	struct spf_address_group *group; /* QUERY_ADDRESS */
	uint8_t cidr4, cidr6;		 /* QUERY_ADDRESS, QUERY_MX */
	char name[SPF_DOMAIN_MAX + 2];
	struct spf_query *prev, *next;
};

struct spf_eval {
	struct spf_resolver *resolver;
	char target[SPF_DOMAIN_MAX + 2];
	spf_done_fn done;
	void *arg;
	struct spf_result result;
	bool failed;
	unsigned handler_depth; /* inside our own code: finishing must wait */
	uint64_t started_us, deadline_us;
	uint32_t min_ttl;
	bool ttl_seen;
	struct spf_query *queries; /* in flight */
	unsigned in_flight;
	struct spf_node *nodes;
	struct spf_eval *prev, *next;
};

static void eval_fail(struct spf_eval *eval, enum spf_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void query_unlink(struct spf_query *query)
{
	struct spf_eval *eval = query->eval;

	if (query->prev)
		query->prev->next = query->next;
	else
		eval->queries = query->next;
	if (query->next)
		query->next->prev = query->prev;
	eval->in_flight--;
}

static void group_release(struct spf_address_group *group)
{
	if (group && --group->remaining == 0)
		free(group);
}

static void query_free(struct spf_query *query)
{
	if (query->kind == QUERY_ADDRESS)
		group_release(query->group);
	free(query);
}

static void cancel_queries(struct spf_eval *eval)
{
	while (eval->queries) {
		struct spf_query *query = eval->queries;

		ub_cancel(eval->resolver->ctx, query->async_id);
		query_unlink(query);
		query_free(query);
	}
}

static void eval_fail(struct spf_eval *eval, enum spf_status status, const char *fmt, ...)
{
	va_list ap;

	if (eval->failed)
		return; /* the first reason is the one worth reading */
	eval->failed = true;
	eval->result.status = status;
	va_start(ap, fmt);
	vsnprintf(eval->result.error, sizeof(eval->result.error), fmt, ap);
	va_end(ap);
	/* nothing more can change the outcome: stop asking */
	cancel_queries(eval);
}

static void eval_unlink(struct spf_eval *eval)
{
	struct spf_resolver *resolver = eval->resolver;

	if (eval->prev)
		eval->prev->next = eval->next;
	else
		resolver->evals = eval->next;
	if (eval->next)
		eval->next->prev = eval->prev;
}

static void eval_free(struct spf_eval *eval)
{
	cancel_queries(eval);
	while (eval->nodes) {
		struct spf_node *node = eval->nodes;

		eval->nodes = node->next_owned;
		free(node);
	}
	spf_result_free(&eval->result);
	free(eval);
}

static uint32_t clamp_ttl(const struct spf_resolver *resolver, uint32_t ttl)
{
	if (ttl < resolver->options.ttl_floor)
		return resolver->options.ttl_floor;
	if (ttl > resolver->options.ttl_cap)
		return resolver->options.ttl_cap;
	return ttl;
}

/* When nothing is in flight and no handler of ours is on the stack: hand the result over. */
static void eval_maybe_finish(struct spf_eval *eval)
{
	struct spf_result *result = &eval->result;

	if (eval->in_flight || eval->handler_depth)
		return;
	eval_unlink(eval);
	if (!eval->failed) {
		cidr_set_compact(&result->set);
		result->status = SPF_OK;
	} else {
		spf_cidr_set_free(&result->set);
	}
	result->min_ttl_seen = eval->ttl_seen ? eval->min_ttl : 0;
	/* answers that all came with TTL 0 ask to be asked again soon: the floor */
	result->ttl = clamp_ttl(eval->resolver, eval->ttl_seen ? eval->min_ttl : 0);
	result->elapsed_us = monotonic_us() - eval->started_us;
	if (eval->done)
		eval->done(eval->target, result, eval->arg);
	eval_free(eval);
}

static void note_ttl(struct spf_eval *eval, int ttl)
{
	if (ttl <= 0)
		return;
	if (!eval->ttl_seen || (uint32_t)ttl < eval->min_ttl)
		eval->min_ttl = (uint32_t)ttl;
	eval->ttl_seen = true;
}

static void on_answer(void *arg, int err, struct ub_result *answer);

/* Send one query; on failure the evaluation fails. */
static struct spf_query *send_query(struct spf_eval *eval, enum query_kind kind, const char *name,
				    int rrtype)
{
	struct spf_query *query;
	int rc;

	if (eval->failed)
		return NULL;
	query = calloc(1, sizeof(*query));
	if (!query) {
		eval_fail(eval, SPF_TEMPERROR, "out of memory");
		return NULL;
	}
	query->eval = eval;
	query->kind = kind;
	query->rrtype = rrtype;
	snprintf(query->name, sizeof(query->name), "%s", name);
	rc = ub_resolve_async(eval->resolver->ctx, query->name, rrtype, DNS_CLASS_IN, query,
			      on_answer, &query->async_id);
	if (rc != 0) {
		free(query);
		/* a name libunbound cannot even parse will not parse next time either */
		eval_fail(eval, rc == UB_SYNTAX ? SPF_PERMERROR : SPF_TEMPERROR,
			  "cannot send a DNS query for %s: %s", name, ub_strerror(rc));
		return NULL;
	}
	query->next = eval->queries;
	if (eval->queries)
		eval->queries->prev = query;
	eval->queries = query;
	eval->in_flight++;
	eval->result.stats.queries++;
	return query;
}

static bool count_dns_terms(struct spf_eval *eval, unsigned terms, const char *domain)
{
	eval->result.stats.dns_terms += terms;
	if (eval->result.stats.dns_terms > SPF_MAX_DNS_TERMS) {
		eval_fail(eval, SPF_PERMERROR,
			  "more than %d DNS-querying terms (include, a, mx, ptr, exists, redirect) "
			  "by the record of %s (RFC 7208 4.6.4)",
			  SPF_MAX_DNS_TERMS, domain);
		return false;
	}
	return true;
}

static void count_void(struct spf_eval *eval, const char *what, const char *name)
{
	if (++eval->result.stats.void_lookups > SPF_MAX_VOID_LOOKUPS)
		eval_fail(eval, SPF_PERMERROR,
			  "more than %d void lookups: %s %s has no answer (RFC 7208 4.6.4)",
			  SPF_MAX_VOID_LOOKUPS, what, name);
}

/* An include or redirect of domain below node: a new record on the path, unless it loops. */
static void follow_record(struct spf_eval *eval, struct spf_node *parent, const char *domain,
			  bool is_redirect)
{
	size_t len = strlen(domain);
	struct spf_node *node;
	struct spf_query *query;

	if (len && domain[len - 1] == '.')
		len--;
	for (node = parent; node; node = node->parent) {
		if (strlen(node->domain) == len && strncasecmp(node->domain, domain, len) == 0)
			break;
	}
	if (node) {
		/* name the path from the repeated record down to the repeat */
		const struct spf_node *path[SPF_MAX_DNS_TERMS + 2];
		size_t depth = 0;
		char text[1024];
		size_t used = 0;

		for (struct spf_node *step = parent; step && depth < SPF_MAX_DNS_TERMS + 2;
		     step = step->parent) {
			path[depth++] = step;
			if (step == node)
				break;
		}
		text[0] = '\0';
		while (depth-- > 0 && used < sizeof(text)) {
			used += (size_t)snprintf(
			    text + used, sizeof(text) - used, "%s %s ", path[depth]->domain,
			    depth == 0 && is_redirect ? "redirects to" : "includes");
		}
		eval_fail(eval, SPF_PERMERROR, "%s loop: %s%.*s (RFC 7208 5.2)",
			  is_redirect ? "redirect" : "include", text, (int)len, domain);
		return;
	}
	node = calloc(1, sizeof(*node));
	if (!node) {
		eval_fail(eval, SPF_TEMPERROR, "out of memory");
		return;
	}
	snprintf(node->domain, sizeof(node->domain), "%.*s", (int)len, domain);
	node->parent = parent;
	node->next_owned = eval->nodes;
	eval->nodes = node;
	query = send_query(eval, QUERY_RECORD, node->domain, DNS_TYPE_TXT);
	if (query) {
		query->node = node;
		query->is_redirect = is_redirect;
	}
}

static void lookup_addresses(struct spf_eval *eval, const char *name, uint8_t cidr4, uint8_t cidr6,
			     bool counts_as_void)
{
	static const int types[2] = {DNS_TYPE_A, DNS_TYPE_AAAA};
	struct spf_address_group *group = calloc(1, sizeof(*group));

	if (!group) {
		eval_fail(eval, SPF_TEMPERROR, "out of memory");
		return;
	}
	group->counts_as_void = counts_as_void;
	snprintf(group->name, sizeof(group->name), "%s", name);
	/* one reference for this function, so that an early failure cannot free it under us */
	group->remaining = 1;
	for (int i = 0; i < 2; i++) {
		struct spf_query *query = send_query(eval, QUERY_ADDRESS, name, types[i]);

		if (!query)
			break;
		group->remaining++;
		query->group = group;
		query->cidr4 = cidr4;
		query->cidr6 = cidr6;
	}
	group_release(group);
}

static void add_network(struct spf_eval *eval, const struct spf_cidr *network)
{
	const struct spf_resolver_options *options = &eval->resolver->options;
	uint8_t min_prefix =
	    network->family == AF_INET ? options->min_prefix_v4 : options->min_prefix_v6;

	if (eval->failed)
		return;
	if (network->prefix_len < min_prefix) {
		eval->result.stats.too_wide++;
		return;
	}
	if (cidr_set_add(&eval->result.set, network, eval->resolver->options.max_cidrs) < 0)
		eval_fail(eval, SPF_PERMERROR, "more than %zu networks: the cap for one target",
			  eval->resolver->options.max_cidrs);
}

/* The terms of one record found at node. */
static void expand_record(struct spf_eval *eval, struct spf_node *node,
			  const struct spf_record *record)
{
	if (!count_dns_terms(eval, record->dns_terms, node->domain))
		return;
	for (size_t i = 0; i < record->term_count && !eval->failed; i++) {
		const struct spf_term *term = &record->terms[i];
		const char *domain = term->domain ? term->domain : node->domain;

		if (term->mechanism == SPF_MECH_EXISTS || term->mechanism == SPF_MECH_PTR) {
			eval->result.stats.unexpandable_terms++;
			continue;
		}
		if (term->domain_is_macro) {
			eval->result.stats.macro_terms++;
			continue;
		}
		/* only pass terms authorise: the others cost their lookup in the count above */
		if (term->qualifier != '+')
			continue;
		switch (term->mechanism) {
		case SPF_MECH_IP4:
		case SPF_MECH_IP6:
			add_network(eval, &term->network);
			break;
		case SPF_MECH_A:
			lookup_addresses(eval, domain, term->cidr4, term->cidr6, true);
			break;
		case SPF_MECH_MX: {
			struct spf_query *query = send_query(eval, QUERY_MX, domain, DNS_TYPE_MX);

			if (query) {
				query->cidr4 = term->cidr4;
				query->cidr6 = term->cidr6;
			}
			break;
		}
		case SPF_MECH_INCLUDE:
			follow_record(eval, node, domain, false);
			break;
		default:
			break;
		}
	}
	if (eval->failed || !record->redirect)
		return;
	if (record->redirect_is_macro)
		eval->result.stats.macro_terms++;
	else
		follow_record(eval, node, record->redirect, true);
}

static size_t answer_count(const struct ub_result *answer)
{
	size_t count = 0;

	while (answer->data && answer->data[count])
		count++;
	return count;
}

static void on_record(struct spf_eval *eval, struct spf_query *query, struct ub_result *answer)
{
	struct spf_node *node = query->node;
	const char *role = !node->parent ? "target" : query->is_redirect ? "redirect" : "include";
	char error[SPF_ERROR_MAX];
	struct spf_record record;
	char *text;
	size_t text_len;
	int found;

	note_ttl(eval, answer->ttl);
	if (!answer->havedata) {
		/* RFC 7208 5.2, 6.1: an include or redirect without a record is a permerror */
		if (node->parent)
			count_void(eval, role, node->domain);
		eval_fail(eval, SPF_PERMERROR, "%s %s: %s", role, node->domain,
			  answer->nxdomain ? "no such domain" : "no TXT record");
		return;
	}
	found = spf_select_record((const uint8_t *const *)answer->data, answer->len,
				  answer_count(answer), &text, &text_len, error, sizeof(error));
	if (found < 0) {
		eval_fail(eval, SPF_PERMERROR, "%s %s: %s (RFC 7208 4.5)", role, node->domain,
			  error);
		return;
	}
	if (found == 0) {
		eval_fail(eval, SPF_PERMERROR, "%s %s: no v=spf1 record", role, node->domain);
		return;
	}
	eval->result.stats.records++;
	if (spf_record_parse(text, text_len, &record, error, sizeof(error)) < 0) {
		eval_fail(eval, SPF_PERMERROR, "%s %s: %s", role, node->domain, error);
	} else {
		expand_record(eval, node, &record);
		spf_record_free(&record);
	}
	free(text);
}

static void on_addresses(struct spf_eval *eval, struct spf_query *query, struct ub_result *answer)
{
	struct spf_address_group *group = query->group;
	size_t count = answer_count(answer);

	note_ttl(eval, answer->ttl);
	for (size_t i = 0; i < count && !eval->failed; i++) {
		struct spf_cidr network = {0};

		if (query->rrtype == DNS_TYPE_A && answer->len[i] == 4) {
			network.family = AF_INET;
			network.prefix_len = query->cidr4;
			memcpy(network.addr, answer->data[i], 4);
		} else if (query->rrtype == DNS_TYPE_AAAA && answer->len[i] == 16) {
			network.family = AF_INET6;
			network.prefix_len = query->cidr6;
			memcpy(network.addr, answer->data[i], 16);
		} else {
			continue;
		}
		group->answered = true;
		add_network(eval, &network);
	}
	/* the last of the pair (its reference not yet dropped) decides whether the term was void */
	if (group->remaining == 1 && group->counts_as_void && !group->answered && !eval->failed)
		count_void(eval, "a", group->name);
}

/* An MX rdata's exchange name (uncompressed wire format) as text; false if unusable. */
static bool mx_exchange_name(const uint8_t *rdata, int rdata_len, char *name, size_t namelen)
{
	size_t pos = 2, used = 0;

	if (rdata_len < 3)
		return false;
	while (pos < (size_t)rdata_len) {
		size_t label = rdata[pos++];

		if (label == 0)
			break;
		/* a compression pointer or a label running off the end */
		if (label > 63 || pos + label > (size_t)rdata_len || used + label + 2 > namelen)
			return false;
		for (size_t i = 0; i < label; i++) {
			char c = (char)rdata[pos + i];

			/* a name we could not hand back to the resolver as text */
			if (!is_alnum(c) && c != '-' && c != '_')
				return false;
			name[used++] = c;
		}
		name[used++] = '.';
		pos += label;
	}
	name[used] = '\0';
	return true;
}

static void on_mx(struct spf_eval *eval, struct spf_query *query, struct ub_result *answer)
{
	size_t count = answer_count(answer);

	note_ttl(eval, answer->ttl);
	if (!answer->havedata) {
		count_void(eval, "mx", query->name);
		return;
	}
	if (count > SPF_MAX_MX_NAMES) {
		eval_fail(eval, SPF_PERMERROR, "mx %s: %zu MX names, more than %d (RFC 7208 4.6.4)",
			  query->name, count, SPF_MAX_MX_NAMES);
		return;
	}
	for (size_t i = 0; i < count && !eval->failed; i++) {
		char exchange[SPF_DOMAIN_MAX + 3];

		/* "." is a null MX (RFC 7505): the domain sends no mail through it */
		if (!mx_exchange_name((const uint8_t *)answer->data[i], answer->len[i], exchange,
				      sizeof(exchange)) ||
		    exchange[0] == '\0')
			continue;
		lookup_addresses(eval, exchange, query->cidr4, query->cidr6, false);
	}
}

static const char *type_name(int rrtype)
{
	switch (rrtype) {
	case DNS_TYPE_A:
		return "A";
	case DNS_TYPE_AAAA:
		return "AAAA";
	case DNS_TYPE_MX:
		return "MX";
	default:
		return "TXT";
	}
}

static void on_answer(void *arg, int err, struct ub_result *answer)
{
	struct spf_query *query = arg;
	struct spf_eval *eval = query->eval;

	query_unlink(query);
	eval->handler_depth++;
	if (err) {
		eval_fail(eval, SPF_TEMPERROR, "%s %s: %s", type_name(query->rrtype), query->name,
			  ub_strerror(err));
	} else if (answer->rcode != DNS_NOERROR && answer->rcode != DNS_NXDOMAIN) {
		/* SERVFAIL, REFUSED: the upstream could not say; the next refresh may */
		eval_fail(eval, SPF_TEMPERROR, "%s %s: DNS error (rcode %d)",
			  type_name(query->rrtype), query->name, answer->rcode);
	} else if (!eval->failed) {
		switch (query->kind) {
		case QUERY_RECORD:
			on_record(eval, query, answer);
			break;
		case QUERY_ADDRESS:
			on_addresses(eval, query, answer);
			break;
		case QUERY_MX:
			on_mx(eval, query, answer);
			break;
		}
	}
	if (answer)
		ub_resolve_free(answer);
	query_free(query);
	eval->handler_depth--;
	eval_maybe_finish(eval);
}

struct spf_resolver *spf_resolver_new(const struct spf_resolver_options *options, char *err,
				      size_t errlen)
{
	struct spf_resolver *resolver = calloc(1, sizeof(*resolver));
	int rc;

	if (!resolver) {
		set_error(err, errlen, "out of memory");
		return NULL;
	}
	if (options)
		resolver->options = *options;
	if (!resolver->options.ttl_floor)
		resolver->options.ttl_floor = SPF_DEFAULT_TTL_FLOOR;
	if (!resolver->options.ttl_cap)
		resolver->options.ttl_cap = SPF_DEFAULT_TTL_CAP;
	if (resolver->options.ttl_cap < resolver->options.ttl_floor)
		resolver->options.ttl_cap = resolver->options.ttl_floor;
	if (!resolver->options.max_cidrs)
		resolver->options.max_cidrs = SPF_DEFAULT_MAX_CIDRS;
	if (!resolver->options.timeout_ms)
		resolver->options.timeout_ms = SPF_DEFAULT_TIMEOUT_MS;
	if (!resolver->options.min_prefix_v4)
		resolver->options.min_prefix_v4 = SPF_DEFAULT_MIN_PREFIX_V4;
	if (!resolver->options.min_prefix_v6)
		resolver->options.min_prefix_v6 = SPF_DEFAULT_MIN_PREFIX_V6;
	resolver->ctx = ub_ctx_create();
	if (!resolver->ctx) {
		set_error(err, errlen, "libunbound: cannot create a context");
		free(resolver);
		return NULL;
	}
	/*
	 * A thread rather than libunbound's default forked process: greywalld
	 * drops privileges and keeps its memory small, and a thread shares both.
	 */
	rc = ub_ctx_async(resolver->ctx, 1);
	if (rc == 0 && resolver->options.upstream) {
		snprintf(resolver->upstream, sizeof(resolver->upstream), "%s",
			 resolver->options.upstream);
		resolver->options.upstream = resolver->upstream;
		rc = ub_ctx_set_fwd(resolver->ctx, resolver->upstream);
	} else if (rc == 0) {
		rc = ub_ctx_resolvconf(resolver->ctx, NULL);
	}
	if (rc != 0) {
		set_error(err, errlen, "libunbound: %s%s%s: %s",
			  resolver->options.upstream ? "upstream " : "resolv.conf",
			  resolver->options.upstream ? resolver->options.upstream : "",
			  rc == UB_SYNTAX ? " (expected IP or IP@PORT)" : "", ub_strerror(rc));
		ub_ctx_delete(resolver->ctx);
		free(resolver);
		return NULL;
	}
	return resolver;
}

void spf_resolver_free(struct spf_resolver *resolver)
{
	if (!resolver)
		return;
	while (resolver->evals) {
		struct spf_eval *eval = resolver->evals;

		eval_unlink(eval);
		eval_free(eval);
	}
	ub_ctx_delete(resolver->ctx);
	free(resolver);
}

int spf_resolver_fd(const struct spf_resolver *resolver)
{
	return ub_fd(resolver->ctx);
}

int spf_resolver_timeout_ms(const struct spf_resolver *resolver)
{
	uint64_t now = monotonic_us(), earliest = UINT64_MAX;

	for (const struct spf_eval *eval = resolver->evals; eval; eval = eval->next) {
		if (eval->deadline_us < earliest)
			earliest = eval->deadline_us;
	}
	if (earliest == UINT64_MAX)
		return -1;
	if (earliest <= now)
		return 0;
	/* round up, so that a poll that waits this long finds the deadline passed */
	return (int)((earliest - now + 999) / 1000);
}

int spf_resolver_process(struct spf_resolver *resolver)
{
	int rc = 0;
	uint64_t now;
	struct spf_eval *eval, *next;

	if (ub_poll(resolver->ctx) && ub_process(resolver->ctx) != 0)
		rc = -1;
	now = monotonic_us();
	for (eval = resolver->evals; eval; eval = next) {
		next = eval->next;
		if (eval->deadline_us > now)
			continue;
		eval_fail(eval, SPF_TEMPERROR, "no answer within %u ms (is the DNS server up?)",
			  resolver->options.timeout_ms);
		/* its callback may start another evaluation: walk again from the start */
		eval_maybe_finish(eval);
		next = resolver->evals;
		now = monotonic_us();
	}
	return rc;
}

struct spf_eval *spf_eval_start(struct spf_resolver *resolver, const char *target, spf_done_fn done,
				void *arg, char *err, size_t errlen)
{
	struct spf_eval *eval;
	struct spf_node *node;
	size_t len = strlen(target);
	char checked[SPF_DOMAIN_MAX + 2];

	if (len && target[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX || memchr(target, '%', len)) {
		set_error(err, errlen, "%s: not a domain name", target);
		return NULL;
	}
	snprintf(checked, sizeof(checked), "%.*s", (int)len, target);
	if (!static_domain_is_valid(checked)) {
		set_error(err, errlen, "%s: not a domain name", target);
		return NULL;
	}
	eval = calloc(1, sizeof(*eval));
	node = calloc(1, sizeof(*node));
	if (!eval || !node) {
		free(eval);
		free(node);
		set_error(err, errlen, "out of memory");
		return NULL;
	}
	eval->resolver = resolver;
	snprintf(eval->target, sizeof(eval->target), "%s", checked);
	snprintf(node->domain, sizeof(node->domain), "%s", checked);
	eval->nodes = node;
	eval->done = done;
	eval->arg = arg;
	eval->started_us = monotonic_us();
	eval->deadline_us = eval->started_us + (uint64_t)resolver->options.timeout_ms * 1000u;
	eval->next = resolver->evals;
	if (resolver->evals)
		resolver->evals->prev = eval;
	resolver->evals = eval;

	/* a failure to send still ends through the callback, from spf_resolver_process */
	eval->handler_depth++;
	{
		struct spf_query *query =
		    send_query(eval, QUERY_RECORD, node->domain, DNS_TYPE_TXT);

		if (query)
			query->node = node;
	}
	eval->handler_depth--;
	if (eval->failed)
		eval->deadline_us = 0; /* due at once: the next process call finishes it */
	return eval;
}

void spf_eval_cancel(struct spf_eval *eval)
{
	if (!eval)
		return;
	eval_unlink(eval);
	eval_free(eval);
}

void spf_result_free(struct spf_result *result)
{
	spf_cidr_set_free(&result->set);
}

struct sync_wait {
	bool done;
	struct spf_result *result;
};

static void sync_done(const char *target, struct spf_result *result, void *arg)
{
	struct sync_wait *wait = arg;

	(void)target;
	*wait->result = *result;
	memset(&result->set, 0, sizeof(result->set)); /* moved */
	wait->done = true;
}

void spf_resolve_sync(struct spf_resolver *resolver, const char *target, struct spf_result *result)
{
	struct sync_wait wait = {.result = result};
	char error[SPF_ERROR_MAX];

	memset(result, 0, sizeof(*result));
	if (!spf_eval_start(resolver, target, sync_done, &wait, error, sizeof(error))) {
		result->status = SPF_PERMERROR;
		snprintf(result->error, sizeof(result->error), "%s", error);
		return;
	}
	while (!wait.done) {
		struct pollfd pfd = {.fd = spf_resolver_fd(resolver), .events = POLLIN};

		/* even a failed poll goes on: the deadline ends the evaluation */
		(void)poll(&pfd, 1, spf_resolver_timeout_ms(resolver));
		spf_resolver_process(resolver);
	}
}

/* ---- a target and its last good set ---- */

struct spf_target {
	struct spf_resolver *resolver;
	char domain[SPF_DOMAIN_MAX + 2];
	spf_target_fn done;
	void *arg;
	struct spf_eval *running;
	struct spf_cidr_set set;
	uint32_t set_ttl;
	enum spf_status status;
	char error[SPF_ERROR_MAX];
	struct spf_stats stats;
	int64_t last_success, last_attempt;
};

static int64_t realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static void target_done(const char *domain, struct spf_result *result, void *arg)
{
	struct spf_target *target = arg;

	(void)domain;
	target->running = NULL;
	target->status = result->status;
	target->stats = result->stats;
	target->last_attempt = realtime_s();
	if (result->status == SPF_OK) {
		spf_cidr_set_free(&target->set);
		target->set = result->set;
		memset(&result->set, 0, sizeof(result->set)); /* moved */
		target->set_ttl = result->ttl;
		target->error[0] = '\0';
		target->last_success = target->last_attempt;
	} else {
		/* the last good set stays: a sender's pool must not vanish with its DNS */
		snprintf(target->error, sizeof(target->error), "%s", result->error);
	}
	if (target->done)
		target->done(target, target->arg);
}

struct spf_target *spf_target_new(struct spf_resolver *resolver, const char *domain,
				  spf_target_fn done, void *arg)
{
	struct spf_target *target = calloc(1, sizeof(*target));

	if (!target)
		return NULL;
	target->resolver = resolver;
	snprintf(target->domain, sizeof(target->domain), "%s", domain);
	target->done = done;
	target->arg = arg;
	return target;
}

void spf_target_free(struct spf_target *target)
{
	if (!target)
		return;
	spf_eval_cancel(target->running);
	spf_cidr_set_free(&target->set);
	free(target);
}

int spf_target_refresh(struct spf_target *target)
{
	char error[SPF_ERROR_MAX];

	if (target->running)
		return -1;
	target->running = spf_eval_start(target->resolver, target->domain, target_done, target,
					 error, sizeof(error));
	if (!target->running) {
		target->status = SPF_PERMERROR;
		snprintf(target->error, sizeof(target->error), "%s", error);
		target->last_attempt = realtime_s();
		return -1;
	}
	return 0;
}

bool spf_target_busy(const struct spf_target *target)
{
	return target->running != NULL;
}

const char *spf_target_domain(const struct spf_target *target)
{
	return target->domain;
}

const struct spf_cidr_set *spf_target_set(const struct spf_target *target)
{
	return &target->set;
}

const char *spf_target_error(const struct spf_target *target)
{
	return target->error[0] ? target->error : NULL;
}

enum spf_status spf_target_status(const struct spf_target *target)
{
	return target->status;
}

const struct spf_stats *spf_target_stats(const struct spf_target *target)
{
	return &target->stats;
}

uint32_t spf_target_refresh_after(const struct spf_target *target)
{
	if (target->status == SPF_OK && target->last_success)
		return target->set_ttl;
	return target->resolver->options.ttl_floor;
}

int64_t spf_target_last_success(const struct spf_target *target)
{
	return target->last_success;
}

int64_t spf_target_last_attempt(const struct spf_target *target)
{
	return target->last_attempt;
}
