/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The relay filter's maps, as the BPF programs and user space both see them.
 * Everything is pinned under GW_RELAY_PIN_DIR, so greywalld and greyctl work
 * with a filter that plain bpftool loaded and then left.
 */
#ifndef GREYWALL_RELAY_H
#define GREYWALL_RELAY_H

#include "compiler.h"
#include "policy.h"
#include "table.h"

#define GW_RELAY_PIN_DIR "/sys/fs/bpf/greywall"

/*
 * The triplet and auto-whitelist tables are BPF_F_MMAPABLE arrays of 64-byte
 * elements. The first GW_RELAY_HDR_ELEMS elements hold the table header, so
 * the mmap of the map is byte for byte the table file of greywall-dp.
 */
#define GW_RELAY_HDR_ELEMS    (GW_TABLE_HDR_SIZE / 64)
#define GW_RELAY_TRIPLET_BKTS 65536 /* 256 Ki triplets, 4 MiB; bigger: pre-create the map */
#define GW_RELAY_AWL_BKTS     4096
#define GW_RELAY_MAX_FLOWS    16384
#define GW_RELAY_MAX_EDITS    8
#define GW_RELAY_HELO_MAX     64
#define GW_RELAY_EVENTS_BYTES (256 * 1024)
#define GW_RELAY_LIST_ENTRIES 65536

/* Flow key: the client is always the side that connected to the SMTP port. */
struct gw_relay_flow_key {
	u8 client[16];
	u8 server[16];
	u16 client_port; /* network order */
	u16 server_port;
	u8 family;
	u8 pad[3];
};

/*
 * One drop-and-inject, in both sequence spaces. The client saw its RCPT line
 * [c_seq, c_seq + removed) answered by our reply at [s_seq, s_seq + inserted)
 * of the server's stream; the server saw neither. *_srv are the same points
 * in the server's view.
 */
struct gw_relay_edit {
	u32 c_seq;
	u32 c_seq_srv;
	u32 s_seq;
	u32 s_seq_srv;
	u16 removed;
	u16 inserted;
	u32 remaining; /* the reply said "retry in N": a re-sent copy says the same */
	u8 kind;       /* gw_relay_reply_kind */
	u8 pad[7];
};

enum gw_relay_mode {
	GW_RM_COMMAND = 0, /* reading command lines */
	GW_RM_DATA,	   /* DATA sent: the server's 354 starts the body */
	GW_RM_BODY,	   /* message body: nothing is a command until the server's reply */
	GW_RM_OFF,	   /* TLS, BDAT or a lost thread: pass the rest, keep translating */
	GW_RM_CLOSED,	   /* we answered 421: the client's further data is dropped, not passed */
};

struct gw_relay_flow {
	u32 client_next;   /* next in-order client byte, client view */
	u32 server_next;   /* next server byte, client view (after our inserts) */
	u16 server_window; /* the server's last window, raw, for our replies */
	u8 mode;	   /* gw_relay_mode */
	u8 awaiting_reply; /* a command went to the server and its final reply has not */
	u8 nedits;	   /* edits in flight, in the ring from edit_head */
	u8 edit_head;
	u8 helo_len;
	u8 mask_pipelining; /* set at EHLO for networks not yet trusted */
	u8 ehlo_pending;
	u8 in_line; /* the last segment ended mid-line */
	u8 sender_set;
	u8 reset; /* either side sent RST: nothing is cut or injected any more */
	u16 sender_len;
	u32 started;
	u32 server_acked; /* the server's latest ack of the client's stream, its view */
	struct gw_relay_edit edit[GW_RELAY_MAX_EDITS]; /* a ring: see seqadj.h */
	u8 helo[GW_RELAY_HELO_MAX];
	u8 sender[GW_ADDR_MAX];
};

/*
 * Reply texts, compiled from the %-templates of reply.h into up to four
 * literal pieces with a substitution after each: the BPF side then renders
 * with a fixed number of bounded copies.
 */
enum gw_relay_subst {
	GW_SUB_NONE = 0,
	GW_SUB_RCPT,
	GW_SUB_SENDER,
	GW_SUB_SECONDS,
	GW_SUB_CLIENT, /* rendered as the empty string by the relay filter */
};

