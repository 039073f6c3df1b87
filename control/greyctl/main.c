// SPDX-License-Identifier: BSD-2-Clause
/*
 * greyctl: the admin's tool. Reads the same configuration as greywalld, works
 * on the same table files greywall-dp and greywalld share, edits the list
 * files atomically and tells running daemons to reload them.
 */
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

static const char usage_text[] =
    "Usage: greyctl [-c FILE] [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  stats                      table sizes, fill and counters (and the relay filter's\n"
    "                             counters when relay_maps is set)\n"
    "  triplets list [--limit N]  entries of the triplet table: fingerprint, state,\n"
    "                             first and last seen, count\n"
    "                             and, when greywalld knows it, the triplet's client,\n"
    "                             sender and recipient\n"
    "  triplets show FINGERPRINT  one triplet, as 'list' prints it (exit 1 if absent)\n"
    "  triplets del FINGERPRINT   forget one triplet (hex, as 'list' prints it)\n"
    "  triplets flush             forget every triplet (auto-whitelist kept)\n"
    "  whitelist add ENTRY...     add entries to the whitelist file, then reload\n"
    "  whitelist del ENTRY...     remove entries, then reload\n"
    "  whitelist list             print the whitelist\n"
    "  whitelist push FILE        check FILE and make it the whitelist, then reload\n"
    "  blacklist add|del|list|push  the same for the blacklist (550 5.7.1)\n"
    "  report                     senders greylisted at least report_after ago and never\n"
    "                             retried, grouped by client network and sender domain:\n"
    "                             the broken MTAs (or spamware) to look at (greywalld)\n"
    "  reload                     greywalld and greywall-dp reload their lists, each over\n"
    "                             its control socket, and say how many entries are in\n"
    "                             force or why a file is refused\n"
    "  snapshot                   greywalld writes its snapshot now and says where\n"
    "  ping                       check that greywalld answers on the control socket\n"
    "\n"
    "An ENTRY is 'client CIDR', 'sender ADDRESS|@DOMAIN' or 'recipient ADDRESS|@DOMAIN',\n"
    "one shell argument each, e.g.  greyctl whitelist add 'client 198.18.0.0/24'\n"
    "Entries are checked with the parser the daemons use before a file is touched;\n"
    "files are replaced atomically (write, fsync, rename).\n"
    "\n"
    "Options:\n"
    "  -c, --config FILE   configuration (default " GW_CONF_DEFAULT_PATH "; built-in\n"
    "                      defaults if it does not exist)\n"
    "  -j, --json          machine-readable output (anywhere on the command line)\n"
    "  -h, --help          this text\n"
    "\n"
    "With relay_maps set (the XDP/TC relay filter's pinned maps), the tables are its maps,\n"
    "and when no greywalld answers, greyctl publishes the lists into them itself.\n"
    "\n"
    "greyctl talks to greywalld over control_socket and to greywall-dp over\n"
    "dp_control_socket (mode 0660, group control_group): run it as root or as a member of\n"
    "that group. It reaches only the instances its configuration names. Without a\n"
    "greywalld socket (control_socket empty), reload and snapshot send SIGHUP and SIGUSR1\n"
    "to the greywalld holding table_path's lock.\n"
    "\n"
    "Exit status: 0 done; 1 failed (named on stderr: bad entry, entry not listed,\n"
    "unreadable file, no table, permission denied, greywalld refused); 2 usage error.\n";

struct gw_conf cfg;
int json;

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	char err[600];
	int opt, i, j;

	/* --json is welcome anywhere: "greyctl stats --json" reads naturally */
	for (i = 1, j = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = 1;
		else
			argv[j++] = argv[i];
	}
	argc = j;
	argv[argc] = NULL;

	/* options come before the command, so the command's own words are left alone */
	while ((opt = getopt_long(argc, argv, "+c:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'greyctl --help'.\n");
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error("no command given");
	gw_conf_defaults(&cfg);
	if ((path || access(GW_CONF_DEFAULT_PATH, F_OK) == 0) &&
	    gw_conf_load(&cfg, path ? path : GW_CONF_DEFAULT_PATH, err, sizeof(err))) {
		fprintf(stderr, "greyctl: %s\n", err);
		return EXIT_FAIL;
	}
	if (cfg.user[0] && getpwnam(cfg.user)) /* greywalld's user may own the lists */
		gw_lists_trust_owner(getpwnam(cfg.user)->pw_uid);
	if (!strcmp(argv[0], "stats"))
		return argc == 1 ? cmd_stats() : usage_error("stats takes no arguments");
	if (!strcmp(argv[0], "report"))
		return cmd_report();
	if (!strcmp(argv[0], "triplets"))
		return cmd_triplets(argc - 1, argv + 1);
	if (!strcmp(argv[0], "whitelist"))
		return cmd_list_file("whitelist", cfg.whitelist_path, argc - 1, argv + 1);
	if (!strcmp(argv[0], "blacklist"))
		return cmd_list_file("blacklist", cfg.blacklist_path, argc - 1, argv + 1);
	if (!strcmp(argv[0], "reload"))
		return cmd_reload();
	if (!strcmp(argv[0], "ping"))
		return cmd_ping();
	if (!strcmp(argv[0], "snapshot"))
		return cmd_snapshot();
	snprintf(err, sizeof(err), "unknown command '%s'", argv[0]);
	return usage_error(err);
}
