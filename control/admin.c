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
#include "greywall/version.h"
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

/* A metric's name, type and help. */
struct metric_def {
	const char *name, *type, *help;
};

/*
 * greywall-dp's scalar counters (GW_DP_COUNTER_NAMES, in order) as metrics of
 * their own: Prometheus wants one unit per metric, and flows_active is a gauge.
 */
static const struct metric_def dp_counter_defs[GW_DP_NCOUNTERS] = {
    {"greywall_dp_rx_packets_total", "counter", "Frames received, on every port."},
    {"greywall_dp_tx_packets_total", "counter", "Frames sent, on every port."},
    {"greywall_dp_tx_dropped_packets_total", "counter", "Frames the ports would not take."},
    {"greywall_dp_passthrough_packets_total", "counter",
     "Frames forwarded untouched: not SMTP to a protected server."},
    {"greywall_dp_smtp_packets_total", "counter", "SMTP frames to or from a protected server."},
    {"greywall_dp_malformed_packets_total", "counter", "Frames too short or not parseable."},
    {"greywall_dp_flows_created_total", "counter", "SMTP flows tracked."},
    {"greywall_dp_flows_expired_total", "counter", "SMTP flows forgotten after flow_idle."},
    {"greywall_dp_flows_active", "gauge", "SMTP flows tracked now."},
    {"greywall_dp_flows_evicted_total", "counter",
     "Closed or silent flows evicted to make room in a full flow table."},
    {"greywall_dp_lines_removed_total", "counter", "RCPT (or STARTTLS) lines cut from a stream."},
    {"greywall_dp_replies_injected_total", "counter", "Replies sent in the server's place."},
    {"greywall_dp_replies_resent_total", "counter", "Injected replies sent again."},
    {"greywall_dp_retransmit_dropped_total", "counter",
     "Client retransmissions of a cut line, answered again and dropped."},
    {"greywall_dp_segments_split_total", "counter", "Segments rebuilt around a cut line."},
    {"greywall_dp_sack_translated_total", "counter", "SACK blocks moved past the edits."},
    {"greywall_dp_reordered_total", "counter",
     "Client segments held until the gap before them filled."},
    {"greywall_dp_overlaps_rewritten_total", "counter",
     "Resent bytes that differed from the first copy, rewritten."},
    {"greywall_dp_edits_folded_total", "counter",
     "Edits both peers acked past, folded into the base delta."},
    {"greywall_dp_lines_deferred_total", "counter",
     "Lines refused until edit room freed up (the client resent them)."},
    {"greywall_dp_custody_acks_total", "counter",
     "Begun lines acked to the client on the server's behalf."},
    {"greywall_dp_custody_resent_bytes_total", "counter",
     "Bytes acked on the server's behalf, sent to it again from the kept copy."},
    {"greywall_dp_segments_refused_total", "counter",
     "Client segments past a gap or a deferred line, not acked (resent)."},
    {"greywall_dp_tls_pending_refused_total", "counter",
     "Plaintext greetings refused while STARTTLS was greylisted."},
    {"greywall_dp_long_lines_refused_total", "counter",
     "RCPT or STARTTLS lines past max_line with a rejecting verdict, refused."},
    {"greywall_dp_sessions_reset_total", "counter", "Sessions reset behind a 421 to STARTTLS."},
    {"greywall_dp_fragments_dropped_total", "counter",
     "TCP fragments to a protected server, dropped (never reassembled)."},
    {"greywall_dp_syns_dropped_total", "counter",
     "New connections refused while every flow was a live session."},
    {"greywall_dp_log_lines_dropped_total", "counter",
     "--log-verdicts lines lost to a full log ring."},
    {"greywall_dp_segments_dropped_total", "counter",
     "Segments dropped unparsed: ones the server would not take, forged server frames."},
};

/* A port's counters (GW_DP_PORT_COUNTER_NAMES, in order): bytes and packets apart. */
static const struct metric_def dp_port_defs[GW_DP_NPORT_COUNTERS] = {
    {"greywall_dp_port_rx_packets_total", "counter", "Packets received, as the driver counts."},
    {"greywall_dp_port_tx_packets_total", "counter", "Packets sent, as the driver counts."},
    {"greywall_dp_port_rx_bytes_total", "counter", "Bytes received, as the driver counts."},
    {"greywall_dp_port_tx_bytes_total", "counter", "Bytes sent, as the driver counts."},
    {"greywall_dp_port_rx_missed_packets_total", "counter",
     "Packets the port dropped: its receive queues were full."},
    {"greywall_dp_port_rx_errors_total", "counter", "Erroneous packets received."},
    {"greywall_dp_port_tx_errors_total", "counter", "Packets that failed to go out."},
    {"greywall_dp_port_rx_nombuf_total", "counter", "Receive mbuf allocation failures."},
};

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
	static const char *const failopen[GW_FO_COUNT] = {GW_DP_FAILOPEN_NAMES};
	u32 l, p, i;

	for (i = 0; i < GW_DP_NCOUNTERS; i++) {
		metric(o, types, dp_counter_defs[i].name, dp_counter_defs[i].type,
		       dp_counter_defs[i].help);
		for (l = 0; l < dp->nlcores && l < GW_DP_SHM_LCORES; l++)
			put(o, "%s{lcore=\"%u\"} %llu\n", dp_counter_defs[i].name, l,
			    (unsigned long long)((const u64 *)&dp->lcore[l])[i]);
	}
	metric(o, types, "greywall_dp_verdicts_total", "counter",
	       "greywall-dp's verdicts, by lcore.");
	per_lcore(o, dp, "greywall_dp_verdicts_total", "verdict", verdict_names, GW_V_COUNT,
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
	for (i = 0; i < GW_DP_NPORT_COUNTERS; i++) {
		metric(o, types, dp_port_defs[i].name, dp_port_defs[i].type, dp_port_defs[i].help);
		for (p = 0; p < dp->nports && p < GW_DP_SHM_PORTS; p++)
			put(o, "%s{port=\"%u\"} %llu\n", dp_port_defs[i].name, p,
			    (unsigned long long)((const u64 *)&dp->port[p])[i]);
	}
	count(o, types, "greywall_dp_updated_timestamp_seconds", "gauge",
	      "When greywall-dp last published its counters.", (unsigned long long)dp->updated);
}

