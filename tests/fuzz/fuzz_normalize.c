// SPDX-License-Identifier: BSD-2-Clause
/* Normalisation of any bytes: bounded output, lowercase, never longer than the input. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_norm_opts o;
	u8 out[GW_ADDR_MAX], *copy;
	int n, i;

	if (size < 1 || size > GW_ADDR_MAX + 16)
		return 0;
	o.strip_extension = data[0] & 1;
	o.verp_fold = data[0] & 2;
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	n = gw_normalize_address(copy, (u32)(size - 1), out, &o, data[0] & 4);
	if (n >= 0) {
		assert(n <= (int)(size - 1) || (n == (int)size && out[n - 1] != '@'));
		assert(n <= GW_ADDR_MAX);
		for (i = 0; i < n; i++) {
			assert(!(out[i] >= 'A' && out[i] <= 'Z'));
			assert(out[i] >= 0x20 && out[i] != 0x7f);
		}
	} else {
		assert(n == GW_NORM_TOO_LONG || n == GW_NORM_BAD_CHAR);
	}
	free(copy);
	return 0;
}
