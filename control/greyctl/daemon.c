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
int cmd_ping(void)
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
int cmd_snapshot(void)
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
int cmd_reload(void)
{
	return report_reload();
}
