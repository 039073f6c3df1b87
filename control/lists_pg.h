/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * White- and blacklists from PostgreSQL (libpq): the table of
 * control/greywall_lists.sql, read whole at start, again on every NOTIFY on
 * its channel (the table's trigger sends one per change) and every
 * lists_pg_resync seconds as a safety net.
 *
 * A thread does the database I/O, so greywalld's loop never waits on it. Each
 * read is checked row by row with the list parser the files use; a good one
 * becomes the last good generation and the thread wakes greywalld's loop
 * (gw_lists_pg_fd), which reloads its lists through the same path as SIGHUP
 * does: the files' entries plus this generation's rows, published whole to the
 * policy server and the relay filter's maps. A bad row refuses the whole
 * generation (as a bad line refuses a file), naming the row's id. A database
 * that is down, or a read that fails, keeps the last good generation in force
 * and says so in the log and the stats.
 */
#ifndef GREYWALL_CONTROL_LISTS_PG_H
#define GREYWALL_CONTROL_LISTS_PG_H

#include <stddef.h>
#include <stdio.h>

#include "greywall/conf.h"
#include "greywall/lists.h"

struct gw_lists_pg;

/*
 * Start following the database (NULL when lists_pg is empty, or on an error,
 * with the reason in err). The first read is tried at once, before this
 * returns, so the lists greywalld starts serving already hold the rows; an
 * unreachable database is no error: the thread keeps trying.
 */
struct gw_lists_pg *gw_lists_pg_start(const struct gw_conf *cfg, char *err, size_t errlen);

/* Readable when a new generation is waiting: greywalld then reloads its lists. */
int gw_lists_pg_fd(const struct gw_lists_pg *p);

/* Clear the wake-up (call before reloading). */
void gw_lists_pg_ack(struct gw_lists_pg *p);

/* Add the last good generation's rows to l (a new list set, not yet published). 0 or -1. */
int gw_lists_pg_add_to(struct gw_lists_pg *p, struct gw_lists *l, char *err, size_t errlen);

/* Append the state as metric lines (with # HELP/# TYPE if types); returns bytes. */
/* The last good rows as "white ENTRY" / "black ENTRY" lines (published_lists). */
void gw_lists_pg_print(struct gw_lists_pg *p, FILE *f);

size_t gw_lists_pg_render(struct gw_lists_pg *p, int types, char *out, size_t cap);

void gw_lists_pg_stop(struct gw_lists_pg *p);

#endif /* GREYWALL_CONTROL_LISTS_PG_H */
