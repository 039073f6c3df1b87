// SPDX-License-Identifier: BSD-2-Clause
/*
 * Any bytes as greywall.conf, loaded with gw_conf_load from a file in
 * a directory made once (removed at exit). Invariants: it returns 0 or -1;
 * -1 comes with a reason that names the file, is not empty and ends inside
 * the buffer; the warnings always end inside theirs.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "greywall/conf.h"

static char dir[] = "/tmp/gw-fuzz-config-XXXXXX";
static char path[64];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/greywall.conf", dir);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_conf c;
	char err[512];
	int fd, rc;

	if (size > 64 * 1024)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert(fd >= 0);
	assert(write(fd, data, size) == (ssize_t)size);
	close(fd);
	gw_conf_defaults(&c);
	memset(err, 0xa5, sizeof(err));
	rc = gw_conf_load(&c, path, err, sizeof(err));
	assert(rc == 0 || rc == -1);
	if (rc) {
		assert(memchr(err, 0, sizeof(err)));
		assert(err[0] && !strncmp(err, path, strlen(path)));
	}
	assert(memchr(c.warnings, 0, sizeof(c.warnings)));
	return 0;
}
