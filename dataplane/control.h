/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywall-dp's control socket (greywall/control_socket.h), served by a
 * control thread: a slow client or a large list file never holds up a
 * forwarding lcore. Commands:
 *   ping     ok
 *   reload   ok and "lists reloaded: N entries" once the lcores use them, or
 *            error: REASON with the old lists kept
 * SIGHUP reloads the same way, with the result on stdout only.
 *
 * The thread parses the list files; the main lcore only swaps one pointer,
 * between its bursts, when it takes the set the thread left for it.
 */
#ifndef GREYWALL_DP_CONTROL_H
#define GREYWALL_DP_CONTROL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdint.h>

#include "options.h"

struct gw_dp_control {
	int listen_fd; /* -1: no socket, SIGHUP only */
	pthread_t thread;
	int running;
	const struct gw_dp_config *cfg;
	volatile sig_atomic_t *stop;	     /* set when greywall-dp stops */
	volatile sig_atomic_t *reload_asked; /* set by SIGHUP */
	struct gw_lists *pending;	     /* loaded, waiting for the main lcore */
	uint64_t handed, installed;	     /* sets handed over and put in force, counted */
	struct stat published_st;	     /* published_lists when last looked at */
	bool published_seen;
};

/*
 * Listen on cfg->control_socket (none when empty) and start the thread.
 * 0, or -1 with the reason in err.
 */
int gw_dp_control_start(struct gw_dp_control *c, const struct gw_dp_config *cfg,
			volatile sig_atomic_t *stop, volatile sig_atomic_t *reload_asked, char *err,
			size_t errlen);

/* Main lcore: the list set waiting to be put in force, or NULL. */
struct gw_lists *gw_dp_control_take_lists(struct gw_dp_control *c);

/* Main lcore: the set last taken is in force (the reload is answered now). */
void gw_dp_control_lists_installed(struct gw_dp_control *c);

/* After *stop is set: join the thread, close and remove the socket. */
void gw_dp_control_stop(struct gw_dp_control *c);

#endif /* GREYWALL_DP_CONTROL_H */
