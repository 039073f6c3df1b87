// SPDX-License-Identifier: BSD-2-Clause
/*
 * Writing the relay filter's pinned maps. Lists are published as a whole:
 * every value carries two generations (relay.h), so the new set is laid in
 * beside the old one, a single write of list_gen switches lookups over, and
 * only then are the old set's leftovers deleted.
 *
 * The CIDR maps are longest-prefix tries, so a leftover prefix would shadow a
 * shorter one of the other set. Each key therefore carries, for each
 * generation, the colour a longest-prefix lookup of that key gives in that
 * generation's set, not only its own listing. A lookup in either generation
 * then answers exactly as that set alone would, whatever other keys exist.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "greywall/relay.h"
#include "greywall/relay_defaults.h"
#include "greywall/table_file.h"
#include "relay_maps.h"

/* Long enough for any program that read the old list_gen to finish its lookups. */
#define GRACE_US 20000

static int open_pinned(const char *dir, const char *name, char *err, size_t errlen)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		snprintf(err, errlen, "cannot open the relay filter's map %s: %s (is it attached?)",
			 path, strerror(errno));
	return fd;
}

int gw_relay_maps_open(struct gw_relay_maps *rm, const char *dir, char *err, size_t errlen)
{
	memset(rm, 0xff, sizeof(*rm)); /* every fd -1 */
	if ((rm->config_fd = open_pinned(dir, "config", err, errlen)) < 0 ||
	    (rm->clients_v4_fd = open_pinned(dir, "clients_v4", err, errlen)) < 0 ||
	    (rm->clients_v6_fd = open_pinned(dir, "clients_v6", err, errlen)) < 0 ||
	    (rm->addresses_fd = open_pinned(dir, "addresses", err, errlen)) < 0 ||
	    (rm->stats_fd = open_pinned(dir, "stats", err, errlen)) < 0) {
		gw_relay_maps_close(rm);
		return -1;
	}
	rm->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rm->lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		gw_relay_maps_close(rm);
		return -1;
	}
	return 0;
}

void gw_relay_maps_close(struct gw_relay_maps *rm)
{
	int *fds[] = {&rm->config_fd,	 &rm->clients_v4_fd, &rm->clients_v6_fd,
		      &rm->addresses_fd, &rm->stats_fd,	     &rm->lock_fd};
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int read_config(struct gw_relay_maps *rm, struct gw_relay_config *c, char *err,
		       size_t errlen)
{
	u32 zero = 0;

	if (bpf_map_lookup_elem(rm->config_fd, &zero, c)) {
		snprintf(err, errlen, "cannot read the relay filter's config: %s", strerror(errno));
		return -1;
	}
	if (c->magic != GW_RELAY_CONFIG_MAGIC) {
		/* no packet yet: start where the first packet would */
		*c = gw_relay_default_config;
	}
	return 0;
}

static int write_config(struct gw_relay_maps *rm, const struct gw_relay_config *c, char *err,
			size_t errlen)
{
	u32 zero = 0;

	if (bpf_map_update_elem(rm->config_fd, &zero, c, BPF_ANY)) {
		snprintf(err, errlen, "cannot write the relay filter's config: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int gw_relay_config_get(struct gw_relay_maps *rm, struct gw_relay_config *c, char *err,
			size_t errlen)
{
	return read_config(rm, c, err, errlen);
}

int gw_relay_config_set(struct gw_relay_maps *rm, const struct gw_relay_config *c, char *err,
			size_t errlen)
{
	int rc;

	flock(rm->lock_fd, LOCK_EX);
	rc = write_config(rm, c, err, errlen);
	flock(rm->lock_fd, LOCK_UN);
	return rc;
}

/* Unix time minus the filter's clock (TAI), to the second. */
static s64 tai_to_unix_ns(void)
{
	struct timespec rt, tai;
	s64 d;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_TAI, &tai);
	d = ((s64)rt.tv_sec - tai.tv_sec) * 1000000000LL + (rt.tv_nsec - tai.tv_nsec);
	return (d >= 0 ? (d + 500000000LL) : (d - 500000000LL)) / 1000000000LL * 1000000000LL;
}

int gw_relay_push_policy(struct gw_relay_maps *rm, const struct gw_config *policy, char *err,
			 size_t errlen)
{
	struct gw_relay_config c;
	int rc;

	flock(rm->lock_fd, LOCK_EX);
	rc = read_config(rm, &c, err, errlen);
	if (rc == 0) {
		c.policy = *policy;
		c.clock_offset_ns = tai_to_unix_ns();
		c.magic = GW_RELAY_CONFIG_MAGIC;
		rc = write_config(rm, &c, err, errlen);
	}
	flock(rm->lock_fd, LOCK_UN);
	return rc;
}

/* One key of a list map in the sync: its bytes, the value to write, and whether to keep it. */
struct sync_key {
	u8 key[20]; /* gw_relay_lpm4/6, or the u64 fingerprint */
	u8 value;   /* an address key's */
	u8 in_new;
	struct gw_relay_client_value client; /* a client trie key's */
};

struct sync_set {
	struct sync_key *k;
	size_t n, cap;
	u32 key_size;
};

static int set_push(struct sync_set *s, const void *key, u8 in_new)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		struct sync_key *nk = realloc(s->k, ncap * sizeof(*nk));

		if (!nk)
			return -1;
		s->k = nk;
		s->cap = ncap;
	}
	memset(&s->k[s->n], 0, sizeof(s->k[0]));
	memcpy(s->k[s->n].key, key, s->key_size);
	s->k[s->n].in_new = in_new;
	s->n++;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(((const struct sync_key *)a)->key, ((const struct sync_key *)b)->key, 20);
}