/*
 * The relay filter's counters, summed over CPUs: the verdicts and the
 * fail-open reasons under the labels greywall-dp and the policy server use,
 * each other counter a metric of its own.
 */
static const char *relay_help(const char *counter)
{
	static const struct {
		const char *counter, *help;
	} h[] = {
	    {"packets", "SMTP segments the XDP program looked at."},
	    {"flows", "SMTP connections (SYNs) it started tracking."},
	    {"replies_injected", "Replies sent in the server's place."},
	    {"replies_resent", "Replies sent again for a retransmitted line."},
	    {"replies_headroom", "Replies written growing the frame at the front (no tailroom)."},
	    {"replies_short", "Replies sent in their short form (no room either way)."},
	    {"tls_greylisted", "STARTTLS commands greylisted (421)."},
	    {"pipelining_masked", "EHLO answers with PIPELINING taken out."},
	    {"segments_translated", "Segments whose seq or ack was moved past the edits."},
	    {"tls_pending_refused", "Plaintext greetings refused while STARTTLS was greylisted."},
	    {"pipelining_refused", "Sessions that pipelined although PIPELINING was masked."},
	    {"closed_dropped", "Client segments after the filter's 421, dropped."},
	    {"edits_folded", "Edits both peers acked past, dropped from the ring."},
	    {"deferred", "Client segments dropped for the client to resend: an RCPT while the edit "
			 "ring was full, bytes before DATA's reply."},
	    {"sessions_reset", "Sessions reset after a greylisted STARTTLS."},
	    {"rcpt_null_sender",
	     "RCPTs judged with the null sender: no MAIL the filter could read."},
	    {"urgent_dropped",
	     "Client segments with urgent data, dropped (the MTA reads them otherwise)."},
	    {"events_dropped", "Verdict events lost to a full ring buffer."},
	    {"table_inserts", "Triplets the filter added to the table."},
	    {"table_full", "Triplets the filter found no room for (failed open)."},
	    {"table_expired", "Entries the filter found expired and replaced."},
	    {"table_contended", "Table updates the filter lost to another CPU (failed open)."},
	    {"table_evicted", "Waiting entries the filter evicted to make room."},
	};
	size_t i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		if (!strcmp(h[i].counter, counter))
			return h[i].help;
	return "A relay filter counter (greywall/relay.h).";
}

static void relay_metrics(struct out *o, int types, const unsigned long long *relay)
{
	static const char *const names[GW_RS_COUNT] = {GW_RELAY_STAT_NAMES};
	char name[96];
	int v;

	metric(o, types, "greywall_relay_verdicts_total", "counter",
	       "The relay filter's verdicts.");
	for (v = 0; v < GW_V_COUNT; v++)
		put(o, "greywall_relay_verdicts_total{verdict=\"%s\"} %llu\n", verdict_names[v],
		    relay[GW_RS_VERDICT_FIRST + v]);
	metric(o, types, "greywall_relay_failopen_total", "counter",
	       "SMTP segments the relay filter left alone, by reason.");
	for (v = GW_RS_FAIL_FIRST; v < GW_RS_COUNT; v++)
		if (!strncmp(names[v], "fail_", 5))
			put(o, "greywall_relay_failopen_total{reason=\"%s\"} %llu\n", names[v] + 5,
			    relay[v]);
	for (v = 0; v < GW_RS_COUNT; v++) {
		if ((v >= GW_RS_VERDICT_FIRST && v < GW_RS_VERDICT_FIRST + GW_V_COUNT) ||
		    !strncmp(names[v], "fail_", 5))
			continue;
		/* "packets" are the SMTP segments the program looked at */
		snprintf(name, sizeof(name), "greywall_relay_%s%s_total",
			 v == GW_RS_PACKETS ? "smtp_" : "", names[v]);
		metric(o, types, name, "counter", relay_help(names[v]));
		put(o, "%s %llu\n", name, relay[v]);
	}
}

size_t gw_metrics_render(const struct gw_metrics_src *m, int types, char *out, size_t cap)
{
	struct out o = {.p = out, .cap = cap};
	const struct gw_table *t[2] = {m->triplets, m->awl};
	int v;

	if (!cap)
		return 0;
	out[0] = 0;
	metric(&o, types, "greywall_build_info", "gauge", "greywall's version, as a label.");
	put(&o, "greywall_build_info{version=\"%s\"} 1\n", GW_VERSION);
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
	if (m->relay)
		relay_metrics(&o, types, m->relay);
	if (m->dp)
		dp_metrics(&o, types, m->dp);
	return o.overflow ? 0 : o.len;
}
