/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What greywall-dp shares with the control plane, in one file under /dev/shm
 * (user space only): its counters per lcore and per port, copied there ten
 * times a second by the housekeeping pass rather than written on the packet
 * path, and a ring per lcore of verdict events, written as decisions happen,
 * from which greywalld names triplets and logs them. Each ring has one
 * producer (its lcore) and one consumer (greywalld); a full ring drops the
 * event and counts it.
 */
#ifndef GREYWALL_DP_SHM_H
#define GREYWALL_DP_SHM_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/* Why a packet or a decision was let through untouched: each is counted. */
enum gw_failopen {
	GW_FO_MIDSTREAM = 0,   /* SMTP flow with no SYN seen */
	GW_FO_FLOW_TABLE_FULL, /* no longer counted: such a SYN is dropped (syns_dropped) */
	GW_FO_OUT_OF_ORDER,  /* a gap in the server's stream: parsing stops, edits still translated
			      */
	GW_FO_SPLIT_LINE,    /* the RCPT line began in an earlier segment */
	GW_FO_EDITS_FULL,    /* per-flow edit list full */
	GW_FO_DESYNC,	     /* not SMTP, or the reply stream made no sense */
	GW_FO_NONLINEAR,     /* multi-segment mbuf */
	GW_FO_NO_MBUF,	     /* could not build an edited segment */
	GW_FO_POLICY,	     /* the table was full or contended */
	GW_FO_FRAGMENT,	     /* TCP fragment not to a protected server (forwarded) */
	GW_FO_RESEND_UNKEPT, /* resent client bytes older than the kept copy: not checked */
	GW_FO_COUNT
};

/*
 * greywall-dp's printed counter lines only (scripts read them); the metrics
 * label verdicts with GW_VERDICT_NAMES, as every other path does.
 */
#define GW_DP_VERDICT_NAMES                                                                        \
	"greylisted", "passed", "passed_awl", "passed_whitelist", "passed_exempt", "blacklisted",  \
	    "failopen_policy"
#define GW_DP_FAILOPEN_NAMES                                                                       \
	"midstream_pickup", "flow_table_full", "out_of_order", "split_line", "edit_list_full",     \
	    "desync", "nonlinear_mbuf", "no_mbuf", "policy", "ip_fragment", "resend_unkept"

struct gw_dp_stats {
	u64 rx, tx, tx_dropped;
	u64 passthrough; /* not SMTP to a protected server */
	u64 smtp_packets;
	u64 malformed;
	u64 flows_created, flows_expired, flows_active;
	u64 flows_evicted; /* the table was full: an unedited flow made room */
	u64 lines_removed, replies_injected, replies_resent, retransmit_dropped;
	u64 segments_split, sack_translated;
	u64 reordered;		/* client segments held until the gap before them filled */
	u64 overlaps_rewritten; /* resent bytes that differed from the first copy, rewritten */
	u64 edits_folded;	/* edits both peers acked past, folded into the base delta */
	u64 lines_deferred;	/* lines refused until edit room freed up; the client resent them */
	u64 custody_acks;	/* begun lines acked to the client on the server's behalf */
	u64 custody_resent;	/* bytes we acked, sent to the server again from the kept copy */
	u64 segments_refused;	/* client bytes past a gap or a deferred line, not acked: resent */
	u64 tls_pending_refused; /* plaintext greetings refused while STARTTLS was greylisted */
	u64 long_lines_refused;	 /* RCPT or STARTTLS lines past max_line, rejected: refused */
	u64 sessions_reset;    /* sessions reset behind our 421 to STARTTLS (no plaintext after) */
	u64 fragments_dropped; /* TCP fragments to a protected server: never reassembled here */
	u64 syns_dropped;      /* new connections refused while every flow was a live session */
	u64 log_lines_dropped; /* --log-verdicts lines lost to a full log ring */
	/*
	 * client segments the server would not take as they are (bad checksum,
	 * data without ACK, another ISN on a live session, a resend or FIN inside
	 * a held line) or whose headers the flow cannot rebuild, and server
	 * frames that came in from the client's side: dropped, never parsed
	 */
	u64 segments_dropped;
	u64 verdict[GW_V_COUNT];
	u64 failopen[GW_FO_COUNT];
};

/* The scalar counters of struct gw_dp_stats, in order, for printing and metrics. */
#define GW_DP_COUNTER_NAMES                                                                        \
	"rx", "tx", "tx_dropped", "passthrough", "smtp_packets", "malformed", "flows_created",     \
	    "flows_expired", "flows_active", "flows_evicted", "lines_removed", "replies_injected", \
	    "replies_resent", "retransmit_dropped", "segments_split", "sack_translated",           \
	    "reordered", "overlaps_rewritten", "edits_folded", "lines_deferred", "custody_acks",   \
	    "custody_resent", "segments_refused", "tls_pending_refused", "long_lines_refused",     \
	    "sessions_reset", "fragments_dropped", "syns_dropped", "log_lines_dropped",            \
	    "segments_dropped"