#define GW_RELAY_PIECES	   4
#define GW_RELAY_TEXT_MAX  192
#define GW_RELAY_REPLY_MAX 448 /* the rendered reply with CRLF */

struct gw_relay_text {
	u16 off[GW_RELAY_PIECES];
	u16 len[GW_RELAY_PIECES];
	u8 subst[GW_RELAY_PIECES];
	u8 npieces;
	u8 pad[3];
	char bytes[GW_RELAY_TEXT_MAX];
};

/*
 * The short forms are for a driver that leaves no room to grow the frame: no
 * longer than almost any RCPT line, so the segment can shrink into them.
 */
enum gw_relay_reply_kind {
	GW_RK_GREYLIST = 0,
	GW_RK_BLACKLIST = 1,
	GW_RK_TLS = 2,
	GW_RK_GREYLIST_SHORT = 3,
	GW_RK_BLACKLIST_SHORT = 4,
	GW_RK_COUNT
};

#define GW_RELAY_CONFIG_MAGIC 0x47574346u /* "FCWG" */

/*
 * The config map's one entry. It starts zeroed; the first packet installs the
 * built-in defaults, so a filter loaded by plain bpftool works with no daemon,
 * and greywalld may overwrite it at any time (magic last).
 */
struct gw_relay_config {
	u32 magic;
	u16 smtp_port; /* host order */
	u8 mask_pipelining;
	u8 list_gen; /* which nibble of the list maps' values is in force: see GW_RELAY_LIST_COLOR
		      */
	s64 clock_offset_ns; /* added to bpf_ktime_get_tai_ns() to get Unix time */
	struct gw_config policy;
	struct gw_relay_text text[GW_RK_COUNT];
};

/* List maps: CIDR tries per family, and fingerprinted addresses and domains. */
struct gw_relay_lpm4 {
	u32 prefixlen;
	u8 addr[4];
};

struct gw_relay_lpm6 {
	u32 prefixlen;
	u8 addr[16];
};

/*
 * A client trie's value: its colours in both list generations (nibbles, see
 * GW_RELAY_LIST_COLOR) and the sender pool of each, 0 for none. greywall
 * writes, for every listed network, what a longest-prefix walk of the lists
 * answers there (gw_lists_client_lookup), so the trie's one lookup answers
 * the colours and the pool alike.
 */
struct gw_relay_client_value {
	u8 colors;
	u8 pad[7];
	u64 pool[2];
};

enum gw_relay_addr_kind {
	GW_RA_SENDER = 's',
	GW_RA_RCPT = 'r',
};

/* Address-list key: SipHash of (kind, "local@domain" or "@domain") with the table secret. */
GW_INLINE u64 gw_relay_addr_fp(const u64 secret[2], u8 kind, const struct gw_addr_bytes *a, u32 off,
			       u16 len)
{
	struct gw_siphash h;

	gw_siphash_init(&h, secret[0], secret[1]);
	gw_siphash_byte(&h, 'L');
	gw_siphash_byte(&h, kind);
	gw_siphash_byte(&h, (u8)(len & 0xff));
	gw_siphash_byte(&h, (u8)(len >> 8));
	gw_hash_bytes(&h, a, off, len);
	return gw_siphash_final(&h);
}

/*
 * Values of the list maps: one bit per color, so one entry can be both. Each
 * value holds two generations, the low nibble for list_gen 0 and the high
 * one for list_gen 1, so greywalld can lay a whole new list set beside the
 * old one and publish it with one write of list_gen: no lookup ever sees
 * half a list. A value of 1 or 2 typed by hand works while list_gen is 0.
 */
#define GW_RELAY_WHITE				    1
#define GW_RELAY_BLACK				    2
#define GW_RELAY_LIST_COLOR(value, gen)		    (((value) >> (((gen)&1) * 4)) & 0xf)
#define GW_RELAY_LIST_VALUE(gen0_color, gen1_color) ((u8)((gen0_color) | (gen1_color) << 4))

