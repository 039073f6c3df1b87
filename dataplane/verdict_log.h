/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywall-dp's --log-verdicts. A forwarding lcore never formats or writes a
 * log line: it copies the verdict into its own single-producer ring (no lock,
 * no syscall; a full ring drops the line and counts it in log_lines_dropped),
 * and a control thread, off the lcores, drains every ring and writes the
 * lines to syslog, so a slow syslog daemon or terminal stalls only that thread.
 */
#ifndef GREYWALL_DP_VERDICT_LOG_H
#define GREYWALL_DP_VERDICT_LOG_H

#include <stdbool.h>

#include "greywall/dp_shm.h"
#include "greywall/reply.h"
#include "greywall/smtp_command.h"

/* Lines an lcore may have waiting: the writer drains every GW_DP_LOG_DRAIN_MS. */
#define GW_DP_LOG_SLOTS	   1024 /* a power of two */
#define GW_DP_LOG_DRAIN_MS 10

struct gw_dp_log_rec {
	struct gw_dp_event ev; /* the decision, as greywalld gets it */
	u16 helo_len, reply_len;
	u8 helo[GW_HELO_MAX];
	char reply[GW_REPLY_MAX]; /* the reply sent in the client's place; reply_len 0: none */
};

struct gw_dp_log_ring {
	u64 head; /* written by its lcore only */
	u8 pad0[56];
	u64 tail; /* written by the log writer only */
	u8 pad1[56];
	struct gw_dp_log_rec rec[GW_DP_LOG_SLOTS];
};

/* The next free record, or NULL when the ring is full. Producer side. */
static inline struct gw_dp_log_rec *gw_dp_log_reserve(struct gw_dp_log_ring *r)
{
	u64 head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	if (head - tail >= GW_DP_LOG_SLOTS)
		return NULL;
	return &r->rec[head & (GW_DP_LOG_SLOTS - 1)];
}

/* Publish the record gw_dp_log_reserve gave. */
static inline void gw_dp_log_commit(struct gw_dp_log_ring *r)
{
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
}

/* The oldest record still to write, or NULL. Consumer side; gw_dp_log_done releases it. */
static inline const struct gw_dp_log_rec *gw_dp_log_peek(struct gw_dp_log_ring *r)
{
	u64 tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

	return tail == head ? NULL : &r->rec[tail & (GW_DP_LOG_SLOTS - 1)];
}

static inline void gw_dp_log_done(struct gw_dp_log_ring *r)
{
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
}

/*
 * The line for one record (verdict_text.h's shapes), with delay the
 * configured greylisting delay (a new triplet's wait, for postgrey's reason).
 */
void gw_dp_log_format(const struct gw_dp_log_rec *rec, u32 delay, char *out, size_t cap);

struct gw_dp_log_writer;

/*
 * Start the writer thread over rings[0..n) with syslog's ident (mail facility).
 * Lines are copied to stderr too unless stderr is systemd's journal, which
 * gets syslog's copy already. Returns NULL with err set.
 */
struct gw_dp_log_writer *gw_dp_log_start(struct gw_dp_log_ring **rings, unsigned n, u32 delay,
					 const char *ident, char *err, size_t errlen);

/* Drain what is left (the lcores have stopped), then stop the thread. */
void gw_dp_log_stop(struct gw_dp_log_writer *w);

#endif /* GREYWALL_DP_VERDICT_LOG_H */
