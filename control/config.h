/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * greywalld's configuration: plain "key = value" lines, '#' comments. A bad
 * line is reported as file:line and the daemon refuses to start rather than
 * guess.
 */
#ifndef GREYWALL_CONTROL_CONFIG_H
#define GREYWALL_CONTROL_CONFIG_H

#include <stddef.h>

#include "greywall/policy.h"
#include "greywall/reply.h"

#define GW_CONF_DEFAULT_PATH "/etc/greywall/greywall.conf"
#define GW_PATH_MAX	     512

struct gw_daemon_config {
	struct gw_config policy;
	char table_path[GW_PATH_MAX];
	char awl_path[GW_PATH_MAX];
	unsigned long long capacity;
	char whitelist_path[GW_PATH_MAX];
	char blacklist_path[GW_PATH_MAX];
	char policy_listen[128]; /* host:port of the Postfix policy server; empty = off */
	char policy_defer_text[GW_REPLY_MAX];
	char policy_reject_text[GW_REPLY_MAX];
	unsigned max_clients;
	char snapshot_path[GW_PATH_MAX];  /* empty = no snapshots */
	unsigned snapshot_interval;	  /* seconds between snapshots */
	unsigned sweep_period;		  /* seconds for one full expiry pass */
	char control_socket[GW_PATH_MAX]; /* UNIX socket for greyctl; empty = off */
	char control_group[64];		  /* group that may use it (mode 0660) */
	char metrics_listen[128];	  /* host:port of the Prometheus endpoint; empty = off */
	char relay_maps[GW_PATH_MAX];	  /* the relay filter's pinned maps; empty = none */
	unsigned names_capacity;	  /* triplet texts kept for greyctl and report */
	unsigned report_after;		  /* seconds before an unretried triplet is reported */
	char user[64];			  /* run as this user after start-up; empty = stay */
	char dp_shm[GW_PATH_MAX];	  /* greywall-dp's shared state; empty = table_path.dp */
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
	char lists_pg[GW_PATH_MAX]; /* libpq connection string; empty = list files only */
	char lists_pg_table[64];    /* the table of list entries */
	char lists_pg_channel[64];  /* the LISTEN/NOTIFY channel */
	unsigned lists_pg_resync;   /* seconds between full reloads, the safety net */
	char warnings[1024];	    /* "file:line: warning: ..." lines of the last load */
};

void gw_daemon_config_defaults(struct gw_daemon_config *c);

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
int gw_daemon_config_load(struct gw_daemon_config *c, const char *path, char *err, size_t errlen);

#endif /* GREYWALL_CONTROL_CONFIG_H */
