// SPDX-License-Identifier: BSD-2-Clause
/* greyctl ping, reload, snapshot: asking the running daemons. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "greyctl.h"

/* ping: whether greywalld answers on its control socket. */
static int cmd_ping(void)
{
	char answer[256];
	enum gw_control_result r = control_request("ping", answer, sizeof(answer));

	if (r == GW_CONTROL_REFUSED)
		return EXIT_FAIL;
	if (r == GW_CONTROL_ABSENT) {
		fprintf(stderr, "greyctl: greywalld does not answer on %s\n",
			cfg.control_socket[0] ? cfg.control_socket : "(control_socket is off)");
		return EXIT_FAIL;
	}
	return control_answer("alive", answer) ? EXIT_FAIL : EXIT_OK;
}

/* snapshot: greywalld writes its snapshot now. */
static int cmd_snapshot(void)
{
	char answer[4096];
	enum gw_control_result r = control_request("snapshot", answer, sizeof(answer));
	long pid;

	if (r == GW_CONTROL_REFUSED)
		return EXIT_FAIL;
	if (r == GW_CONTROL_DONE)
		return control_answer("snapshot", answer) ? EXIT_FAIL : EXIT_OK;
	pid = greywalld_pid();
	if (pid <= 0 || kill((pid_t)pid, SIGUSR1)) {
		fprintf(stderr, "greyctl: no greywalld answers on %s or holds %s\n",
			cfg.control_socket[0] ? cfg.control_socket : "(control_socket is off)",
			cfg.table_path);
		return EXIT_FAIL;
	}
	printf("greyctl: snapshot requested\n");
	return EXIT_OK;
}

/* reload: this configuration's greywalld and greywall-dp reload their lists. */
static int cmd_reload(void)
{
	return report_reload();
}

static int run_ping(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_ping, argc, argv, 0, &first);

	return rc >= 0 ? rc : cmd_ping();
}

static int run_snapshot(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_snapshot, argc, argv, 0, &first);

	return rc >= 0 ? rc : cmd_snapshot();
}

static int run_reload(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_reload, argc, argv, 0, &first);

	return rc >= 0 ? rc : cmd_reload();
}

const struct greyctl_command greyctl_reload = {
    "reload",
    "",
    "  reload                     greywalld and greywall-dp reload their lists, each over\n"
    "                             its control socket, and say how many entries are in\n"
    "                             force or why a file is refused\n",
    "greywalld (control_socket) and greywall-dp (dp_control_socket) reload the whitelist\n"
    "and blacklist files and say how many entries are now in force, or why a file is\n"
    "refused (exit 1; the old lists stay in force). Only the instances this\n"
    "configuration names are asked. Without a greywalld socket, the greywalld holding\n"
    "table_path's lock gets SIGHUP; with relay_maps and no greywalld, greyctl publishes\n"
    "the lists into the relay filter's maps itself.\n",
    run_reload,
};

const struct greyctl_command greyctl_snapshot = {
    "snapshot",
    "",
    "  snapshot                   greywalld writes its snapshot now and says where\n",
    "greywalld writes its snapshot (snapshot_path) now and says where. Without a\n"
    "control socket, the greywalld holding table_path's lock gets SIGUSR1.\n",
    run_snapshot,
};

const struct greyctl_command greyctl_ping = {
    "ping",
    "",
    "  ping                       check that greywalld answers on the control socket\n",
    "Whether greywalld answers on control_socket (exit 0) or not (exit 1).\n",
    run_ping,
};
