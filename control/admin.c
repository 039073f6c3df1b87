// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "greywall/relay.h"

struct out {
	char *p;
	size_t len, cap;
	int overflow;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->overflow = 1;
	else
		o->len += (size_t)n;
}

static void metric(struct out *o, int types, const char *name, const char *type, const char *help)
{
	if (types)
		put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* An unlabelled metric: its name is written once, for the help and the sample. */
static void count(struct out *o, int types, const char *name, const char *type, const char *help,
		  unsigned long long v)
{
	metric(o, types, name, type, help);
	put(o, "%s %llu\n", name, v);
}

static void seconds(struct out *o, int types, const char *name, const char *help, double v)
{
	metric(o, types, name, "gauge", help);
	put(o, "%s %.6f\n", name, v);
}

static const char *const verdict_names[GW_V_COUNT] = {GW_VERDICT_NAMES};

static void table_metrics(struct out *o, int types, const struct gw_table *t[2])
{
	static const char *const names[2] = {"triplets", "awl"};
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
	    {"greywall_table_inserts_total", "Entries claimed in the table.",
	     offsetof(struct gw_table_stats, inserts)},
	    {"greywall_table_expired_total", "Entries removed by the sweep or evicted.",
	     offsetof(struct gw_table_stats, expired)},
	    {"greywall_table_evicted_total", "Waiting entries evicted to make room.",
	     offsetof(struct gw_table_stats, evicted)},
	    {"greywall_table_full_total", "Claims that found no room (failed open).",
	     offsetof(struct gw_table_stats, full)},
	    {"greywall_table_contended_total", "Updates that lost every CAS retry (failed open).",
	     offsetof(struct gw_table_stats, contended)},
	};
	size_t c;
	int k;

	metric(o, types, "greywall_table_slots", "gauge", "Slots in the table.");
	for (k = 0; k < 2; k++)
		put(o, "greywall_table_slots{table=\"%s\"} %llu\n", names[k],
		    (unsigned long long)(t[k]->nbuckets * GW_SLOTS_PER_BUCKET));
	for (c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		metric(o, types, counters[c].name, "counter", counters[c].help);
		for (k = 0; k < 2; k++) {
			const u64 *v =
			    (const u64 *)((const char *)&t[k]->hdr->stats + counters[c].off);

			put(o, "%s{table=\"%s\"} %llu\n", counters[c].name, names[k],
			    (unsigned long long)gw_load64(v));
		}
	}
	metric(o, types, "greywall_table_live", "gauge",
	       "Entries in the table (inserts minus expired; approximate while they move).");
	for (k = 0; k < 2; k++) {
		u64 in = gw_load64(&t[k]->hdr->stats.inserts),
		    ex = gw_load64(&t[k]->hdr->stats.expired);

		put(o, "greywall_table_live{table=\"%s\"} %llu\n", names[k],
		    (unsigned long long)(in > ex ? in - ex : 0));
	}
}

/* One series per lcore of the counters at byte offset off of struct gw_dp_stats, named by names. */
static void per_lcore(struct out *o, const struct gw_dp_shm *dp, const char *metric_name,
		      const char *label, const char *const *names, u32 n, size_t off)
{
	u32 l, i;

	for (l = 0; l < dp->nlcores && l < GW_DP_SHM_LCORES; l++)
		for (i = 0; i < n; i++)
			put(o, "%s{lcore=\"%u\",%s=\"%s\"} %llu\n", metric_name, l, label, names[i],
			    (unsigned long long)((const u64 *)((const u8 *)&dp->lcore[l] +
							       off))[i]);
}

/* greywall-dp's counters by lcore and port, as it last published them. */
static void dp_metrics(struct out *o, int types, const struct gw_dp_shm *dp)
{
	static const char *const counters[GW_DP_NCOUNTERS] = {GW_DP_COUNTER_NAMES};
	static const char *const verdicts[GW_V_COUNT] = {GW_DP_VERDICT_NAMES};
	static const char *const failopen[GW_FO_COUNT] = {GW_DP_FAILOPEN_NAMES};
	static const char *const port_counters[GW_DP_NPORT_COUNTERS] = {GW_DP_PORT_COUNTER_NAMES};
	u32 l, p, i;

	metric(o, types, "greywall_dp_total", "counter",
	       "greywall-dp's packet and flow counters, by lcore.");
	per_lcore(o, dp, "greywall_dp_total", "counter", counters, GW_DP_NCOUNTERS, 0);
	metric(o, types, "greywall_dp_verdicts_total", "counter",
	       "greywall-dp's verdicts, by lcore.");
	per_lcore(o, dp, "greywall_dp_verdicts_total", "verdict", verdicts, GW_V_COUNT,
		  offsetof(struct gw_dp_stats, verdict));
	metric(o, types, "greywall_dp_failopen_total", "counter",
	       "Segments or decisions greywall-dp let through untouched, by lcore and reason.");
	per_lcore(o, dp, "greywall_dp_failopen_total", "reason", failopen, GW_FO_COUNT,
		  offsetof(struct gw_dp_stats, failopen));
	metric(o, types, "greywall_dp_events_dropped_total", "counter",
	       "Verdict events lost to a full ring (greywalld did not keep up).");
	for (l = 0; l < dp->nlcores && l < GW_DP_SHM_LCORES; l++)
		put(o, "greywall_dp_events_dropped_total{lcore=\"%u\"} %llu\n", l,
		    (unsigned long long)dp->ring[l].dropped);
	metric(o, types, "greywall_dp_port_total", "counter",
	       "greywall-dp's ports as the driver counts them.");
	for (p = 0; p < dp->nports && p < GW_DP_SHM_PORTS; p++)
		for (i = 0; i < GW_DP_NPORT_COUNTERS; i++)
			put(o, "greywall_dp_port_total{port=\"%u\",counter=\"%s\"} %llu\n", p,
			    port_counters[i], (unsigned long long)((const u64 *)&dp->port[p])[i]);
	count(o, types, "greywall_dp_updated_timestamp_seconds", "gauge",
	      "When greywall-dp last published its counters.", (unsigned long long)dp->updated);
}

