/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Opening the files greywall trusts (greywall.conf, the list files) and
 * reading them line by line. A file that decides who gets through must be a
 * regular file that only root or greywall's own user can write: anything
 * else is refused with the reason, before a byte of it is believed.
 */
#ifndef GREYWALL_TRUSTED_FILE_H
#define GREYWALL_TRUSTED_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * The user greywalld drops to, which writes the snapshots and may own the
 * list files it reloads (0 = none: only root and the caller own trusted files).
 */
void gw_trusted_owner_set(uid_t uid);

/*
 * Open path for reading: a descriptor, or -1 with the reason in err. Refused:
 * anything but a regular file (a directory reads as an empty file, a FIFO
 * would hang the reader), a file owned by anyone but root, the caller or (if
 * daemon_user_may_own) greywall's user, and a file anyone may write.
 */
int gw_trusted_open_fd(const char *path, bool daemon_user_may_own, char *err, size_t errlen);

/* The same, as a stdio stream for line reading. */
FILE *gw_trusted_open(const char *path, bool daemon_user_may_own, char *err, size_t errlen);

enum {
	GW_LINE_LONG = -1, /* the line does not fit the buffer */
	GW_LINE_NUL = -2,  /* the line holds a NUL byte: a binary file, or a trick */
};

/*
 * One line into buf without its newline: 1, 0 at the end of the file, or
 * GW_LINE_LONG / GW_LINE_NUL (fgets cannot tell the two apart). A bad line is
 * read to its end all the same, so the next call starts on the next line.
 */
int gw_read_line(FILE *f, char *buf, size_t cap);

/* The reason for a GW_LINE_* code, for "FILE:LINE: reason" messages. */
const char *gw_line_error(int rc);

#endif
