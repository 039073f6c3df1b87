/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A JSON string from bytes a client sent (an envelope address, a HELO name),
 * which need not be UTF-8. The output is ASCII-safe, valid UTF-8 JSON that
 * strict parsers take: valid UTF-8 goes through as it is, '"', '\' and
 * control characters are escaped, and each byte that is not part of a valid
 * UTF-8 sequence (overlong forms, surrogates and code points past U+10FFFF
 * included) becomes \u00XX, that byte read as Latin-1 (0xff -> "\u00ff").
 * Lone surrogate escapes (\udcXX, Python's surrogateescape) would give the
 * bytes back exactly, but I-JSON forbids them and strict parsers refuse them;
 * a valid "ÿ" and a lone 0xff byte read the same, and the fingerprint tells
 * such triplets apart.
 */
#ifndef GREYWALL_CONTROL_JSON_H
#define GREYWALL_CONTROL_JSON_H

#include <stddef.h>
#include <stdio.h>

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0 if s[0] does not start one. */
size_t gw_utf8_seq_len(const unsigned char *s, size_t n);

/* s (n bytes) as a quoted JSON string into f. */
void gw_json_string(FILE *f, const char *s, size_t n);

#endif /* GREYWALL_CONTROL_JSON_H */
