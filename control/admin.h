/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywalld's admin surfaces: the control socket greyctl talks to, and the
 * Prometheus metrics page.
 *
 * Control protocol (UNIX stream socket, mode 0660, group control_group): the
 * client sends one line, a command; greywalld answers with lines and closes.
 * The first answer line is "ok" or "error: REASON".
 *   ping       ok
 *   reload     ok, lists reloaded (or error: ... with the old lists kept)
 *   snapshot   ok, snapshot written (or error: ...)
 *   stats      ok, then "name value" lines: the metrics without types
 *   report     ok, then gw_report_render's lines (report.h)
 *   names FP.. ok, then "FP<TAB>client<TAB>sender<TAB>recipient" for each
 *              fingerprint (hex) greywalld has a name for
 */
#ifndef GREYWALL_CONTROL_ADMIN_H
#define GREYWALL_CONTROL_ADMIN_H

#include <stddef.h>

#include "greywall/dp_shm.h"
#include "greywall/table.h"
#include "policy_server.h"

#define GW_CONTROL_LINE_MAX 8192 /* room for "names" and a screenful of fingerprints */

/* Everything the metrics page shows. */
struct gw_metrics_src {
	const struct gw_policy_ctx *ctx;
	const struct gw_table *triplets;
	const struct gw_table *awl;
	size_t list_entries;
	double last_sweep_seconds;
	unsigned long long sweep_removed;
	double last_snapshot_seconds;
	long long last_snapshot_time; /* Unix seconds, 0 = none yet */
	unsigned long long snapshot_failures;
	unsigned long long reloads, reload_failures;
	/* the relay filter's counters (GW_RS_COUNT of them), or NULL without one */
	const unsigned long long *relay;
	size_t names, names_dropped;
	/* greywall-dp's shared counters, or NULL */
	const struct gw_dp_shm *dp;
};

/*
 * Render the Prometheus text exposition format (with_types) or bare
 * "name value" lines. Returns the length, or 0 if cap is too small.
 */
size_t gw_metrics_render(const struct gw_metrics_src *m, int with_types, char *out, size_t cap);

#endif /* GREYWALL_CONTROL_ADMIN_H */
