// SPDX-License-Identifier: BSD-2-Clause
/* The checks every file greywall trusts passes before it is read. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "greywall/trusted_file.h"

static uid_t daemon_user;

void gw_trusted_owner_set(uid_t uid)
{
	daemon_user = uid;
}

int gw_trusted_open_fd(const char *path, bool daemon_user_may_own, char *err, size_t errlen)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO for reading must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (%s)", path,
			 S_ISDIR(st.st_mode) ? "a directory" : "a device, FIFO or socket");
		goto bad;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    !(daemon_user_may_own && daemon_user && st.st_uid == daemon_user)) {
		snprintf(err, errlen, "%s: owned by uid %u, not by root or greywall's user", path,
			 (unsigned)st.st_uid);
		goto bad;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "%s: anyone may write it (mode %04o); chmod o-w", path,
			 (unsigned)(st.st_mode & 07777));
		goto bad;
	}
	/* reads block again: a regular file never waits, and stdio wants no EAGAIN */
	if (fcntl(fd, F_SETFL, O_RDONLY)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

FILE *gw_trusted_open(const char *path, bool daemon_user_may_own, char *err, size_t errlen)
{
	int fd = gw_trusted_open_fd(path, daemon_user_may_own, err, errlen);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (f)
		return f;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	close(fd);
	return NULL;
}

int gw_read_line(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	int c, bad = 0;

	while ((c = getc_unlocked(f)) != EOF && c != '\n') {
		if (bad)
			continue;
		if (c == 0)
			bad = GW_LINE_NUL;
		else if (n + 1 >= cap)
			bad = GW_LINE_LONG;
		else
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	if (bad)
		return bad;
	return c != EOF || n > 0;
}

const char *gw_line_error(int rc)
{
	return rc == GW_LINE_NUL ? "a NUL byte in the line (a binary file?)" : "line too long";
}
