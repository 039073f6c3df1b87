// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "control.h"
#include "greywall/control_socket.h"

#define CONTROL_LINE_MAX     256
#define CONTROL_CLIENT_SECS  1 /* a client that dawdles longer is dropped */
#define INSTALL_TIMEOUT_SECS 5

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * Load the list files and wait until the main lcore has put them in force,
 * so "ok" means every packet from now on is judged by them. The answer (an
 * "ok" or "error:" line and a detail line) goes to out and to stdout.
 */
static void reload_lists(struct gw_dp_control *c, char *out, size_t cap)
{
	struct gw_lists *n, *unclaimed;
	char err[512];
	uint64_t ticket;
	int waited;

	n = gw_dp_load_lists(&c->cfg->conf, err, sizeof(err));
	if (!n) {
		snprintf(out, cap, "error: %s (the old lists stay in force)\n", err);
		printf("greywall-dp: reload refused, keeping the current lists: %s\n", err);
		fflush(stdout);
		return;
	}
	/* counted before it is handed over: whoever takes it then sees its ticket */
	ticket = __atomic_add_fetch(&c->handed, 1, __ATOMIC_RELEASE);
	/* a set handed earlier and never taken is replaced: the newest files win */
	unclaimed = __atomic_exchange_n(&c->pending, n, __ATOMIC_ACQ_REL);
	gw_lists_free(unclaimed);
	for (waited = 0; __atomic_load_n(&c->installed, __ATOMIC_ACQUIRE) < ticket; waited++) {
		if (*c->stop || waited >= INSTALL_TIMEOUT_SECS * 1000) {
			snprintf(out, cap,
				 "error: the forwarding loop did not take the new lists within "
				 "%d s; they go in force when it does\n",
				 INSTALL_TIMEOUT_SECS);
			return;
		}
		sleep_ms(1);
	}
	snprintf(out, cap, "ok\nlists reloaded: %zu entries\n", gw_lists_size(n));
	printf("greywall-dp: lists reloaded: %zu entries\n", gw_lists_size(n));
	fflush(stdout);
}

static void serve_client(struct gw_dp_control *c, int fd)
{
	struct timeval limit = {CONTROL_CLIENT_SECS, 0};
	char line[CONTROL_LINE_MAX], answer[1024];
	size_t len = 0;
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
	while (len + 1 < sizeof(line) && !memchr(line, '\n', len)) {
		r = read(fd, line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	line[len] = 0;
	if (!memchr(line, '\n', len))
		snprintf(answer, sizeof(answer), "error: expected one command line\n");
	else if (memchr(line, 0, len))
		snprintf(answer, sizeof(answer), "error: a NUL in the command line\n");
	else {
		line[strcspn(line, "\r\n")] = 0;
		if (!strcmp(line, "ping"))
			snprintf(answer, sizeof(answer), "ok\n");
		else if (!strcmp(line, "reload"))
			reload_lists(c, answer, sizeof(answer));
		else
			snprintf(answer, sizeof(answer),
				 "error: unknown command '%.64s' (ping, reload)\n", line);
	}
	if (write(fd, answer, strlen(answer)) < 0) {
		/* the client went away: nothing to tell it */
	}
}

/*
 * Whether greywalld has replaced published_lists since the last look (a new
 * inode, mtime or size; its appearing or going counts too).
 */
static bool published_changed(struct gw_dp_control *c)
{
	struct stat st;
	bool there = stat(c->cfg->conf.published_lists, &st) == 0, changed;

	changed = there != c->published_seen ||
		  (there &&
		   (st.st_ino != c->published_st.st_ino || st.st_size != c->published_st.st_size ||
		    st.st_mtim.tv_sec != c->published_st.st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != c->published_st.st_mtim.tv_nsec));
	c->published_seen = there;
	if (there)
		c->published_st = st;
	return changed;
}

static void *control_main(void *arg)
{
	struct gw_dp_control *c = arg;
	char answer[1024];
	unsigned loops = 0;

	/* no baseline: the start read the file before this thread ran, and greywalld may have
	 * replaced it since, so the first look (a second in) reloads if the file is there */
	while (!*c->stop) {
		struct pollfd p = {.fd = c->listen_fd, .events = POLLIN};
		int ready = poll(&p, c->listen_fd >= 0 ? 1 : 0, 100);

		/* about once a second: what greywalld published goes in force as a reload */
		if (c->cfg->conf.published_lists[0] && ++loops % 10 == 0 && published_changed(c))
			*c->reload_asked = 1;
		if (*c->reload_asked) {
			*c->reload_asked = 0;
			reload_lists(c, answer, sizeof(answer));
		}
		if (ready > 0 && (p.revents & POLLIN)) {
			int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				serve_client(c, fd);
				close(fd);
			}
		}
	}
	return NULL;
}

int gw_dp_control_start(struct gw_dp_control *c, const struct gw_dp_config *cfg,
			volatile sig_atomic_t *stop, volatile sig_atomic_t *reload_asked, char *err,
			size_t errlen)
{
	char warning[512];
	int rc;

	memset(c, 0, sizeof(*c));
	c->listen_fd = -1;
	c->cfg = cfg;
	c->stop = stop;
	c->reload_asked = reload_asked;
	if (cfg->conf.dp_control_socket[0]) {
		c->listen_fd =
		    gw_control_listen(cfg->conf.dp_control_socket, cfg->conf.control_group, warning,
				      sizeof(warning), err, errlen);
		if (c->listen_fd < 0)
			return -1;
		if (warning[0])
			printf("greywall-dp: %s\n", warning);
	}
	/* a control thread: on the cores EAL leaves to the system, never a forwarding lcore */
	rc = rte_ctrl_thread_create(&c->thread, "gw-control", NULL, control_main, c);
	if (rc) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(rc));
		if (c->listen_fd >= 0)
			close(c->listen_fd);
		c->listen_fd = -1;
		return -1;
	}
	c->running = 1;
	return 0;
}

struct gw_lists *gw_dp_control_take_lists(struct gw_dp_control *c)
{
	if (!__atomic_load_n(&c->pending, __ATOMIC_RELAXED))
		return NULL;
	return __atomic_exchange_n(&c->pending, NULL, __ATOMIC_ACQ_REL);
}

void gw_dp_control_lists_installed(struct gw_dp_control *c)
{
	/* handed is the control thread's; it bumped it before it waits on installed */
	__atomic_store_n(&c->installed, __atomic_load_n(&c->handed, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
}

void gw_dp_control_stop(struct gw_dp_control *c)
{
	if (c->running)
		pthread_join(c->thread, NULL);
	c->running = 0;
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->cfg->conf.dp_control_socket);
	}
	c->listen_fd = -1;
	gw_lists_free(c->pending);
	c->pending = NULL;
}