#define GW_DP_NCOUNTERS 30
_Static_assert(__builtin_offsetof(struct gw_dp_stats, verdict) == GW_DP_NCOUNTERS * 8,
	       "GW_DP_COUNTER_NAMES names every scalar counter");

/* A port's counters as the driver reports them (rte_eth_stats). */
struct gw_dp_port_stats {
	u64 ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
};

#define GW_DP_PORT_COUNTER_NAMES                                                                   \
	"ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors", "oerrors", "rx_nombuf"
#define GW_DP_NPORT_COUNTERS 8
_Static_assert(sizeof(struct gw_dp_port_stats) == GW_DP_NPORT_COUNTERS * 8, "port counters");

enum gw_dp_event_cmd { GW_DP_EV_RCPT = 0, GW_DP_EV_STARTTLS = 1 };

/* One decision, with the envelope as the client wrote it. */
struct gw_dp_event {
	u64 time; /* Unix seconds */
	u8 verdict;
	u8 family;
	u8 cmd; /* gw_dp_event_cmd */
	u8 pad;
	u32 remaining;
	u8 client[16];
	u16 sender_len, rcpt_len;
	u8 sender[GW_ADDR_MAX];
	u8 rcpt[GW_ADDR_MAX];
};

#define GW_DP_EVENT_SLOTS 2048 /* a power of two */

struct gw_dp_event_ring {
	u64 head; /* written by the lcore only */
	u8 pad0[56];
	u64 tail; /* written by greywalld only */
	u8 pad1[56];
	u64 dropped; /* events lost to a full ring */
	u8 pad2[56];
	struct gw_dp_event ev[GW_DP_EVENT_SLOTS];
};

#define GW_DP_SHM_MAGIC	  0x31304d5350445747ULL /* "GWDPSM01" */
#define GW_DP_SHM_VERSION 5			/* 5: segments_dropped */
#define GW_DP_SHM_LCORES  16
#define GW_DP_SHM_PORTS	  16

struct gw_dp_shm {
	u64 magic;
	u32 version;
	u32 size; /* sizeof(struct gw_dp_shm) of the writer */
	u32 nlcores, nports;
	u64 pid;
	u64 started, updated; /* Unix seconds */
	u8 pad[16];
	struct gw_dp_stats lcore[GW_DP_SHM_LCORES];
	struct gw_dp_port_stats port[GW_DP_SHM_PORTS];
	struct gw_dp_event_ring ring[GW_DP_SHM_LCORES];
};

/* The next free event slot of ring r, or NULL (the event is counted as dropped). */
static inline struct gw_dp_event *gw_dp_event_reserve(struct gw_dp_event_ring *r)
{
	u64 head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

	if (head - tail >= GW_DP_EVENT_SLOTS) {
		__atomic_store_n(&r->dropped, r->dropped + 1, __ATOMIC_RELAXED);
		return NULL;
	}
	return &r->ev[head & (GW_DP_EVENT_SLOTS - 1)];
}

/* Publish the slot gw_dp_event_reserve gave. */
static inline void gw_dp_event_commit(struct gw_dp_event_ring *r)
{
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
}

/* The oldest unread event of ring r into out; false when there is none. */
static inline bool gw_dp_event_pop(struct gw_dp_event_ring *r, struct gw_dp_event *out)
{
	u64 tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

	if (tail == head)
		return false;
	*out = r->ev[tail & (GW_DP_EVENT_SLOTS - 1)];
	__atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
	return true;
}

struct gw_dp_shm_map {
	struct gw_dp_shm *shm;
	u64 ino; /* the file's inode: a restarted greywall-dp makes a new file */
};

/*
 * greywall-dp: make a fresh file at path (built under a private name, then
 * renamed over the old one, so a reader never sees it half made). 0, or -1
 * with err.
 */
int gw_dp_shm_create(struct gw_dp_shm_map *m, const char *path, u32 nlcores, u32 nports, char *err,
		     size_t errlen);

/* greywalld: map an existing file read-write (it moves the rings' tails). 0, or -1 with err. */
int gw_dp_shm_open(struct gw_dp_shm_map *m, const char *path, char *err, size_t errlen);

/* Whether path now names another file than the one mapped (greywall-dp restarted). */
bool gw_dp_shm_replaced(const struct gw_dp_shm_map *m, const char *path);

void gw_dp_shm_close(struct gw_dp_shm_map *m);

#endif /* GREYWALL_DP_SHM_H */
