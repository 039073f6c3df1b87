/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The control sockets greyctl talks to: greywalld's and greywall-dp's. Both
 * speak one protocol: the client sends one command line; the server answers
 * with lines and closes. The first answer line is "ok" or "error: REASON".
 * Each instance's socket is named in its configuration, so greyctl reaches the
 * instance its configuration names and no other.
 */
#ifndef GREYWALL_CONTROL_SOCKET_H
#define GREYWALL_CONTROL_SOCKET_H

#include <stddef.h>

#define GW_DP_CONTROL_SOCKET_DEFAULT "/run/greywall/greywall-dp.sock"

/*
 * Listen on a UNIX socket at path, mode 0660, group 'group'. A stale socket
 * is replaced; a live one (another instance) is an error. If the group does
 * not exist the socket is root-only (0600) and *warning says so. Returns the
 * fd (non-blocking), or -1 with a reason in err.
 */
int gw_control_listen(const char *path, const char *group, char *warning, size_t warnlen, char *err,
		      size_t errlen);

enum gw_control_result {
	GW_CONTROL_DONE = 0,	/* answered: the answer is in out */
	GW_CONTROL_REFUSED = 1, /* no permission to connect */
	GW_CONTROL_ABSENT = 2,	/* no socket, or nobody answers on it */
};

/*
 * Send cmd (one line, without its newline) to the socket at path and read
 * the whole answer into out (NUL-terminated, cut at cap - 1 bytes). An empty
 * path is GW_CONTROL_ABSENT.
 */
enum gw_control_result gw_control_ask(const char *path, const char *cmd, char *out, size_t cap);

#endif /* GREYWALL_CONTROL_SOCKET_H */
