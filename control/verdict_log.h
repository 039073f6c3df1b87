/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One verdict a data path made (the relay filter's ring buffer, greywall-dp's
 * shared rings): logged to syslog in Postfix's NOQUEUE shape, because the
 * MTA behind never sees an RCPT the data path answered, and its triplet's
 * text noted under the table's fingerprint.
 */
#ifndef GREYWALL_CONTROL_VERDICT_LOG_H
#define GREYWALL_CONTROL_VERDICT_LOG_H

#include <stdbool.h>

#include "greywall/policy.h"
#include "names.h"

struct gw_verdict_sink {
	const struct gw_config *pc; /* the data path's normalisation and prefixes */
	const u64 *secret;	    /* the triplet table's */
	struct gw_names *names;	    /* may be NULL */
	const char *origin;	    /* "relay filter", "greywall-dp" */
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

#endif /* GREYWALL_CONTROL_VERDICT_LOG_H */
