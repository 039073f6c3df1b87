// SPDX-License-Identifier: BSD-2-Clause
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

static int put(char *out, size_t cap, size_t *n, const char *s)
{
	for (; s && *s; s++) {
		if (*n + 3 > cap)
			return -1;
		out[(*n)++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	}
	return 0;
}

int gw_reply_render(const char *t, const struct gw_reply_vars *v, char *out, size_t cap)
{
	char num[16];
	size_t n = 0;

	for (; *t; t++) {
		char one[2] = {*t, 0};
		const char *s = one;

		if (*t == '%' && t[1]) {
			t++;
			switch (*t) {
			case 'r':
				s = v->rcpt;
				break;
			case 's':
				s = v->sender;
				break;
			case 'c':
				s = v->client;
				break;
			case 't':
				snprintf(num, sizeof(num), "%u", v->seconds);
				s = num;
				break;
			default:
				one[0] = *t;
			}
		}
		if (put(out, cap, &n, s) != 0)
			return -1;
	}
	if (n + 3 > cap)
		return -1;
	out[n++] = '\r';
	out[n++] = '\n';
	out[n] = 0;
	return (int)n;
}
