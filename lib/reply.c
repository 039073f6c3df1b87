// SPDX-License-Identifier: BSD-2-Clause
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "greywall/reply.h"

int gw_reply_template_check(const char *t, char *err, size_t errlen)
{
	size_t i;

	if (strlen(t) < 4 || (t[0] != '4' && t[0] != '5') || t[1] < '0' || t[1] > '9' ||
	    t[2] < '0' || t[2] > '9' || t[3] != ' ') {
		snprintf(err, errlen, "a reply must start with a 4xx or 5xx code and a space");
		return -1;
	}
	if (strlen(t) > GW_REPLY_MAX - 64) {
		snprintf(err, errlen, "reply template longer than %d characters",
			 GW_REPLY_MAX - 64);
		return -1;
	}
	for (i = 0; t[i]; i++) {
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f) {
			snprintf(err, errlen, "control character at offset %zu", i);
			return -1;
		}
		if (t[i] == '%') {
			i++;
			if (!strchr("rsct%", t[i]) || t[i] == 0) {
				snprintf(err, errlen,
					 "unknown placeholder '%%%c' (use %%r %%s %%c %%t %%%%)",
					 t[i] ? t[i] : '?');
				return -1;
			}
		}
	}
	return 0;
}

/* s, at most max bytes of it (its end replaced by "..." when cut), control bytes as '?'. */
static int put(char *out, size_t cap, size_t *n, const char *s, size_t max)
{
	size_t len = s ? strlen(s) : 0, i;
	bool cut = len > max;

	if (cut)
		len = max > 3 ? max - 3 : 0;
	for (i = 0; i < len; i++) {
		if (*n + 3 > cap)
			return -1;
		out[(*n)++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	}
	for (i = 0; cut && i < 3 && max >= 3; i++) {
		if (*n + 3 > cap)
			return -1;
		out[(*n)++] = '.';
	}
	return 0;
}

static const char *expand(char c, const struct gw_reply_vars *v, char *num, size_t numlen)
{
	switch (c) {
	case 'r':
		return v->rcpt;
	case 's':
		return v->sender;
	case 'c':
		return v->client;
	case 't':
		snprintf(num, numlen, "%u", v->seconds);
		return num;
	default:
		return NULL;
	}
}

/*
 * The template with its placeholders filled in. An address can be as long as
 * the MTA's line allows, so %r and %s share what room the rest leaves and are
 * shortened to fit: a long name must never cost the verdict its reply.
 */
int gw_reply_render(const char *t, const struct gw_reply_vars *v, char *out, size_t cap)
{
	char num[16];
	size_t n = 0, fixed = 0, names = 0, share;
	const char *p;

	for (p = t; *p; p++) {
		if (*p == '%' && (p[1] == 'r' || p[1] == 's')) {
			names++;
			p++;
		} else if (*p == '%' && p[1]) {
			const char *s = expand(p[1], v, num, sizeof(num));

			fixed += s ? strlen(s) : 1;
			p++;
		} else {
			fixed++;
		}
	}
	if (fixed + 3 > cap)
		return -1;
	share = names ? (cap - 3 - fixed) / names : 0;
	for (; *t; t++) {
		char one[2] = {*t, 0};
		const char *s = one;
		size_t max = SIZE_MAX;

		if (*t == '%' && t[1]) {
			t++;
			s = expand(*t, v, num, sizeof(num));
			if (!s) {
				one[0] = *t;
				s = one;
			}
			if (*t == 'r' || *t == 's')
				max = share;
		}
		if (put(out, cap, &n, s, max) != 0)
			return -1;
	}
	if (n + 3 > cap)
		return -1;
	out[n++] = '\r';
	out[n++] = '\n';
	out[n] = 0;
	return (int)n;
}
