// SPDX-License-Identifier: BSD-2-Clause
/*
 * greyctl: the admin's tool. Reads the same configuration as greywalld, works
 * on the same table files greywall-dp and greywalld share, edits the list
 * files atomically and tells running daemons to reload them.
 */
#include <errno.h>
#include <stdbool.h>
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
#include "greywall/version.h"

/* In the order greyctl --help lists them. */
static const struct greyctl_command *const commands[] = {
    &greyctl_stats,  &greyctl_triplets, &greyctl_whitelist, &greyctl_blacklist, &greyctl_report,
    &greyctl_reload, &greyctl_snapshot, &greyctl_ping,	    &greyctl_relay,	&greyctl_pools,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_head[] = "Usage: greyctl [-c FILE] [--json] COMMAND [ARGS]\n"
				 "       greyctl COMMAND --help\n"
				 "\n"
				 "Commands:\n";

static const char usage_tail[] =
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
    "      --version       print greyctl's version\n"
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

static void usage(void)
{
	size_t i;

	fputs(usage_head, stdout);
	for (i = 0; i < NCOMMANDS; i++)
		fputs(commands[i]->overview, stdout);
	fputs(usage_tail, stdout);
}

static const struct greyctl_command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

/* "greyctl COMMAND --help" needs no configuration: a broken one must not hide the help. */
static bool asks_for_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

struct gw_conf cfg;
int json;

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const struct greyctl_command *command;
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
			usage();
			return EXIT_OK;
		case 'V':
			puts("greyctl " GW_VERSION);
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
	command = find_command(argv[0]);
	if (!command) {
		snprintf(err, sizeof(err), "unknown command '%s'", argv[0]);
		return usage_error(err);
	}
	if (asks_for_help(argc, argv))
		return command_help(command);
	gw_conf_defaults(&cfg);
	if ((path || access(GW_CONF_DEFAULT_PATH, F_OK) == 0) &&
	    gw_conf_load(&cfg, path ? path : GW_CONF_DEFAULT_PATH, err, sizeof(err))) {
		fprintf(stderr, "greyctl: %s\n", err);
		return EXIT_FAIL;
	}
	if (cfg.user[0] && getpwnam(cfg.user)) /* greywalld's user may own the lists */
		gw_lists_trust_owner(getpwnam(cfg.user)->pw_uid);
	return command->run(argc, argv);
}
