// SPDX-License-Identifier: BSD-2-Clause
/* greyctl report: the senders greylisted and never seen again, from greywalld. */
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

/* greywalld's report of senders that were greylisted and never came back. */
static int cmd_report(void)
{
	static char answer[1 << 20];
	enum gw_control_result r = control_request("report", answer, sizeof(answer));
	char *line, *save = NULL;
	int shown = 0;

	if (r == GW_CONTROL_REFUSED)
		return EXIT_FAIL;
	if (r == GW_CONTROL_ABSENT) {
		fprintf(stderr,
			"greyctl: report needs greywalld (it keeps the triplets' names); "
			"no answer on %s\n",
			cfg.control_socket);
		return EXIT_FAIL;
	}
	if (strncmp(answer, "ok\n", 3))
		return control_answer("report", answer) ? EXIT_FAIL : EXIT_OK;
	if (json)
		printf("[");
	else
		printf("%-20s %-28s %8s  %-20s %-20s %s\n", "client network", "sender domain",
		       "triplets", "first", "last", "a recipient");
	for (line = strtok_r(answer + 3, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[6], first[32], last[32];

		if (split_tabs(line, f, 6) < 6)
			continue;
		fmt_time(strtoull(f[3], NULL, 10), first, sizeof(first));
		fmt_time(strtoull(f[4], NULL, 10), last, sizeof(last));
		if (json) {
			printf("%s{\"network\": ", shown ? ", " : "");
			json_string(f[0]);
			printf(", \"sender_domain\": ");
			json_string(f[1]);
			printf(", \"triplets\": %s, \"first\": \"%s\", \"last\": \"%s\", "
			       "\"recipient\": ",
			       f[2], first, last);
			json_string(f[5]);
			printf("}");
		} else {
			printf("%-20s %-28s %8s  %-20s %-20s %s\n", f[0], f[1], f[2], first, last,
			       f[5]);
		}
		shown++;
	}
	if (json)
		printf("]\n");
	else if (!shown)
		printf("(no triplet greylisted over report_after ago and never retried)\n");
	return EXIT_OK;
}

static int run_report(int argc, char **argv)
{
	int first, rc = command_words(&greyctl_report, argc, argv, 0, &first);

	return rc >= 0 ? rc : cmd_report();
}

const struct greyctl_command greyctl_report = {
    "report",
    "",
    "  report                     senders greylisted at least report_after ago and never\n"
    "                             retried, grouped by client network and sender domain:\n"
    "                             the broken MTAs (or spamware) to look at (greywalld)\n",
    "Triplets greylisted at least report_after seconds ago and never tried again,\n"
    "grouped by client network and sender domain: real MTAs retry within minutes, so\n"
    "these are the broken senders (or spamware) to look at. greywalld keeps the\n"
    "triplets' names, so it must answer on control_socket.\n",
    run_report,
};