size_t gw_metrics_render(const struct gw_metrics_src *m, int types, char *out, size_t cap)
{
	struct out o = {.p = out, .cap = cap};
	const struct gw_table *t[2] = {m->triplets, m->awl};
	int v;

	if (!cap)
		return 0;
	out[0] = 0;
	count(&o, types, "greywall_policy_requests_total", "counter",
	      "Postfix policy requests answered.", m->ctx->requests);
	count(&o, types, "greywall_policy_bad_requests_total", "counter",
	      "Policy requests that could not be parsed.", m->ctx->bad_requests);
	count(&o, types, "greywall_policy_clients_evicted_total", "counter",
	      "Policy clients closed to make room (max_clients reached; longest unserved first).",
	      m->ctx->evicted_clients);
	count(&o, types, "greywall_policy_clients_timed_out_total", "counter",
	      "Policy clients closed idle too long, or too slow to finish a request.",
	      m->ctx->timed_out_clients);
	count(&o, types, "greywall_policy_judged_by_data_path_total", "counter",
	      "Policy requests for an RCPT the relay filter passed: answered, not counted again.",
	      m->ctx->judged_by_data_path);
	metric(&o, types, "greywall_policy_verdicts_total", "counter",
	       "Policy server verdicts by kind.");
	for (v = 0; v < GW_V_COUNT; v++)
		put(&o, "greywall_policy_verdicts_total{verdict=\"%s\"} %llu\n", verdict_names[v],
		    m->ctx->verdicts[v]);
	table_metrics(&o, types, t);
	count(&o, types, "greywall_list_entries", "gauge",
	      "Whitelist and blacklist entries loaded.", m->list_entries);
	count(&o, types, "greywall_list_reloads_total", "counter", "List reloads that took effect.",
	      m->reloads);
	count(&o, types, "greywall_list_reload_failures_total", "counter",
	      "List reloads refused (the old lists stayed in force).", m->reload_failures);
	seconds(&o, types, "greywall_sweep_slice_seconds",
		"Duration of the last expiry sweep slice.", m->last_sweep_seconds);
	count(&o, types, "greywall_sweep_removed_total", "counter", "Entries the sweep removed.",
	      m->sweep_removed);
	seconds(&o, types, "greywall_snapshot_seconds", "Duration of the last snapshot.",
		m->last_snapshot_seconds);
	count(&o, types, "greywall_snapshot_timestamp_seconds", "gauge",
	      "When the last snapshot was written (0: none yet).",
	      (unsigned long long)m->last_snapshot_time);
	count(&o, types, "greywall_snapshot_failures_total", "counter", "Snapshots that failed.",
	      m->snapshot_failures);
	count(&o, types, "greywall_names", "gauge", "Triplet names kept for greyctl and report.",
	      m->names);
	count(&o, types, "greywall_names_dropped_total", "counter",
	      "Triplet names not kept: names_capacity was reached.", m->names_dropped);
	if (m->relay) {
		static const char *const relay_names[GW_RS_COUNT] = {GW_RELAY_STAT_NAMES};

		metric(&o, types, "greywall_relay_total", "counter",
		       "The relay filter's counters, summed over CPUs: SMTP segments, verdicts, "
		       "replies written, and each reason a segment was left alone (fail_*).");
		for (v = 0; v < GW_RS_COUNT; v++)
			put(&o, "greywall_relay_total{counter=\"%s\"} %llu\n", relay_names[v],
			    m->relay[v]);
	}
	if (m->dp)
		dp_metrics(&o, types, m->dp);
	return o.overflow ? 0 : o.len;
}
