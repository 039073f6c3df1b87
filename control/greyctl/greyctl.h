/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greyctl's commands, one file each (lists.c, triplets.c, stats.c, report.c,
 * daemon.c, relay.c), in main.c's table, and what they share (common.c).
 */
#ifndef GREYWALL_GREYCTL_H
#define GREYWALL_GREYCTL_H

#include <stddef.h>

#include "../admin.h"
#include "greywall/conf.h"
#include "greywall/control_socket.h"
#include "greywall/lists.h"
#include "greywall/relay.h"
#include "greywall/table_file.h"
#include "../relay_maps.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/*
 * One greyctl command. run gets the command's words, argv[0] being its name,
 * after greyctl's own options (-c, --json); it parses its own options, --help
 * among them.
 */
struct greyctl_command {
	const char *name;
	const char *args;     /* what follows the name, for its usage line */
	const char *overview; /* its lines in greyctl --help */
	const char *help;     /* greyctl NAME --help, after the usage line */
	int (*run)(int argc, char **argv);
};

extern const struct greyctl_command greyctl_stats, greyctl_triplets, greyctl_whitelist,
    greyctl_blacklist, greyctl_report, greyctl_reload, greyctl_snapshot, greyctl_ping,
    greyctl_relay, greyctl_pools;

extern struct gw_conf cfg; /* the configuration greyctl was given (-c) */
extern int json;	   /* --json: machine-readable output */

/* common.c */
int usage_error(const char *what);
/* greyctl NAME --help: the command's usage line and help. Returns EXIT_OK. */
int command_help(const struct greyctl_command *c);
/* A usage error in command c, with what went wrong (or NULL). Returns EXIT_USAGE. */
int command_usage_error(const struct greyctl_command *c, const char *what);
/*
 * The options of a command that takes only --help, and at most max_words
 * words after its name. Returns -1 to go on with the words at argv[*first],
 * or the exit status (help printed, or a usage error).
 */
int command_words(const struct greyctl_command *c, int argc, char **argv, int max_words,
		  int *first);
long greywalld_pid(void);
enum gw_control_result control_request(const char *cmd, char *out, size_t cap);
enum gw_control_result dp_request(const char *cmd, char *out, size_t cap);
/* The first line of a control answer into line, its "ok" taken off; 1 if it was "ok". */
int answer_line(const char *answer, char *line, size_t cap);
int control_answer_from(const char *who, const char *what, const char *answer);
int control_answer(const char *what, const char *answer);
int relay_publish(void);
int report_reload(void);
int open_table(struct gw_table_map *m, const char *path, u32 kind);
void fmt_time(u64 t, char *out, size_t len);
int split_tabs(char *line, char **f, int n);
void json_string(const char *s);

#endif /* GREYWALL_GREYCTL_H */
