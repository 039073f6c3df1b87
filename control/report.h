/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `greyctl report`: the senders an admin should look at. A triplet counts
 * when it was greylisted at least min_age seconds ago, only that one attempt
 * was ever seen, and it never passed: a real MTA retries within minutes, so
 * these are spamware or broken senders. They are grouped by client network
 * and sender domain, the units an admin whitelists.
 */
#ifndef GREYWALL_CONTROL_REPORT_H
#define GREYWALL_CONTROL_REPORT_H

#include <stddef.h>

#include "greywall/policy.h"
#include "names.h"

/*
 * Lines "NETWORK<TAB>SENDER_DOMAIN<TAB>TRIPLETS<TAB>FIRST<TAB>LAST<TAB>A_RECIPIENT",
 * most triplets first, times in Unix seconds. The table (may be NULL) vetoes
 * a triplet it holds as passed or retried. Returns the length written; the
 * output stops at a whole line when cap runs out.
 */
size_t gw_report_render(const struct gw_names *names, struct gw_table *triplets,
			const struct gw_config *pc, u64 now, u64 min_age, char *out, size_t cap);

#endif /* GREYWALL_CONTROL_REPORT_H */
