/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One verdict as a log line, in the shapes that mail operators' tools already
 * read, for every path that decides (the policy server, greywall-dp, the relay
 * filter as greywalld hears of it):
 *
 *  - An RCPT (or STARTTLS) a data path rejected is logged as Postfix's smtpd
 *    logs a reject, "reject: RCPT from unknown[ADDR]: 450 4.7.1 ...; from=<S>
 *    to=<R>", because the MTA behind never sees that RCPT and so never logs
 *    it. pflogsumm counts such a line under the default ident
 *    "postfix/greywall": it counts a line whose first word after the program
 *    is "reject:" from any postfix/ program, but a "NOQUEUE: reject:" line only
 *    from postfix/smtpd, which greywall must not pretend to be.
 *  - Everything else is logged as postgrey logs it (mylog_action in
 *    /usr/sbin/postgrey): "action=greylist, reason=new, client_name=N,
 *    client_address=A, sender=S, recipient=R", with postgrey's words for the
 *    reasons, so its log watchers keep working. The policy server logs its
 *    greylists so too: Postfix logs the reject itself, and a second reject
 *    line would be counted twice.
 */
#ifndef GREYWALL_VERDICT_TEXT_H
#define GREYWALL_VERDICT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/*
 * The syslog ident of greywalld and greywall-dp: pflogsumm reads a line as
 * Postfix's when its program is postfix/SOMETHING, and the data paths' reject
 * lines then count as rejections.
 */
#define GW_SYSLOG_IDENT_DEFAULT "postfix/greywall"

struct gw_verdict_text {
	enum gw_verdict verdict;
	u8 white, black;	    /* the GW_LIST_* bits that matched, when known (else 0) */
	bool starttls;		    /* STARTTLS (or a greeting refused while it is greylisted) */
	u32 remaining;		    /* seconds a greylisted retry still has to wait */
	u32 delay;		    /* the configured delay: remaining == delay is a new triplet */
	const char *client_name;    /* NULL: "unknown", as Postfix says for no name */
	const char *client_address; /* printable */
	const char *sender, *rcpt;  /* as the client wrote them; NULL or "" for none */
	const char *helo;	    /* NULL: not known (reject lines only, as Postfix) */
	const char *reply;	    /* the reply the data path sent (rejects only); NULL: none */
	const char *origin;	    /* "greywall-dp", "relay filter"; NULL: the policy server */
};

/* postgrey's action for a verdict: "greylist", "pass" or "reject". */
const char *gw_verdict_action(enum gw_verdict v);

/* postgrey's reason for t's verdict ("new", "early-retry (12s missing)", "client whitelist"...). */
void gw_verdict_reason(const struct gw_verdict_text *t, char *out, size_t cap);

/*
 * The whole line (without a newline), cut to cap. Bytes below 0x20 and 0x7f
 * in the names become '?', so no input can split a log line.
 */
void gw_verdict_line(const struct gw_verdict_text *t, char *out, size_t cap);

/*
 * Whether stderr is systemd's journal (JOURNAL_STREAM names its device and
 * inode): syslog's copy of a line lands there already, so LOG_PERROR would
 * log it twice. Redirected elsewhere (a file, a terminal), it is not.
 */
bool gw_stderr_is_journal(void);

#endif /* GREYWALL_VERDICT_TEXT_H */
