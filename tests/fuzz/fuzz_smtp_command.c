// SPDX-License-Identifier: BSD-2-Clause
/* One command line, any bytes: the parser must stay in bounds and say what it found. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/smtp_command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_smtp_cmd c;
	u8 *copy;

	if (size > 4096)
		return 0;
	/* an exact-size heap copy lets ASan see any read past the line */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	gw_smtp_parse_command(copy, (u32)size, &c);
	assert(c.verb < GW_CMD_COUNT);
	assert(c.status <= GW_SMTP_TOO_LONG);
	assert(c.path_len <= GW_PATH_MAX);
	free(copy);
	return 0;
}
