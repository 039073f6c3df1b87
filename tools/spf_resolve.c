// SPDX-License-Identifier: BSD-2-Clause
/*
 * greywall-spf: print the networks that SPF targets authorise, as pools-file
 * lines "NAME CIDR", through greywalld's own SPF module (control/spf.c).
 */
#include <ctype.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/lists.h"
#include "spf.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: greywall-spf [OPTIONS] [NAME=]TARGET...\n"
	    "\n"
	    "Resolves the SPF record (RFC 7208) of each TARGET, a domain such as outlook.com\n"
	    "or an include target such as _spf.google.com, and prints the IPv4 and IPv6\n"
	    "networks it authorises, one \"NAME CIDR\" line each, in the pools-file format.\n"
	    "NAME is the pool's name; without NAME= it is TARGET. A TARGET may be written\n"
	    "spf:DOMAIN, as a configuration names an SPF source. The targets are resolved\n"
	    "concurrently and printed in the order given, each set sorted, without\n"
	    "duplicates or networks that another of its networks holds. A network that an\n"
	    "earlier target printed is left to that pool (with a note on standard error):\n"
	    "the pools file takes a network in one pool only. NAME is 1 to 64 letters,\n"
	    "digits or '.', '_', ':', '-', as the pools file wants.\n"
	    "\n"
	    "Only pass mechanisms ('+', the default) add networks: ip4, ip6, a, mx (with\n"
	    "their cidr-lengths), include, and redirect when the record has no \"all\".\n"
	    "'-', '~' and '?' terms authorise no sender. exists, ptr and terms with a macro\n"
	    "(\"%%{...}\") cannot be expanded without a message and are skipped (--stats\n"
	    "counts them). A network wider than /8 (IPv4) or /16 (IPv6) is dropped and\n"
	    "counted: it would make a pool of a large part of the Internet.\n"
	    "\n"
	    "A target fails, printing nothing, on RFC 7208's limits (more than 10\n"
	    "DNS-querying terms, more than 2 void lookups, more than 10 MX names for one mx),\n"
	    "an include or redirect loop, more than one v=spf1 record, a syntax error, more\n"
	    "than --max-cidrs networks, or a DNS failure or timeout.\n"
	    "\n"
	    "Options:\n"
	    "  -s, --server IP[@PORT]  send every query to this DNS server (default: the\n"
	    "                          nameservers of /etc/resolv.conf)\n"
	    "  -t, --timeout MS        give up on a target after MS milliseconds (default %d)\n"
	    "  -m, --max-cidrs N       fail a target with more than N networks (default %d)\n"
	    "      --ttl-floor S       never report a refresh time below S seconds (default %d)\n"
	    "      --ttl-cap S         nor above S seconds (default %d)\n"
	    "  -v, --stats             one line per target on standard error: networks, the\n"
	    "                          refresh time (smallest TTL used, clamped), DNS terms,\n"
	    "                          void lookups, skipped terms, queries, time taken\n"
	    "  -h, --help              this text\n"
	    "\n"
	    "Exit status: 0 if every target resolved, 1 if any failed (its error is on\n"
	    "standard error; the others are still printed), 2 on a usage error.\n"
	    "\n"
	    "Example:\n"
	    "  greywall-spf outlook=outlook.com google=_spf.google.com >> /etc/greywall/pools\n",
	    SPF_DEFAULT_TIMEOUT_MS, SPF_DEFAULT_MAX_CIDRS, SPF_DEFAULT_TTL_FLOOR,
	    SPF_DEFAULT_TTL_CAP);
}

struct target_run {
	const char *name;
	char *name_copy; /* NAME of NAME=TARGET */
	const char *domain;
	bool done;
	struct spf_result result;
};

static void on_done(const char *domain, struct spf_result *result, void *arg)
{
	struct target_run *run = arg;

	(void)domain;
	run->result = *result;
	memset(&result->set, 0, sizeof(result->set)); /* moved */
	run->done = true;
}

