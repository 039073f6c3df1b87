// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "greywall/control_socket.h"

static int mkdir_parent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int gw_control_listen(const char *path, const char *group, char *warning, size_t warnlen, char *err,
		      size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct group *gr = group[0] ? getgrnam(group) : NULL;
	mode_t mode = gr ? 0660 : 0600;
	int fd;

	warning[0] = 0;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control_socket %s: path too long", path);
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (mkdir_parent(path, err, errlen))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* a socket file someone still answers on belongs to a running instance */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		snprintf(err, errlen, "%s: another instance is answering there", path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* the owner stays whoever runs the daemon: under systemd that is User=greywall, who may
	 * give the socket to a group of its own but not to root */
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, mode) ||
	    (gr && chown(path, (uid_t)-1, gr->gr_gid)) || listen(fd, 128)) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!gr)
		snprintf(
		    warning, warnlen,
		    "group '%s' does not exist: %s is root-only (groupadd --system %s to share it)",
		    group, path, group[0] ? group : "greywall");
	return fd;
}

enum gw_control_result gw_control_ask(const char *path, const char *cmd, char *out, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = 0;
	int fd;

	out[0] = 0;
	if (!path[0] || strlen(path) >= sizeof(sa.sun_path))
		return GW_CONTROL_ABSENT;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return GW_CONTROL_ABSENT;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		return e == EACCES || e == EPERM ? GW_CONTROL_REFUSED : GW_CONTROL_ABSENT;
	}
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || write(fd, "\n", 1) != 1) {
		close(fd);
		return GW_CONTROL_ABSENT;
	}
	while (len + 1 < cap) {
		ssize_t r = read(fd, out + len, cap - 1 - len);

		if (r <= 0)
			break;
		len += (size_t)r;
	}
	out[len] = 0;
	close(fd);
	return GW_CONTROL_DONE;
}
