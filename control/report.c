// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

struct row {
	char net[64];
	const char *domain;
	u64 first, last;
	const char *rcpt;
};

struct collect {
	struct row *rows;
	size_t n, cap;
	struct gw_table *triplets;
	const struct gw_config *pc;
	u64 now, min_age;
};

/* Whether the table knows better: the triplet passed or was tried again. */
static int table_vetoes(struct gw_table *t, u64 fp)
{
	struct gw_slot *slot;
	u64 st;

	if (!t || !(slot = gw_table_lookup(t, fp)) || !gw_slot_read(slot, fp, &st))
		return 0;
	return gw_state_kind(st) == GW_ST_PASSED || gw_state_count(st) > 1;
}

static int collect_one(const struct gw_name *nm, void *arg)
{
	struct collect *c = arg;
	struct gw_client_net net;
	char addr[INET6_ADDRSTRLEN];
	const char *at;
	struct row *r;

	if (nm->ever_passed || nm->attempts != 1 || nm->verdict != GW_V_GREYLIST ||
	    nm->first + c->min_age > c->now || table_vetoes(c->triplets, nm->fp))
		return 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 256;
		struct row *nr = realloc(c->rows, ncap * sizeof(*nr));

		if (!nr)
			return -1;
		c->rows = nr;
		c->cap = ncap;
	}
	r = &c->rows[c->n++];
	gw_client_net_of(&net, c->pc, nm->family, nm->client);
	inet_ntop(nm->family == GW_AF_INET ? AF_INET : AF_INET6, net.addr, addr, sizeof(addr));
	snprintf(r->net, sizeof(r->net), "%s/%u", addr, net.prefix);
	at = strrchr(nm->sender, '@');
	r->domain = at ? at + 1 : (nm->sender[0] ? nm->sender : "<>");
	r->first = nm->first;
	r->last = nm->last;
	r->rcpt = nm->rcpt;
	return 0;
}

static int by_group(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int d = strcmp(x->net, y->net);

	return d ? d : strcmp(x->domain, y->domain);
}

struct group {
	const struct row *row; /* the first of the group */
	size_t count;
	u64 first, last;
};

static int by_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return by_group(x->row, y->row);
}

size_t gw_report_render(const struct gw_names *names, struct gw_table *triplets,
			const struct gw_config *pc, u64 now, u64 min_age, char *out, size_t cap)
{
	struct collect c = {.triplets = triplets, .pc = pc, .now = now, .min_age = min_age};
	struct group *g = NULL;
	size_t i, ng = 0, len = 0;

	if (cap)
		out[0] = 0;
	if (gw_names_foreach(names, collect_one, &c) || (c.n && !(g = calloc(c.n, sizeof(*g))))) {
		free(c.rows);
		return 0;
	}
	qsort(c.rows, c.n, sizeof(*c.rows), by_group);
	for (i = 0; i < c.n; i++) {
		const struct row *r = &c.rows[i];

		if (!ng || by_group(g[ng - 1].row, r)) {
			g[ng].row = r;
			g[ng].first = r->first;
			g[ng].last = r->last;
			ng++;
		}
		g[ng - 1].count++;
		if (r->first < g[ng - 1].first)
			g[ng - 1].first = r->first;
		if (r->last > g[ng - 1].last)
			g[ng - 1].last = r->last;
	}
	qsort(g, ng, sizeof(*g), by_count);
	for (i = 0; i < ng; i++) {
		char line[1024];
		int n = snprintf(line, sizeof(line), "%s\t%s\t%zu\t%llu\t%llu\t%s\n", g[i].row->net,
				 g[i].row->domain, g[i].count, (unsigned long long)g[i].first,
				 (unsigned long long)g[i].last, g[i].row->rcpt);

		if (n < 0 || (size_t)n >= sizeof(line) || len + (size_t)n + 1 > cap)
			break;
		memcpy(out + len, line, (size_t)n + 1);
		len += (size_t)n;
	}
	free(g);
	free(c.rows);
	return len;
}
