/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greyctl's commands, one file each (lists.c, triplets.c, stats.c, report.c,
 * daemon.c), and what they share (common.c).
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

extern struct gw_conf cfg; /* the configuration greyctl was given (-c) */
extern int json;	   /* --json: machine-readable output */

/* common.c */
int usage_error(const char *what);
long greywalld_pid(void);
enum gw_control_result control_request(const char *cmd, char *out, size_t cap);
enum gw_control_result dp_request(const char *cmd, char *out, size_t cap);
int control_answer_from(const char *who, const char *what, const char *answer);
int control_answer(const char *what, const char *answer);
int relay_publish(void);
int report_reload(void);
int open_table(struct gw_table_map *m, const char *path, u32 kind);
void fmt_time(u64 t, char *out, size_t len);
int split_tabs(char *line, char **f, int n);
void json_string(const char *s);

/* the commands */
int cmd_list_file(const char *name, const char *path, int argc, char **argv);
int cmd_stats(void);
int cmd_triplets(int argc, char **argv);
int cmd_report(void);
int cmd_ping(void);
int cmd_snapshot(void);
int cmd_reload(void);

#endif /* GREYWALL_GREYCTL_H */
