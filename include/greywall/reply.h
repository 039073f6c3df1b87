/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Reply templates. People read the bounces broken MTAs make of a 450, so the
 * text says what happened and when to retry.
 *   %r recipient   %s sender   %c client address   %t seconds to wait   %% a '%'
 */
#ifndef GREYWALL_REPLY_H
#define GREYWALL_REPLY_H

#include <stddef.h>

#include "compiler.h"

#define GW_REPLY_MAX 512

/*
 * What Postfix puts before a policy server's DEFER_IF_PERMIT or REJECT text:
 * greywall-dp writes the same around greywall.conf's texts, so a sender reads
 * one reply whichever path judged it.
 */
#define GW_REPLY_GREYLIST_CODE	   "450 4.7.1 <%r>: Recipient address rejected: "
#define GW_REPLY_BLACKLIST_CODE	   "550 5.7.1 <%r>: Recipient address rejected: "
#define GW_REPLY_TLS_CODE	   "421 4.7.0 "
#define GW_REPLY_GREYLIST_DEFAULT  GW_REPLY_GREYLIST_CODE "Greylisted, retry in %t seconds"
#define GW_REPLY_BLACKLIST_DEFAULT GW_REPLY_BLACKLIST_CODE "Access denied"
#define GW_REPLY_TLS_DEFAULT	   GW_REPLY_TLS_CODE "Greylisted, try again later"
/* The relay filter's fallbacks when a frame cannot grow (relay.h) */
#define GW_REPLY_GREYLIST_SHORT	 "450 4.7.1 Greylisted"
#define GW_REPLY_BLACKLIST_SHORT "550 5.7.1 Denied"

struct gw_reply_vars {
	const char *rcpt;
	const char *sender;
	const char *client;
	u32 seconds;
};

/*
 * Check a template: it starts with a 4xx/5xx code and a space, has only
 * known placeholders and printable characters. Returns 0 or -1 with err set.
 */
int gw_reply_template_check(const char *tmpl, char *err, size_t errlen);

/*
 * Render into out with CRLF appended. Values with control characters are
 * replaced by '?', so no input can end the reply line early. Returns the
 * length, or -1 if it does not fit.
 */
int gw_reply_render(const char *tmpl, const struct gw_reply_vars *v, char *out, size_t cap);

#endif /* GREYWALL_REPLY_H */
