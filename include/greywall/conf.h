/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywall.conf: one configuration for greywalld, greywall-dp and greyctl, so
 * the data path and the sweeper judge by the same timers and tables. Plain
 * "key = value" lines, '#' comments. A bad line is reported as file:line and
 * the program refuses to start rather than guess.
 */
#ifndef GREYWALL_CONF_H
#define GREYWALL_CONF_H

#include <stddef.h>

#include "policy.h"
#include "reply.h"
#include "verdict_text.h"

#define GW_CONF_DEFAULT_PATH   "/etc/greywall/greywall.conf"
#define GW_CONF_PATH_MAX       512
#define GW_CONF_MAX_PROTECT    64
#define GW_CONF_MAX_SMTP_PORTS 8

/* A destination network whose SMTP servers greywall-dp protects. */
struct gw_prefix {
	u8 family;
	u8 len;
	u8 addr[16];
};

struct gw_conf {
	struct gw_config policy;
	char table_path[GW_CONF_PATH_MAX];
	char awl_path[GW_CONF_PATH_MAX];
	unsigned long long capacity;
	char whitelist_path[GW_CONF_PATH_MAX];
	char blacklist_path[GW_CONF_PATH_MAX];
	char pools_path[GW_CONF_PATH_MAX]; /* sender pools: "NAME CIDR..." lines */
	char pools_spf[2048];		   /* pools from SPF: "NAME=spf:DOMAIN ..."; empty = none */
	char spf_server[64];		   /* DNS server for them, IP[@PORT]; empty = resolv.conf */
	/* what greywalld adds to the files' lists (SPF pools, database rows), for greywall-dp */
	char published_lists[GW_CONF_PATH_MAX];
	char policy_listen[128]; /* host:port of the Postfix policy server; empty = off */
	char policy_defer_text[GW_REPLY_MAX];
	char policy_reject_text[GW_REPLY_MAX];
	unsigned max_clients;
	char snapshot_path[GW_CONF_PATH_MAX];	  /* empty = no snapshots */
	unsigned snapshot_interval;		  /* seconds between snapshots */
	unsigned sweep_period;			  /* seconds for one full expiry pass */
	char control_socket[GW_CONF_PATH_MAX];	  /* UNIX socket for greyctl; empty = off */
	char control_group[64];			  /* group that may use it (mode 0660) */
	char dp_control_socket[GW_CONF_PATH_MAX]; /* greywall-dp's UNIX socket; empty = off */
	char metrics_listen[128];	   /* host:port of the Prometheus endpoint; empty = off */
	char relay_maps[GW_CONF_PATH_MAX]; /* the relay filter's pinned maps; empty = none */
	unsigned names_capacity;	   /* triplet texts kept for greyctl and report */
	unsigned report_after;		   /* seconds before an unretried triplet is reported */
	char user[64];			   /* run as this user after start-up; empty = stay */
	char dp_shm[GW_CONF_PATH_MAX];	   /* greywall-dp's shared state; empty = table_path.dp */
	char syslog_ident[64];		   /* "postfix/greywall": pflogsumm counts its rejects */
	/* greywall-dp's own: what it inspects, its flow table, its STARTTLS reply */
	struct gw_prefix protect[GW_CONF_MAX_PROTECT]; /* none = every destination */
	unsigned nprotect;
	u16 smtp_ports[GW_CONF_MAX_SMTP_PORTS];
	unsigned nsmtp_ports;
	unsigned max_flows;
	unsigned flow_idle; /* seconds without packets before a flow is forgotten */
	unsigned mtu;	    /* IP MTU toward clients: longer injected replies are split */
	char tls_defer_text[GW_REPLY_MAX];
	/*
	 * where the protected MTA ends a message: 0 = at any dot line, bare LFs
	 * and extra CRs around it (Postfix before 3.9: smtpd_forbid_bare_newline =
	 * no), 1 = only at CRLF.CRLF (Postfix 3.9's normalize, Exim)
	 */
	u8 end_of_data_crlf;
	/*
	 * greywall-dp's ports come in pairs, a client's frames on one and its
	 * server's on the other: a server frame on the client's port is forged
	 * (dropped). No when both directions share a port (a tap, one capture).
	 */
	u8 paired_ports;
	/* a cluster of nodes sharing their triplets through Redis (cluster.h) */
	char cluster_redis[256];	  /* host:port or unix:/path; empty = this node is alone */
	char cluster_name[64];		  /* one stream per cluster */
	char cluster_node[64];		  /* this node's name; empty = the host name */
	char cluster_secret[40];	  /* 32 hex digits, the same table secret on every node */
	char cluster_redis_user[64];	  /* Redis ACL user; empty = the default user */
	char cluster_redis_password[128]; /* Redis AUTH password; empty = no AUTH */
	unsigned cluster_queue;		  /* entries held for Redis while it is away */
	unsigned cluster_stream_max;	  /* stream entries Redis keeps for late nodes */
	/* lists from PostgreSQL (lists_pg.h) */
	char lists_pg[GW_CONF_PATH_MAX]; /* libpq connection string; empty = list files only */
	char lists_pg_table[64];	 /* the table of list entries */
	char lists_pg_channel[64];	 /* the LISTEN/NOTIFY channel */
	unsigned lists_pg_resync;	 /* seconds between full reloads, the safety net */
	char warnings[1024];		 /* "file:line: warning: ..." lines of the last load */
};

void gw_conf_defaults(struct gw_conf *c);

bool gw_prefix_match(const struct gw_prefix *p, u8 family, const u8 *addr);

/*
 * Set a list key (protect, smtp_ports) from its value: CIDRs or ports,
 * separated by spaces or commas, replacing what was there (or after it, with
 * append). greywall-dp's --protect and --smtp-port come here too. 0, or -1
 * with the reason in why.
 */
int gw_conf_set_list(struct gw_conf *c, const char *key, const char *value, bool append, char *why,
		     size_t whylen);

/*
 * Resolve a listen address "host:port" or "[v6]:port" for the setting named
 * key. The port must be 1..65535 in digits (getaddrinfo would take 99999 mod
 * 65536 or a service name); a host that looks numeric is never sent to DNS.
 * The config load and the bind both come here, so --check refuses exactly
 * what the start would. Returns 0 with *ai to freeaddrinfo (if ai is not
 * NULL), or -1 with "key 'spec': reason" in why.
 */
struct addrinfo;
int gw_listen_resolve(const char *key, const char *spec, struct addrinfo **ai, char *why,
		      size_t whylen);

/*
 * Returns 0, or -1 with "file:line: reason" in err. A missing file is an error.
 * A key given twice is taken from its last line, with a warning in c->warnings.
 */
int gw_conf_load(struct gw_conf *c, const char *path, char *err, size_t errlen);

#endif /* GREYWALL_CONF_H */