/* Why a segment was left alone; every counter is per CPU. */
enum gw_relay_stat {
	GW_RS_PACKETS = 0,   /* SMTP segments the XDP program looked at */
	GW_RS_FLOWS,	     /* SYNs that started tracking */
	GW_RS_VERDICT_FIRST, /* GW_RS_VERDICT_FIRST + gw_verdict */
	GW_RS_REPLIES_INJECTED = GW_RS_VERDICT_FIRST + GW_V_COUNT,
	GW_RS_REPLIES_RESENT,
	GW_RS_REPLIES_HEADROOM, /* no tailroom: the frame grew at the front instead */
	GW_RS_REPLIES_SHORT,	/* no room either way: the short form was sent */
	GW_RS_TLS_GREYLISTED,
	GW_RS_PIPELINING_MASKED,
	GW_RS_SEGMENTS_TRANSLATED,
	GW_RS_TLS_PENDING_REFUSED, /* plaintext greetings refused while STARTTLS was greylisted */
	GW_RS_PIPELINING_REFUSED,  /* sessions that pipelined although PIPELINING was masked */
	GW_RS_CLOSED_DROPPED,	   /* client data after our 421, dropped */
	GW_RS_EDITS_FOLDED,	   /* edits both peers acked past, dropped from the ring */
	GW_RS_DEFERRED,	      /* dropped for a resend: edit ring full, or before DATA's reply */
	GW_RS_SESSIONS_RESET, /* STARTTLS greylisted: the client's session reset */
	GW_RS_NULL_SENDER,    /* RCPTs judged with the null sender: no MAIL read */
	GW_RS_URGENT_DROPPED, /* client segments with urgent data: the MTA reads them otherwise */
	GW_RS_FAIL_FIRST,     /* the fail-open reasons follow */
	GW_RF_MIDSTREAM = GW_RS_FAIL_FIRST,
	GW_RF_FRAGMENT,
	GW_RF_IPV6_EXT,
	GW_RF_OUT_OF_ORDER,
	GW_RF_SPLIT_LINE,
	GW_RF_PIPELINED,
	GW_RF_LONG_LINE,
	GW_RF_BAD_COMMAND,
	GW_RF_EDITS_FULL,
	GW_RF_NO_TAILROOM,
	GW_RF_RETRANS_STRADDLE,
	GW_RF_TABLE, /* table not ready, full or contended */
	GW_RF_BDAT,
	GW_RF_EVENTS_DROPPED,
	GW_RS_TABLE_INSERTS,
	GW_RS_TABLE_FULL,
	GW_RS_TABLE_EXPIRED,
	GW_RS_TABLE_CONTENDED,
	GW_RS_TABLE_EVICTED,
	GW_RS_COUNT
};

/* Printable names, in enum order, for greyctl and the tests. */
#define GW_RELAY_STAT_NAMES                                                                        \
	"packets", "flows", "verdict_greylist", "verdict_pass", "verdict_pass_awl",                \
	    "verdict_pass_whitelist", "verdict_pass_exempt", "verdict_blacklist",                  \
	    "verdict_fail_open", "replies_injected", "replies_resent", "replies_headroom",         \
	    "replies_short", "tls_greylisted", "pipelining_masked", "segments_translated",         \
	    "tls_pending_refused", "pipelining_refused", "closed_dropped", "edits_folded",         \
	    "deferred", "sessions_reset", "rcpt_null_sender", "urgent_dropped", "fail_midstream",  \
	    "fail_fragment", "fail_ipv6_ext", "fail_out_of_order", "fail_split_line",              \
	    "fail_pipelined", "fail_long_line", "fail_bad_command", "fail_edits_full",             \
	    "fail_no_tailroom", "fail_retrans_straddle", "fail_table", "fail_bdat",                \
	    "events_dropped", "table_inserts", "table_full", "table_expired", "table_contended",   \
	    "table_evicted"
_Static_assert(sizeof((const char *[]){GW_RELAY_STAT_NAMES}) / sizeof(const char *) == GW_RS_COUNT,
	       "a name for every relay counter");

/* One verdict, for greywalld's log and reports. */
struct gw_relay_event {
	u64 time; /* Unix seconds */
	u64 fp;
	u32 remaining;
	u8 verdict;
	u8 family;
	u8 kind; /* gw_relay_reply_kind when a reply was written, else 0xff */
	u8 pad;
	u8 client[16];
	u16 sender_len;
	u16 rcpt_len;
	u8 sender[GW_ADDR_MAX];
	u8 rcpt[GW_ADDR_MAX];
};

#endif /* GREYWALL_RELAY_H */
