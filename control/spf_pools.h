/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sender pools from SPF records, kept fresh for greywalld: each configured
 * target (pools_spf = NAME=spf:DOMAIN ...) is resolved through control/spf.c,
 * refreshed on its records' TTL, and its last good set of networks is added to
 * every list set greywalld builds, as pool NAME. Nothing here blocks: the
 * resolver's fd joins greywalld's loop, and a changed set asks for a reload.
 */
#ifndef GREYWALL_SPF_POOLS_H
#define GREYWALL_SPF_POOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "greywall/lists.h"

struct gw_spf_pools;

/*
 * From the pools_spf value ("NAME=spf:DOMAIN" or "spf:DOMAIN" words; a bare
 * name is the domain) and spf_server ("" for /etc/resolv.conf, or IP[@PORT]).
 * NULL with the reason in err; an empty spec gives NULL with err "".
 */
struct gw_spf_pools *gw_spf_pools_new(const char *spec, const char *server, char *err,
				      size_t errlen);
void gw_spf_pools_free(struct gw_spf_pools *p);

/* Check a pools_spf value without resolving anything (--check). 0, or -1 with err. */
int gw_spf_pools_check(const char *spec, char *err, size_t errlen);

/* The resolver's fd for poll(2), and the most poll should wait (ms) before a due refresh. */
int gw_spf_pools_fd(const struct gw_spf_pools *p);
int gw_spf_pools_timeout_ms(const struct gw_spf_pools *p, int64_t now);

/*
 * Answers that arrived, refreshes that are due. Returns true when a target's
 * set changed since the last call: the caller rebuilds its list set.
 */
bool gw_spf_pools_process(struct gw_spf_pools *p, int64_t now);

/*
 * Put every target's last good networks into l as its pool. A network some
 * other pool (a static one, or an earlier target) holds already stays there:
 * counted in *skipped, not an error. Returns the networks added.
 */
size_t gw_spf_pools_add_to(const struct gw_spf_pools *p, struct gw_lists *l, size_t *skipped);

/* Every target's last good networks as "pool NAME CIDR" lines (published_lists). */
void gw_spf_pools_print(const struct gw_spf_pools *p, FILE *f);

/* One line per target: name, domain, networks, status, last success, next refresh. */
size_t gw_spf_pools_render(const struct gw_spf_pools *p, int64_t now, char *out, size_t len);

#endif