/*
 * The networks already printed, sorted: the pools loader refuses a network in
 * two pools, so a network a later target shares with an earlier one is left
 * to the earlier one.
 */
struct printed {
	struct spf_cidr *cidrs;
	size_t count, capacity;
};

static int cidr_order(const void *left, const void *right)
{
	const struct spf_cidr *a = left, *b = right;
	int by_address;

	if (a->family != b->family)
		return (int)a->family - (int)b->family;
	by_address = memcmp(a->addr, b->addr, sizeof(a->addr));
	return by_address ? by_address : (int)a->prefix_len - (int)b->prefix_len;
}

static int printed_add(struct printed *printed, const struct spf_cidr_set *set)
{
	if (printed->count + set->count > printed->capacity) {
		size_t capacity = (printed->count + set->count) * 2;
		struct spf_cidr *grown = realloc(printed->cidrs, capacity * sizeof(*grown));

		if (!grown)
			return -1;
		printed->cidrs = grown;
		printed->capacity = capacity;
	}
	memcpy(printed->cidrs + printed->count, set->cidrs, set->count * sizeof(*set->cidrs));
	printed->count += set->count;
	qsort(printed->cidrs, printed->count, sizeof(*printed->cidrs), cidr_order);
	return 0;
}

static const char *printed_owner(const struct printed *printed, const struct spf_cidr *cidr,
				 const struct target_run *runs, int before)
{
	if (!bsearch(cidr, printed->cidrs, printed->count, sizeof(*cidr), cidr_order))
		return NULL;
	/* which earlier pool: few targets, so a walk of their sets is cheap */
	for (int i = 0; i < before; i++) {
		const struct spf_cidr_set *set = &runs[i].result.set;

		if (bsearch(cidr, set->cidrs, set->count, sizeof(*cidr), cidr_order))
			return runs[i].name;
	}
	return "?";
}

