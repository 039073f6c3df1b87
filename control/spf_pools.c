// SPDX-License-Identifier: BSD-2-Clause
/* Sender pools from SPF records: greywalld's side of control/spf.c. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "greywall/siphash.h"
#include "spf.h"
#include "spf_pools.h"

struct pool_target {
	char name[GW_POOL_NAME_MAX + 1];
	struct spf_target *t;
	bool started;
	u64 set_hash; /* of the last good set: a refresh that finds the same set changes nothing */
	struct gw_spf_pools *owner;
};

struct gw_spf_pools {
	struct spf_resolver *resolver;
	struct pool_target *targets;
	size_t n;
	bool changed;
};

/*
 * One word of pools_spf into name and domain. "NAME=spf:DOMAIN", "spf:DOMAIN"
 * or "DOMAIN"; the name defaults to the domain. 0, or -1 with err.
 */
static int parse_word(const char *w, size_t wlen, char *name, char *domain, char *err,
		      size_t errlen)
{
	const char *eq = memchr(w, '=', wlen), *d = eq ? eq + 1 : w;
	size_t dlen = wlen - (size_t)(d - w), nlen;

	if (dlen > 4 && !strncmp(d, "spf:", 4)) {
		d += 4;
		dlen -= 4;
	}
	if (dlen == 0 || dlen > SPF_DOMAIN_MAX) {
		snprintf(err, errlen, "pools_spf: '%.*s': expected NAME=spf:DOMAIN", (int)wlen, w);
		return -1;
	}
	memcpy(domain, d, dlen);
	domain[dlen] = 0;
	nlen = eq ? (size_t)(eq - w) : dlen;
	if (!gw_pool_name_ok(eq ? w : d, nlen)) {
		snprintf(err, errlen,
			 "pools_spf: '%.*s': a pool name is 1 to %d letters, digits or '.', '_', "
			 "':', '-' (name it: NAME=spf:DOMAIN)",
			 (int)wlen, w, GW_POOL_NAME_MAX);
		return -1;
	}
	memcpy(name, eq ? w : d, nlen);
	name[nlen] = 0;
	return 0;
}

/* Calls fn for each word of spec; stops at and returns the first non-zero. */
static int each_word(const char *spec, int (*fn)(const char *name, const char *domain, void *arg),
		     void *arg, char *err, size_t errlen)
{
	const char *p = spec;

	while (*p) {
		char name[GW_POOL_NAME_MAX + 1], domain[SPF_DOMAIN_MAX + 1];
		size_t wlen;
		int rc;

		while (isspace((unsigned char)*p))
			p++;
		wlen = strcspn(p, " \t");
		if (!wlen)
			break;
		if (parse_word(p, wlen, name, domain, err, errlen))
			return -1;
		rc = fn(name, domain, arg);
		if (rc)
			return rc;
		p += wlen;
	}
	return 0;
}

static int count_word(const char *name, const char *domain, void *arg)
{
	(void)name;
	(void)domain;
	++*(size_t *)arg;
	return 0;
}

int gw_spf_pools_check(const char *spec, char *err, size_t errlen)
{
	size_t n = 0;

	return each_word(spec, count_word, &n, err, errlen);
}

static u64 set_hash(const struct spf_cidr_set *set)
{
	return set && set->count
		   ? gw_siphash24(1, 2, set->cidrs, (u32)(set->count * sizeof(set->cidrs[0])))
		   : 0;
}

static void on_refreshed(struct spf_target *t, void *arg)
{
	struct pool_target *pt = arg;
	u64 h;

	/* a failure keeps the last good set, and the same set again changes nothing: only a
	 * new set costs a reload (the relay filter's maps, greywall-dp's file) */
	if (spf_target_status(t) != SPF_OK)
		return;
	h = set_hash(spf_target_set(t));
	if (h != pt->set_hash) {
		pt->set_hash = h;
		pt->owner->changed = true;
	}
}

struct add_ctx {
	struct gw_spf_pools *p;
	char *err;
	size_t errlen;
};

static int add_word(const char *name, const char *domain, void *arg)
{
	struct add_ctx *c = arg;
	struct pool_target *pt = &c->p->targets[c->p->n];

	snprintf(pt->name, sizeof(pt->name), "%s", name);
	pt->owner = c->p;
	pt->t = spf_target_new(c->p->resolver, domain, on_refreshed, pt);
	if (!pt->t) {
		snprintf(c->err, c->errlen, "pools_spf: %s: out of memory", domain);
		return -1;
	}
	c->p->n++;
	return 0;
}

