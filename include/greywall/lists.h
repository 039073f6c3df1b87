/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * White- and blacklists in user space: client CIDRs (v4, v6), sender and
 * recipient addresses or @domains. A list set is built once and then only
 * read, so a new generation can be published with one pointer swap.
 */
#ifndef GREYWALL_LISTS_H
#define GREYWALL_LISTS_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

#include "policy.h"

enum gw_list_color {
	GW_WHITE = 0,
	GW_BLACK = 1,
};

struct gw_lists;

struct gw_lists *gw_lists_new(void);
void gw_lists_free(struct gw_lists *l);

/*
 * One entry: "client CIDR", "sender ADDR|@DOMAIN", "recipient ADDR|@DOMAIN".
 * Returns 0, or -1 with a reason in err.
 */
int gw_lists_add(struct gw_lists *l, enum gw_list_color color, const char *entry, char *err,
		 size_t errlen);

/*
 * Load a list file: one entry per line, '#' comments, blank lines ignored.
 * Errors name file:line and the kind of error, never the line's text.
 * Returns entries added, or -1.
 */
int gw_lists_load_file(struct gw_lists *l, enum gw_list_color color, const char *path, char *err,
		       size_t errlen);

/*
 * List files must be regular files owned by root, by the caller or by this uid
 * (the user greywalld drops to, which may own the files it reloads).
 */
void gw_lists_trust_owner(uid_t uid);

/*
 * A new list set from a whitelist and a blacklist file (either may be NULL or
 * empty). NULL with the reason in err if a file is missing or has a bad line.
 */
struct gw_lists *gw_lists_load_files(const char *white_path, const char *black_path, char *err,
				     size_t errlen);

/*
 * Sender pools: a named set of CIDRs that counts as one client network in the
 * triplet (gw_client_net_pool), so a big sender's retry from another server
 * of the same pool finds its first attempt. A network is in one pool at most.
 */
#define GW_POOL_NAME_MAX 64

struct gw_pool_info {
	u64 id; /* gw_pool_id(name): the same on every node and across reloads */
	u32 cidrs;
	char name[GW_POOL_NAME_MAX + 1];
};

u64 gw_pool_id(const char *name, size_t len);

/* A pool's name: 1 to GW_POOL_NAME_MAX letters, digits or '.', '_', ':', '-'. */
bool gw_pool_name_ok(const char *name, size_t len);

/* Add CIDR to pool NAME. 0, or -1 with the reason (a bad name or CIDR, another pool's network). */
int gw_lists_add_pool(struct gw_lists *l, const char *name, const char *cidr, char *err,
		      size_t errlen);

/*
 * Load a pools file: "NAME CIDR [CIDR...]" lines, '#' comments. The file must
 * pass the same checks as a list file. Returns CIDRs added, or -1.
 */
int gw_lists_load_pools(struct gw_lists *l, const char *path, char *err, size_t errlen);

/*
 * Add the file greywalld publishes (published_lists: its SPF pools and
 * database rows) to a list set: "pool NAME CIDR", "white ENTRY" and "black
 * ENTRY" lines. A network another pool holds already stays there, counted in
 * *skipped, not refused. A missing file adds nothing. Returns entries added,
 * or -1 with file:line and the reason in err.
 */
int gw_lists_merge_published(struct gw_lists *l, const char *path, size_t *skipped, char *err,
			     size_t errlen);

/* The whitelist, blacklist and pools files (any may be NULL or empty) as one set. */
struct gw_lists *gw_lists_load_all(const char *white_path, const char *black_path,
				   const char *pools_path, char *err, size_t errlen);

/* A pool's name, or NULL; and every pool, for people. */
const char *gw_lists_pool_name(const struct gw_lists *l, u64 pool);
size_t gw_lists_pools(const struct gw_lists *l, const struct gw_pool_info **out);

/*
 * One longest-prefix walk for a client address: the colours of the longest
 * listed network with colours and the pool of the longest one in a pool.
 */
void gw_lists_client_lookup(const struct gw_lists *l, u8 family, const u8 *addr, u8 max_prefix,
			    u8 *colors, u64 *pool);

/* Look up a client address (not masked) and normalised sender and recipient. */
void gw_lists_match(const struct gw_lists *l, u8 family, const u8 *addr, const u8 *sender,
		    u16 sender_len, const u8 *rcpt, u16 rcpt_len, struct gw_list_hits *hits);

size_t gw_lists_size(const struct gw_lists *l);

/* One entry of a list set, as gw_lists_foreach hands it out. */
struct gw_list_entry {
	u8 colors; /* 1 << GW_WHITE, 1 << GW_BLACK, both, or none (a pool's network only) */
	u64 pool;  /* a client network's pool, 0 for none */
	char type; /* 'C' client network, 'S' sender, 'R' recipient */
	/* a client network: its family, prefix length and masked address */
	u8 family, prefix;
	const u8 *net; /* 16 bytes, an IPv4 network in the first 4 */
	/* a sender or recipient: "local@domain" or "@domain", normalised */
	const u8 *addr;
	u16 addr_len;
};

/* Call fn for every entry, in no order; stops at and returns fn's first non-zero result. */
int gw_lists_foreach(const struct gw_lists *l, int (*fn)(const struct gw_list_entry *e, void *arg),
		     void *arg);

/*
 * The colours of the longest listed network of at most max_prefix bits that
 * holds addr, or 0: what a longest-prefix lookup of addr/max_prefix returns.
 */
u8 gw_lists_client_colors(const struct gw_lists *l, u8 family, const u8 *addr, u8 max_prefix);

/* The colours listed for exactly this address or @domain of type 'S' or 'R'. */
u8 gw_lists_address_colors(const struct gw_lists *l, char type, const u8 *addr, u16 len);

/* Parse "198.18.0.0/15" or "fd00::/8" (a bare address is a host route). */
int gw_parse_cidr(const char *s, u8 *family, u8 addr[16], u8 *prefix);

#endif /* GREYWALL_LISTS_H */