/* Sort and merge duplicates (a key both in the map and in the new set). */
static void set_unique(struct sync_set *s)
{
	size_t i, o = 0;

	qsort(s->k, s->n, sizeof(s->k[0]), key_cmp);
	for (i = 0; i < s->n; i++) {
		if (o && !memcmp(s->k[o - 1].key, s->k[i].key, 20)) {
			s->k[o - 1].in_new |= s->k[i].in_new;
			continue;
		}
		s->k[o++] = s->k[i];
	}
	s->n = o;
}

static int add_map_keys(struct sync_set *s, int fd)
{
	u8 key[20] = {0}, next[20] = {0};
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (set_push(s, next, 0))
			return -1;
		memcpy(key, next, sizeof(key));
		prev = key;
	}
	return errno == ENOENT ? 0 : -1;
}

struct new_keys {
	struct sync_set *v4, *v6, *addr;
	const u64 *secret;
	int failed;
};

static int add_new_key(const struct gw_list_entry *e, void *arg)
{
	struct new_keys *nk = arg;

	if (e->type == 'C' && e->family == GW_AF_INET) {
		struct gw_relay_lpm4 k = {.prefixlen = e->prefix};

		memcpy(k.addr, e->net, 4);
		nk->failed |= set_push(nk->v4, &k, 1);
	} else if (e->type == 'C') {
		struct gw_relay_lpm6 k = {.prefixlen = e->prefix};

		memcpy(k.addr, e->net, 16);
		nk->failed |= set_push(nk->v6, &k, 1);
	} else {
		struct gw_addr_bytes a;
		u64 fp;

		memcpy(a.b, e->addr, e->addr_len);
		fp = gw_relay_addr_fp(nk->secret, e->type == 'S' ? GW_RA_SENDER : GW_RA_RCPT, &a, 0,
				      e->addr_len);
		nk->failed |= set_push(nk->addr, &fp, 1);
	}
	return nk->failed;
}

/*
 * The value of every key: the old generation's colour as the map answers
 * now (a longest-prefix lookup for the tries), the new one's from the set.
 */
