// SPDX-License-Identifier: BSD-2-Clause
/*
 * Names by fingerprint: open addressing with linear probing over pointers,
 * deletion by backward shift so no tombstones build up. Fingerprints are
 * SipHash outputs, so their low bits index the table directly.
 */
#include <stdlib.h>
#include <string.h>

#include "greywall/policy.h"
#include "names.h"

struct gw_names {
	struct gw_name **slot;
	size_t mask, count, cap;
	unsigned long long dropped;
};

struct gw_names *gw_names_new(size_t cap)
{
	struct gw_names *n = calloc(1, sizeof(*n));
	size_t size = 16;

	if (!n)
		return NULL;
	while (size < cap * 2)
		size *= 2; /* at most half full */
	n->slot = calloc(size, sizeof(*n->slot));
	if (!n->slot) {
		free(n);
		return NULL;
	}
	n->mask = size - 1;
	n->cap = cap;
	return n;
}

static void name_free(struct gw_name *nm)
{
	free(nm->sender);
	free(nm->rcpt);
	free(nm);
}

void gw_names_free(struct gw_names *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i <= n->mask; i++)
		if (n->slot[i])
			name_free(n->slot[i]);
	free(n->slot);
	free(n);
}

static size_t find(const struct gw_names *n, u64 fp)
{
	size_t i = fp & n->mask;

	while (n->slot[i] && n->slot[i]->fp != fp)
		i = (i + 1) & n->mask;
	return i;
}

const struct gw_name *gw_names_get(const struct gw_names *n, u64 fp)
{
	return n->slot[find(n, fp)];
}

const struct gw_name *gw_names_note(struct gw_names *n, u64 fp, u64 now, u8 verdict, u8 family,
				    const u8 *client, const char *sender, const char *rcpt)
{
	size_t i = find(n, fp);
	struct gw_name *nm = n->slot[i];

	if (!nm) {
		if (n->count >= n->cap) {
			n->dropped++;
			return NULL;
		}
		nm = calloc(1, sizeof(*nm));
		if (!nm || !(nm->sender = strdup(sender)) || !(nm->rcpt = strdup(rcpt))) {
			if (nm)
				name_free(nm);
			n->dropped++;
			return NULL;
		}
		nm->fp = fp;
		nm->first = now;
		nm->family = family;
		memcpy(nm->client, client, 16);
		n->slot[i] = nm;
		n->count++;
	}
	nm->last = now;
	nm->attempts++;
	nm->verdict = verdict;
	if (verdict != GW_V_GREYLIST && verdict != GW_V_BLACKLIST)
		nm->ever_passed = 1;
	return nm;
}

/* Remove slot i and shift later members of its run back, so lookups need no tombstones. */
static void remove_at(struct gw_names *n, size_t i)
{
	size_t j = i;

	name_free(n->slot[i]);
	n->slot[i] = NULL;
	n->count--;
	for (;;) {
		size_t home;

		j = (j + 1) & n->mask;
		if (!n->slot[j])
			return;
		home = n->slot[j]->fp & n->mask;
		/* move j into the hole at i unless its home lies cyclically in (i, j] */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		n->slot[i] = n->slot[j];
		n->slot[j] = NULL;
		i = j;
	}
}

size_t gw_names_expire(struct gw_names *n, u64 cutoff)
{
	size_t i = 0, removed = 0;

	while (i <= n->mask) {
		if (n->slot[i] && n->slot[i]->last < cutoff) {
			remove_at(n, i);
			removed++;
			continue; /* a later name may have moved into i */
		}
		i++;
	}
	return removed;
}

size_t gw_names_count(const struct gw_names *n)
{
	return n->count;
}

unsigned long long gw_names_dropped(const struct gw_names *n)
{
	return n->dropped;
}

int gw_names_foreach(const struct gw_names *n, int (*fn)(const struct gw_name *nm, void *arg),
		     void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i <= n->mask; i++)
		if (n->slot[i] && (rc = fn(n->slot[i], arg)) != 0)
			return rc;
	return 0;
}
