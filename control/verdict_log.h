/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One verdict a data path made (the relay filter's ring buffer, greywall-dp's
 * shared rings): logged to syslog, a reject as Postfix's smtpd logs one
 * because the MTA behind never sees an RCPT the data path answered
 * (greywall/verdict_text.h), and its triplet's text noted under the table's
 * fingerprint.
 */
#ifndef GREYWALL_CONTROL_VERDICT_LOG_H
#define GREYWALL_CONTROL_VERDICT_LOG_H

#include <stdbool.h>

#include "greywall/lists.h"
#include "greywall/policy.h"
#include "names.h"

/*
 * The passes a data path reported, each waiting for the MTA behind it to ask
 * the policy server about the same RCPT (the backstop deployment: the relay
 * filter plus greywalld as Postfix's check_policy_service on the same maps).
 * Each pass leaves one credit that the policy request takes, so a pass is
 * judged and counted once, by the data path. Direct-mapped by fingerprint: a
 * collision drops the older credits, and that RCPT is then judged again (a
 * pass counted twice, never a greylist the data path did not give).
 */
#define GW_JUDGED_SLOTS 4096
/*
 * Seconds a credit waits for its policy request. Postfix asks within
 * milliseconds, or after the restrictions listed before the policy service
 * (DNS lists can take seconds); a stale credit only spares the count of a
 * later pass of the same triplet.
 */
#define GW_JUDGED_WINDOW 30

struct gw_judged_slot {
	u64 fp;
	u64 time; /* Unix seconds of the latest pass */
	u32 credits;
	u8 verdict;
};

struct gw_judged {
	struct gw_judged_slot slot[GW_JUDGED_SLOTS];
};

/* A data path let the RCPT of triplet fp through with verdict (a pass kind). */
void gw_judged_note(struct gw_judged *j, u64 fp, u64 time, u8 verdict);

/* Take one credit for fp if a data path passed it within the window: its verdict, else -1. */
int gw_judged_take(struct gw_judged *j, u64 fp, u64 now);

struct gw_verdict_sink {
	const struct gw_config *pc; /* the data path's normalisation and prefixes */
	const u64 *secret;	    /* the triplet table's */
	struct gw_names *names;	    /* may be NULL */
	const char *origin;	    /* "relay filter", "greywall-dp" */
	struct gw_judged *judged;   /* passes for the policy server to take; may be NULL */
	/* the daemon's current lists, for the client's sender pool; may be NULL */
	struct gw_lists *const volatile *lists;
};

struct gw_verdict_seen {
	u64 time; /* Unix seconds */
	u8 verdict, family;
	bool starttls;		 /* a STARTTLS pseudo-triplet: logged, not named */
	bool sender_normalized;	 /* the relay filter sends it so */
	const u8 *client;	 /* 16 bytes */
	const u8 *sender, *rcpt; /* rcpt as the client wrote it */
	u16 sender_len, rcpt_len;
	u32 remaining;
};

void gw_verdict_record(const struct gw_verdict_sink *sink, const struct gw_verdict_seen *v);

/*
 * Every table verdict of every data path (the relay filter's and greywall-dp's
 * events, the policy server's decisions) goes through this when it is set:
 * the cluster sync (cluster.h) publishes them. NULL: a node alone.
 */
extern void (*gw_verdict_hook)(u64 fp, const struct gw_client_net *net, int verdict);

#endif /* GREYWALL_CONTROL_VERDICT_LOG_H */