struct gw_spf_pools *gw_spf_pools_new(const char *spec, const char *server, char *err,
				      size_t errlen)
{
	struct spf_resolver_options o = {.upstream = server && server[0] ? server : NULL};
	struct gw_spf_pools *p;
	struct add_ctx c;
	size_t n = 0;

	err[0] = 0;
	if (each_word(spec, count_word, &n, err, errlen) || n == 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->targets = calloc(n, sizeof(*p->targets)))) {
		free(p);
		snprintf(err, errlen, "pools_spf: out of memory");
		return NULL;
	}
	p->resolver = spf_resolver_new(&o, err, errlen);
	c = (struct add_ctx){p, err, errlen};
	if (!p->resolver || each_word(spec, add_word, &c, err, errlen)) {
		gw_spf_pools_free(p);
		return NULL;
	}
	return p;
}

void gw_spf_pools_free(struct gw_spf_pools *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		spf_target_free(p->targets[i].t);
	free(p->targets);
	spf_resolver_free(p->resolver);
	free(p);
}

int gw_spf_pools_fd(const struct gw_spf_pools *p)
{
	return spf_resolver_fd(p->resolver);
}

static int64_t due_at(const struct pool_target *pt)
{
	if (!pt->started)
		return 0;
	return spf_target_last_attempt(pt->t) + spf_target_refresh_after(pt->t);
}

int gw_spf_pools_timeout_ms(const struct gw_spf_pools *p, int64_t now)
{
	int64_t best = 3600 * 1000;
	int r = spf_resolver_timeout_ms(p->resolver);
	size_t i;

	for (i = 0; i < p->n; i++) {
		int64_t ms;

		if (spf_target_busy(p->targets[i].t))
			continue;
		ms = (due_at(&p->targets[i]) - now) * 1000;
		if (ms < best)
			best = ms < 0 ? 0 : ms;
	}
	if (r >= 0 && r < best)
		best = r;
	return (int)best;
}

bool gw_spf_pools_process(struct gw_spf_pools *p, int64_t now)
{
	bool changed;
	size_t i;

	spf_resolver_process(p->resolver);
	for (i = 0; i < p->n; i++) {
		struct pool_target *pt = &p->targets[i];

		if (spf_target_busy(pt->t) || (pt->started && now < due_at(pt)))
			continue;
		pt->started = true;
		spf_target_refresh(pt->t); /* a failure to start counts as a failed refresh */
	}
	changed = p->changed;
	p->changed = false;
	return changed;
}

size_t gw_spf_pools_add_to(const struct gw_spf_pools *p, struct gw_lists *l, size_t *skipped)
{
	size_t i, j, added = 0;

	*skipped = 0;
	for (i = 0; p && i < p->n; i++) {
		const struct spf_cidr_set *set = spf_target_set(p->targets[i].t);

		for (j = 0; set && j < set->count; j++) {
			char cidr[SPF_CIDR_STRLEN], why[128];

			if (!spf_cidr_format(&set->cidrs[j], cidr, sizeof(cidr)) ||
			    gw_lists_add_pool(l, p->targets[i].name, cidr, why, sizeof(why)))
				++*skipped; /* another pool has it: the first one keeps it */
			else
				added++;
		}
	}
	return added;
}

void gw_spf_pools_print(const struct gw_spf_pools *p, FILE *f)
{
	size_t i, j;

	for (i = 0; p && i < p->n; i++) {
		const struct spf_cidr_set *set = spf_target_set(p->targets[i].t);

		for (j = 0; set && j < set->count; j++) {
			char cidr[SPF_CIDR_STRLEN];

			if (spf_cidr_format(&set->cidrs[j], cidr, sizeof(cidr)))
				fprintf(f, "pool %s %s\n", p->targets[i].name, cidr);
		}
	}
}

size_t gw_spf_pools_render(const struct gw_spf_pools *p, int64_t now, char *out, size_t len)
{
	size_t i, used = 0;

	if (len)
		out[0] = 0;
	for (i = 0; p && i < p->n && used < len; i++) {
		const struct pool_target *pt = &p->targets[i];
		const struct spf_cidr_set *set = spf_target_set(pt->t);
		const char *e = spf_target_error(pt->t);
		int64_t ok = spf_target_last_success(pt->t), due = due_at(pt) - now;
		char why[SPF_ERROR_MAX];
		int w;
		size_t k;

		/* the error may quote a DNS record's bytes: no tab or newline of theirs gets out */
		snprintf(why, sizeof(why), "%s", e ? e : "");
		for (k = 0; why[k]; k++)
			if ((unsigned char)why[k] < 0x20 || (unsigned char)why[k] == 0x7f)
				why[k] = '?';
		w = snprintf(
		    out + used, len - used,
		    "spf\t%s\tspf:%s\t%zu networks\t%s\tlast good %llds ago\tnext in %llds%s%s\n",
		    pt->name, spf_target_domain(pt->t), set ? set->count : 0,
		    spf_target_busy(pt->t) ? "resolving"
		    : !pt->started	   ? "waiting"
		    : e			   ? "failed"
					   : "ok",
		    ok ? (long long)(now - ok) : -1LL, due > 0 ? (long long)due : 0LL,
		    e ? "\t" : "", why);
		if (w < 0)
			break;
		used += (size_t)w < len - used ? (size_t)w : len - used - 1;
	}
	return used;
}
