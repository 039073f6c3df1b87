// SPDX-License-Identifier: BSD-2-Clause
#include "json.h"

size_t gw_utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	/* the ranges of RFC 3629's UTF8-2..UTF8-4, which leave out overlongs and surrogates */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void gw_json_string(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;

	putc('"', f);
	while (i < n) {
		if (s[i] == '"' || s[i] == '\\') {
			fprintf(f, "\\%c", s[i++]);
		} else if (s[i] < 0x20) {
			fprintf(f, "\\u%04x", s[i++]);
		} else if (!(k = gw_utf8_seq_len(s + i, n - i))) {
			fprintf(f, "\\u%04x", s[i++]); /* not UTF-8: the byte as Latin-1 */
		} else {
			fwrite(s + i, 1, k, f);
			i += k;
		}
	}
	putc('"', f);
}
