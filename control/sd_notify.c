// SPDX-License-Identifier: BSD-2-Clause
/*
 * The sd_notify(3) protocol without libsystemd: one datagram with the state text to the
 * AF_UNIX socket named by $NOTIFY_SOCKET ('@' at its start means the abstract namespace).
 * Ten lines do not justify a library dependency for a daemon that also runs without systemd.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd_notify.h"

int gw_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len;
	ssize_t n;
	int fd, saved;

	if (!path || !path[0])
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* an abstract address's length counts its bytes exactly; no terminating NUL */
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/')));
	saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}
