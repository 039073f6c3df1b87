// SPDX-License-Identifier: BSD-2-Clause
/* greyctl pools [ADDRESS]: the sender pools in force, and which pool an address is in. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greyctl.h"

/* greywalld is away: the pools file alone (SPF pools live in greywalld only). */
static int pools_from_file(const char *address)
{
	const struct gw_pool_info *info;
	struct gw_lists *l;
	char err[600];
	size_t n, i;

	if (!cfg.pools_path[0]) {
		fprintf(stderr, "greyctl: greywalld does not answer and pools_path is empty\n");
		return EXIT_FAIL;
	}
	l = gw_lists_load_all(NULL, NULL, cfg.pools_path, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "greyctl: %s\n", err);
		return EXIT_FAIL;
	}
	fprintf(stderr, "greyctl: greywalld does not answer: %s only (no SPF pools)\n",
		cfg.pools_path);
	if (address) {
		u8 addr[16] = {0}, family = strchr(address, ':') ? GW_AF_INET6 : GW_AF_INET, colors;
		u64 pool;

		if (inet_pton(family == GW_AF_INET ? AF_INET : AF_INET6, address, addr) != 1) {
			gw_lists_free(l);
			return usage_error("pools ADDRESS: not an IPv4 or IPv6 address");
		}
		gw_lists_client_lookup(l, family, addr, 128, &colors, &pool);
		printf("%s\t%s%s\n", address, pool ? "pool " : "in no pool",
		       pool ? gw_lists_pool_name(l, pool) : "");
	} else {
		n = gw_lists_pools(l, &info);
		for (i = 0; i < n; i++)
			printf("pool\t%s\t%u networks\n", info[i].name, (unsigned)info[i].cidrs);
		printf("file\t%s\n", cfg.pools_path);
	}
	gw_lists_free(l);
	return EXIT_OK;
}

static int cmd_pools(const char *address)
{
	static char answer[65536];
	char req[128];
	enum gw_control_result r;
	const char *body;

	snprintf(req, sizeof(req), "pools%s%.64s", address ? " " : "", address ? address : "");
	r = control_request(req, answer, sizeof(answer));
	if (r == GW_CONTROL_REFUSED)
		return EXIT_FAIL;
	if (r == GW_CONTROL_ABSENT)
		return pools_from_file(address);
	if (strncmp(answer, "ok\n", 3))
		return control_answer("pools", answer) ? EXIT_FAIL : EXIT_OK;
	body = answer + 3;
	if (json) {
		char *line, *save = NULL;
		int first = 1;

		printf("{\"pools\": [");
		for (line = strtok_r((char *)body, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			printf("%s", first ? "" : ", ");
			json_string(line);
			first = 0;
		}
		printf("]}\n");
	} else {
		fputs(body, stdout);
	}
	return EXIT_OK;
}

static int run_pools(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_pools, argc, argv, 1, &first);

	if (rc >= 0)
		return rc;
	return cmd_pools(first < argc ? argv[first] : NULL);
}

const struct greyctl_command greyctl_pools = {
    "pools",
    "[ADDRESS]",
    "  pools [ADDRESS]            the sender pools in force (from pools_path and pools_spf:\n"
    "                             size, source, SPF refresh state), or the pool ADDRESS is in\n",
    "The sender pools greywalld has in force, a line each: 'pool NAME N networks'; then\n"
    "'file PATH' for pools_path and, for each pools_spf target, 'spf NAME spf:DOMAIN\n"
    "N networks STATUS last good S ago next in S [ERROR]'. With ADDRESS: the pool it\n"
    "falls in, or that it is in none (its triplets are keyed by its /24 or /64). When\n"
    "greywalld does not answer, the pools file alone is read.\n",
    run_pools,
};
