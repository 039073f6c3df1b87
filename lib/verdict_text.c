// SPDX-License-Identifier: BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "greywall/verdict_text.h"

const char *gw_verdict_action(enum gw_verdict v)
{
	if (v == GW_V_GREYLIST)
		return "greylist";
	return v == GW_V_BLACKLIST ? "reject" : "pass";
}

/* Which list decided, in postgrey's words ("client whitelist"); "" when not known. */
static const char *list_kind(u8 bits)
{
	if (bits & GW_LIST_CLIENT)
		return "client ";
	if (bits & GW_LIST_RCPT)
		return "recipient ";
	if (bits & GW_LIST_SENDER)
		return "sender ";
	return "";
}

void gw_verdict_reason(const struct gw_verdict_text *t, char *out, size_t cap)
{
	switch (t->verdict) {
	case GW_V_GREYLIST:
		/* postgrey: "new" when first seen this second, else the seconds still to wait */
		if (t->remaining >= t->delay)
			snprintf(out, cap, "new");
		else
			snprintf(out, cap, "early-retry (%us missing)", t->remaining);
		return;
	case GW_V_PASS:
		snprintf(out, cap, "triplet found");
		return;
	case GW_V_PASS_AWL:
		snprintf(out, cap, "client AWL");
		return;
	case GW_V_PASS_WHITELIST:
		snprintf(out, cap, "%swhitelist", list_kind(t->white));
		return;
	case GW_V_PASS_EXEMPT:
		/* postgrey's default recipient whitelist holds postmaster@ and abuse@ */
		snprintf(out, cap, "recipient whitelist");
		return;
	case GW_V_BLACKLIST:
		snprintf(out, cap, "%sblacklist", list_kind(t->black));
		return;
	case GW_V_FAIL_OPEN:
		snprintf(out, cap, "fail-open");
		return;
	default:
		snprintf(out, cap, "unknown");
	}
}

struct line {
	char *p;
	size_t len, cap;
};

static void add(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len + 1 >= l->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->p + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = l->len + (size_t)n < l->cap ? l->len + (size_t)n : l->cap - 1;
}

void gw_verdict_line(const struct gw_verdict_text *t, char *out, size_t cap)
{
	const char *client_name = t->client_name && *t->client_name ? t->client_name : "unknown";
	const char *cmd = t->starttls ? "STARTTLS" : "RCPT";
	struct line l = {out, 0, cap};
	char reason[64];
	size_t i;

	if (!cap)
		return;
	out[0] = 0;
	if (t->reply && gw_verdict_rejects(t->verdict)) {
		/* Postfix smtpd's reject line, without the NOQUEUE pflogsumm would not count here
		 */
		add(&l, "reject: %s from %s[%s]: %.*s", cmd, client_name, t->client_address,
		    (int)strcspn(t->reply, "\r\n"), t->reply);
		if (!t->starttls)
			add(&l, "; from=<%s> to=<%s>", t->sender ? t->sender : "",
			    t->rcpt ? t->rcpt : "");
		else
			add(&l, ";");
		add(&l, " proto=ESMTP");
		if (t->helo)
			add(&l, " helo=<%s>", t->helo);
	} else {
		/* postgrey leaves out an attribute Postfix sent empty */
		gw_verdict_reason(t, reason, sizeof(reason));
		add(&l, "action=%s, reason=%s, client_name=%s, client_address=%s",
		    gw_verdict_action(t->verdict), reason, client_name, t->client_address);
		if (t->sender && *t->sender)
			add(&l, ", sender=%s", t->sender);
		if (t->rcpt && *t->rcpt)
			add(&l, ", recipient=%s", t->rcpt);
		if (t->starttls)
			add(&l, ", command=STARTTLS");
	}
	if (t->origin)
		add(&l, " (%s)", t->origin);
	for (i = 0; i < l.len; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
}

bool gw_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return v && sscanf(v, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}