static int parse_number(const char *text, unsigned long max, unsigned long *value)
{
	char *end;

	if (!*text || *text == '-')
		return -1;
	*value = strtoul(text, &end, 10);
	return *end || *value > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
	    {"server", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"max-cidrs", required_argument, NULL, 'm'},
	    {"ttl-floor", required_argument, NULL, 'F'},
	    {"ttl-cap", required_argument, NULL, 'C'},
	    {"stats", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct spf_resolver_options options = {0};
	struct printed printed = {0};
	struct spf_resolver *resolver;
	struct target_run *runs;
	char error[SPF_ERROR_MAX];
	bool stats = false;
	int target_count, pending = 0, status = 0, opt;
	unsigned long value;

	while ((opt = getopt_long(argc, argv, "s:t:m:vh", long_options, NULL)) != -1) {
		switch (opt) {
		case 's':
			options.upstream = optarg;
			break;
		case 't':
		case 'm':
		case 'F':
		case 'C':
			if (parse_number(optarg, 100000000, &value) < 0 || value == 0) {
				fprintf(stderr, "greywall-spf: --%s wants a positive number\n",
					opt == 't'   ? "timeout"
					: opt == 'm' ? "max-cidrs"
					: opt == 'F' ? "ttl-floor"
						     : "ttl-cap");
				return 2;
			}
			if (opt == 't')
				options.timeout_ms = (unsigned)value;
			else if (opt == 'm')
				options.max_cidrs = value;
			else if (opt == 'F')
				options.ttl_floor = (uint32_t)value;
			else
				options.ttl_cap = (uint32_t)value;
			break;
		case 'v':
			stats = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	target_count = argc - optind;
	if (target_count < 1) {
		usage(stderr);
		return 2;
	}
	runs = calloc((size_t)target_count, sizeof(*runs));
	if (!runs) {
		fprintf(stderr, "greywall-spf: out of memory\n");
		return 1;
	}
	for (int i = 0; i < target_count; i++) {
		const char *arg = argv[optind + i], *eq = strchr(arg, '=');

		runs[i].name = arg;
		runs[i].domain = arg;
		if (eq) {
			runs[i].name = runs[i].name_copy = strndup(arg, (size_t)(eq - arg));
			if (!runs[i].name) {
				fprintf(stderr, "greywall-spf: out of memory\n");
				return 1;
			}
			runs[i].domain = eq + 1;
		}
		/* as a configuration names an SPF source: "spf:outlook.com" */
		if (strncmp(runs[i].domain, "spf:", 4) == 0) {
			runs[i].domain += 4;
			if (runs[i].name == arg)
				runs[i].name = runs[i].domain;
		}
		if (!gw_pool_name_ok(runs[i].name, strlen(runs[i].name))) {
			fprintf(stderr,
				"greywall-spf: %s: a pool name is 1 to %d letters, digits or '.', "
				"'_', ':', '-' (give one with NAME=)\n",
				arg, GW_POOL_NAME_MAX);
			return 2;
		}
	}
	resolver = spf_resolver_new(&options, error, sizeof(error));
	if (!resolver) {
		fprintf(stderr, "greywall-spf: %s\n", error);
		return 1;
	}
	for (int i = 0; i < target_count; i++) {
		if (spf_eval_start(resolver, runs[i].domain, on_done, &runs[i], error,
				   sizeof(error))) {
			pending++;
			continue;
		}
		runs[i].done = true;
		runs[i].result.status = SPF_PERMERROR;
		snprintf(runs[i].result.error, sizeof(runs[i].result.error), "%s", error);
	}
	while (pending) {
		struct pollfd pfd = {.fd = spf_resolver_fd(resolver), .events = POLLIN};

		(void)poll(&pfd, 1, spf_resolver_timeout_ms(resolver));
		spf_resolver_process(resolver);
		pending = 0;
		for (int i = 0; i < target_count; i++)
			pending += !runs[i].done;
	}
	for (int i = 0; i < target_count; i++) {
		const struct spf_result *result = &runs[i].result;
		const struct spf_stats *s = &result->stats;

		if (result->status != SPF_OK) {
			fprintf(stderr, "greywall-spf: %s: %s%s\n", runs[i].domain,
				result->status == SPF_TEMPERROR ? "temporary error: " : "",
				result->error);
			status = 1;
		} else {
			for (size_t c = 0; c < result->set.count; c++) {
				const struct spf_cidr *network = &result->set.cidrs[c];
				const char *owner = printed_owner(&printed, network, runs, i);
				char cidr[SPF_CIDR_STRLEN];

				spf_cidr_format(network, cidr, sizeof(cidr));
				if (owner) {
					fprintf(stderr,
						"greywall-spf: %s: %s is already in pool %s: "
						"left to it (a network is in one pool at most)\n",
						runs[i].domain, cidr, owner);
					continue;
				}
				printf("%s %s\n", runs[i].name, cidr);
			}
			if (printed_add(&printed, &result->set) < 0) {
				fprintf(stderr, "greywall-spf: out of memory\n");
				return 1;
			}
		}
		if (stats)
			fprintf(
			    stderr,
			    "greywall-spf: %s: %zu networks, ttl %u s (smallest seen %u s), "
			    "%u DNS terms, %u void lookups, %u macro terms skipped, "
			    "%u exists/ptr skipped, %u too wide dropped, %u records, %u queries, "
			    "%.1f ms\n",
			    runs[i].domain, result->set.count, result->ttl, result->min_ttl_seen,
			    s->dns_terms, s->void_lookups, s->macro_terms, s->unexpandable_terms,
			    s->too_wide, s->records, s->queries,
			    (double)result->elapsed_us / 1000.0);
	}
	if (fflush(stdout) != 0) {
		perror("greywall-spf: stdout");
		status = 1;
	}
	spf_resolver_free(resolver);
	for (int i = 0; i < target_count; i++) {
		free(runs[i].name_copy);
		spf_result_free(&runs[i].result);
	}
	free(runs);
	free(printed.cidrs);
	return status;
}
