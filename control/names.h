/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The triplets' names. The tables hold only fingerprints; greywalld keeps
 * the text of each triplet it hears about (its own policy decisions and the
 * relay filter's verdict events) so greyctl can show names, and so `report`
 * can find the senders that were greylisted and never came back.
 */
#ifndef GREYWALL_CONTROL_NAMES_H
#define GREYWALL_CONTROL_NAMES_H

#include <stddef.h>

#include "greywall/compiler.h"

struct gw_name {
	u64 fp;
	u64 first, last; /* Unix seconds of the first and the latest attempt */
	u32 attempts;
	u8 verdict;	/* the latest gw_verdict */
	u8 ever_passed; /* some attempt was let through */
	u8 family;
	u8 client[16];
	char *sender, *rcpt;
};

struct gw_names;

/* A store of at most cap names. NULL if out of memory. */
struct gw_names *gw_names_new(size_t cap);
void gw_names_free(struct gw_names *n);

/*
 * One attempt at triplet fp. A new name past the cap is not kept and is
 * counted in dropped. Returns the name, or NULL.
 */
const struct gw_name *gw_names_note(struct gw_names *n, u64 fp, u64 now, u8 verdict, u8 family,
				    const u8 *client, const char *sender, const char *rcpt);

const struct gw_name *gw_names_get(const struct gw_names *n, u64 fp);

/* Forget names whose latest attempt is before cutoff. Returns how many. */
size_t gw_names_expire(struct gw_names *n, u64 cutoff);

size_t gw_names_count(const struct gw_names *n);
unsigned long long gw_names_dropped(const struct gw_names *n);

/* Call fn for every name; stops at fn's first non-zero result and returns it. */
int gw_names_foreach(const struct gw_names *n, int (*fn)(const struct gw_name *nm, void *arg),
		     void *arg);

#endif /* GREYWALL_CONTROL_NAMES_H */
