/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The relay filter's verdict events (its ring buffer): each is logged to
 * syslog, Postfix style, because the relay's own Postfix never sees the RCPT
 * the filter answered, and each triplet's text goes to the names store.
 */
#ifndef GREYWALL_CONTROL_RELAY_EVENTS_H
#define GREYWALL_CONTROL_RELAY_EVENTS_H

#include <stddef.h>

#include "greywall/policy.h"
#include "names.h"

struct gw_relay_events;
struct gw_judged;

/*
 * Read events from the pinned ring buffer at path. The triplet fingerprint of
 * each event is computed here with secret and the policy's normalisation, so
 * names match the table whatever the verdict, and each pass leaves a credit
 * in judged (may be NULL) for the policy server. NULL with err on failure.
 */
struct gw_relay_events *gw_relay_events_open(const char *path, const struct gw_config *pc,
					     const u64 *secret, struct gw_names *names,
					     struct gw_judged *judged, char *err, size_t errlen);

/* An fd that polls readable when events wait (the ring buffer's epoll fd). */
int gw_relay_events_fd(const struct gw_relay_events *e);

/* Handle every event waiting; never blocks. Returns how many, or -1. */
int gw_relay_events_drain(struct gw_relay_events *e);

void gw_relay_events_close(struct gw_relay_events *e);

/* Where the daemon's current lists are, so events are keyed by the client's sender pool. */
struct gw_lists;
void gw_relay_events_use_lists(struct gw_relay_events *e, struct gw_lists *const volatile *lists);

#endif /* GREYWALL_CONTROL_RELAY_EVENTS_H */