static void compute_values(struct sync_set *s, int fd, const struct gw_lists *l, u32 old_gen,
			   int family)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct sync_key *k = &s->k[i];
		struct gw_relay_client_value cur = {0};
		u8 cur_addr = 0, oldc, newc = 0;
		u64 new_pool = 0;

		if (family) {
			u32 plen;

			if (bpf_map_lookup_elem(fd, k->key, &cur))
				memset(&cur, 0, sizeof(cur));
			oldc = GW_RELAY_LIST_COLOR(cur.colors, old_gen);
			memcpy(&plen, k->key, 4);
			gw_lists_client_lookup(l, (u8)family, k->key + 4, (u8)plen, &newc,
					       &new_pool);
			k->client.colors = old_gen ? GW_RELAY_LIST_VALUE(newc, oldc)
						   : GW_RELAY_LIST_VALUE(oldc, newc);
			k->client.pool[old_gen] = cur.pool[old_gen];
			k->client.pool[old_gen ^ 1] = new_pool;
			continue;
		}
		if (bpf_map_lookup_elem(fd, k->key, &cur_addr))
			cur_addr = 0;
		oldc = GW_RELAY_LIST_COLOR(cur_addr, old_gen);
		if (k->in_new)
			newc = k->value; /* set by the caller from the list entry */
		k->value =
		    old_gen ? GW_RELAY_LIST_VALUE(newc, oldc) : GW_RELAY_LIST_VALUE(oldc, newc);
	}
}

struct addr_colors {
	struct sync_set *addr;
	const u64 *secret;
};

/* The listed colours of each new address key (the fingerprints hide the text). */
static int note_addr_colors(const struct gw_list_entry *e, void *arg)
{
	struct addr_colors *ac = arg;
	struct sync_key probe;
	struct gw_addr_bytes a;
	struct sync_key *hit;
	u64 fp;

	if (e->type == 'C')
		return 0;
	memcpy(a.b, e->addr, e->addr_len);
	fp = gw_relay_addr_fp(ac->secret, e->type == 'S' ? GW_RA_SENDER : GW_RA_RCPT, &a, 0,
			      e->addr_len);
	memset(&probe, 0, sizeof(probe));
	memcpy(probe.key, &fp, 8);
	hit = bsearch(&probe, ac->addr->k, ac->addr->n, sizeof(probe), key_cmp);
	if (hit)
		hit->value |= e->colors;
	return 0;
}

static int write_values(const struct sync_set *s, int fd, bool client, unsigned long long *written)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const void *v = client ? (const void *)&s->k[i].client : &s->k[i].value;

		if (bpf_map_update_elem(fd, s->k[i].key, v, BPF_ANY))
			return -1;
		(*written)++;
	}
	return 0;
}

static void delete_leftovers(const struct sync_set *s, int fd, unsigned long long *deleted)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->k[i].in_new && bpf_map_delete_elem(fd, s->k[i].key) == 0)
			(*deleted)++;
}

int gw_relay_push_lists(struct gw_relay_maps *rm, const struct gw_lists *lists, const u64 secret[2],
			struct gw_relay_sync_stats *st, char *err, size_t errlen)
{
	struct sync_set v4 = {.key_size = sizeof(struct gw_relay_lpm4)};
	struct sync_set v6 = {.key_size = sizeof(struct gw_relay_lpm6)};
	struct sync_set addr = {.key_size = sizeof(u64)};
	struct new_keys nk = {&v4, &v6, &addr, secret, 0};
	struct addr_colors ac = {&addr, secret};
	struct gw_relay_config c;
	u32 old_gen;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	flock(rm->lock_fd, LOCK_EX);
	if (read_config(rm, &c, err, errlen))
		goto out;
	old_gen = c.list_gen & 1;
	if (add_map_keys(&v4, rm->clients_v4_fd) || add_map_keys(&v6, rm->clients_v6_fd) ||
	    add_map_keys(&addr, rm->addresses_fd) || gw_lists_foreach(lists, add_new_key, &nk)) {
		snprintf(err, errlen, "cannot read the relay filter's list maps: %s",
			 strerror(errno ? errno : ENOMEM));
		goto out;
	}
	set_unique(&v4);
	set_unique(&v6);
	set_unique(&addr);
	if (v4.n > GW_RELAY_LIST_ENTRIES || v6.n > GW_RELAY_LIST_ENTRIES ||
	    addr.n > GW_RELAY_LIST_ENTRIES) {
		snprintf(err, errlen,
			 "the relay filter's list maps hold %u entries each; this change needs "
			 "%zu IPv4, %zu IPv6 and %zu address keys (old and new side by side)",
			 GW_RELAY_LIST_ENTRIES, v4.n, v6.n, addr.n);
		goto out;
	}
	gw_lists_foreach(lists, note_addr_colors, &ac);
	compute_values(&v4, rm->clients_v4_fd, lists, old_gen, GW_AF_INET);
	compute_values(&v6, rm->clients_v6_fd, lists, old_gen, GW_AF_INET6);
	compute_values(&addr, rm->addresses_fd, lists, old_gen, 0);
	if (write_values(&v4, rm->clients_v4_fd, true, &st->written) ||
	    write_values(&v6, rm->clients_v6_fd, true, &st->written) ||
	    write_values(&addr, rm->addresses_fd, false, &st->written)) {
		/* the old generation's answers are unchanged in every value written */
		snprintf(err, errlen, "cannot write the relay filter's list maps: %s",
			 strerror(errno));
		goto out;
	}
	c.list_gen = (u8)(old_gen ^ 1);
	c.magic = GW_RELAY_CONFIG_MAGIC;
	if (write_config(rm, &c, err, errlen))
		goto out;
	usleep(GRACE_US);
	delete_leftovers(&v4, rm->clients_v4_fd, &st->deleted);
	delete_leftovers(&v6, rm->clients_v6_fd, &st->deleted);
	delete_leftovers(&addr, rm->addresses_fd, &st->deleted);
	st->entries = gw_lists_size(lists);
	st->gen = c.list_gen;
	rc = 0;
out:
	flock(rm->lock_fd, LOCK_UN);
	free(v4.k);
	free(v6.k);
	free(addr.k);
	return rc;
}

int gw_relay_read_stats(struct gw_relay_maps *rm, unsigned long long *vals)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	u64 *per;
	u32 idx;

	if (ncpu <= 0 || !(per = calloc((size_t)ncpu, sizeof(*per))))
		return -1;
	for (idx = 0; idx < GW_RS_COUNT; idx++) {
		vals[idx] = 0;
		if (bpf_map_lookup_elem(rm->stats_fd, &idx, per))
			continue;
		for (i = 0; i < ncpu; i++)
			vals[idx] += per[i];
	}
	free(per);
	return 0;
}

int gw_relay_publish_files(const char *dir, const char *white_path, const char *black_path,
			   const char *pools_path, struct gw_relay_sync_stats *st, char *err,
			   size_t errlen)
{
	struct gw_lists *lists = gw_lists_load_all(white_path, black_path, pools_path, err, errlen);
	struct gw_relay_maps rm;
	struct gw_table_map trip;
	char path[600];
	int rc = -1;

	if (!lists)
		return -1;
	snprintf(path, sizeof(path), "%s/triplets", dir);
	/* the first to come lays the table out; the filter's awl then takes its secret */
	if (gw_table_map_open(&trip, path, 0, GW_TABLE_TRIPLETS, GW_TF_CREATE, NULL, err, errlen) ==
	    0) {
		if (gw_relay_maps_open(&rm, dir, err, errlen) == 0) {
			rc = gw_relay_push_lists(&rm, lists, trip.table.hdr->secret, st, err,
						 errlen);
			gw_relay_maps_close(&rm);
		}
		gw_table_map_close(&trip);
	}
	gw_lists_free(lists);
	return rc;
}
