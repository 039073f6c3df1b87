// SPDX-License-Identifier: BSD-2-Clause
/*
 * List sets as one open-addressing set of byte keys. A CIDR lookup probes
 * only the prefix lengths that have entries, longest first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "greywall/lists.h"
#include "greywall/trusted_file.h"

enum key_type {
	KEY_CLIENT = 'C',
	KEY_SENDER = 'S',
	KEY_RCPT = 'R',
};

struct entry {
	u64 hash;
	u64 pool; /* a client network's sender pool, 0 for none */
	u16 len;
	u8 color;
	u8 key[]; /* type byte, then the key */
};

struct gw_lists {
	struct entry **slots;
	size_t cap, count;
	u8 plen_used[2][129]; /* [v4/v6][prefix] */
	u64 k0, k1;
	struct gw_pool_info *pools; /* the pools' names, for people; the data paths need ids only */
	size_t npools, pools_cap;
};

static u64 key_hash(const struct gw_lists *l, const u8 *k, u16 len)
{
	return gw_siphash24(l->k0, l->k1, k, len);
}

struct gw_lists *gw_lists_new(void)
{
	struct gw_lists *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->cap = 64;
	l->slots = calloc(l->cap, sizeof(*l->slots));
	if (!l->slots) {
		free(l);
		return NULL;
	}
	/* Lists hold admin-chosen keys; a fixed key is enough against accidents. */
	l->k0 = 0x6772657977616c6cULL;
	l->k1 = 0x6c697374732d6b31ULL;
	return l;
}

void gw_lists_free(struct gw_lists *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->cap; i++)
		free(l->slots[i]);
	free(l->slots);
	free(l->pools);
	free(l);
}

size_t gw_lists_size(const struct gw_lists *l)
{
	return l->count;
}

static struct entry *find(const struct gw_lists *l, const u8 *k, u16 len)
{
	u64 h = key_hash(l, k, len);
	size_t i = h & (l->cap - 1);

	for (;;) {
		struct entry *e = l->slots[i];

		if (!e)
			return NULL;
		if (e->hash == h && e->len == len && memcmp(e->key, k, len) == 0)
			return e;
		i = (i + 1) & (l->cap - 1);
	}
}

static int grow(struct gw_lists *l)
{
	size_t ncap = l->cap * 2, i;
	struct entry **n = calloc(ncap, sizeof(*n));

	if (!n)
		return -1;
	for (i = 0; i < l->cap; i++) {
		struct entry *e = l->slots[i];
		size_t j;

		if (!e)
			continue;
		j = e->hash & (ncap - 1);
		while (n[j])
			j = (j + 1) & (ncap - 1);
		n[j] = e;
	}
	free(l->slots);
	l->slots = n;
	l->cap = ncap;
	return 0;
}

/* The entry for key k, made (without colours or pool) if it is not there yet; NULL if no memory. */
static struct entry *find_or_make(struct gw_lists *l, const u8 *k, u16 len)
{
	struct entry *e = find(l, k, len);
	size_t i;

	if (e)
		return e;
	if ((l->count + 1) * 4 > l->cap * 3 && grow(l) != 0)
		return NULL;
	e = calloc(1, sizeof(*e) + len);
	if (!e)
		return NULL;
	e->hash = key_hash(l, k, len);
	e->len = len;
	memcpy(e->key, k, len);
	i = e->hash & (l->cap - 1);
	while (l->slots[i])
		i = (i + 1) & (l->cap - 1);
	l->slots[i] = e;
	l->count++;
	return e;
}

static int insert(struct gw_lists *l, const u8 *k, u16 len, u8 color)
{
	struct entry *e = find_or_make(l, k, len);

	if (!e)
		return -1;
	/* Listed twice: both colours are kept, and the blacklist wins when matched. */
	e->color |= (u8)(1u << color);
	return 0;
}

int gw_parse_cidr(const char *s, u8 *family, u8 addr[16], u8 *prefix)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long p;
	char *end;

	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, s, alen);
	buf[alen] = 0;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = GW_AF_INET;
		p = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = GW_AF_INET6;
		p = 128;
	} else {
		return -1;
	}
	if (slash) {
		unsigned long max = p;

		errno = 0;
		p = strtoul(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || p > max)
			return -1;
	}
	*prefix = (u8)p;
	return 0;
}

static u16 client_key(u8 *k, u8 family, const u8 *addr, u8 prefix)
{
	struct gw_client_net n;

	gw_client_net_make(&n, family, addr, prefix);
	k[0] = KEY_CLIENT;
	k[1] = family;
	k[2] = prefix;
	memcpy(k + 3, n.addr, 16);
	return 19;
}

static int add_address(struct gw_lists *l, u8 type, enum gw_list_color color, const char *v,
		       char *err, size_t errlen)
{
	static const struct gw_norm_opts keep = {0};
	u8 k[GW_ADDR_MAX + 1];
	int n;

	if (*v == '<')
		v++;
	n = (int)strlen(v);
	if (n > 0 && v[n - 1] == '>')
		n--;
	if (n == 0 || (v[0] == '@' && n == 1)) {
		snprintf(err, errlen, "empty address");
		return -1;
	}
	/* Addresses in lists are matched after normalisation, so normalise them the same way. */
	n = gw_normalize_address((const u8 *)v, (u32)n, k + 1, &keep, false);
	if (n < 0) {
		snprintf(err, errlen, "address too long or has control characters");
		return -1;
	}
	k[0] = type;
	return insert(l, k, (u16)(n + 1), color);
}

/*
 * Errors name the kind of mistake, never the text: a list path may point at a
 * file the admin did not mean (a symlink to a secret), and these messages go to
 * syslog and to whoever asked for the reload.
 */
int gw_lists_add(struct gw_lists *l, enum gw_list_color color, const char *entry, char *err,
		 size_t errlen)
{
	static const char *const kinds[] = {"client", "sender", "recipient"};
	const char *v = entry, *kind = NULL;
	size_t klen, i;

	while (isspace((unsigned char)*v))
		v++;
	klen = strcspn(v, " \t");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (klen == strlen(kinds[i]) && !memcmp(v, kinds[i], klen))
			kind = kinds[i];
	if (!kind) {
		snprintf(err, errlen,
			 klen ? "unknown entry kind (client, sender or recipient)"
			      : "expected 'client', 'sender' or 'recipient' and a value");
		return -1;
	}
	v += klen;
	while (isspace((unsigned char)*v))
		v++;
	if (*v == 0) {
		snprintf(err, errlen, "'%s' needs a value", kind);
		return -1;
	}
	if (kind == kinds[0]) {
		u8 fam, addr[16], prefix, k[19];

		if (gw_parse_cidr(v, &fam, addr, &prefix) != 0) {
			snprintf(err, errlen, "client: not an IPv4 or IPv6 address or CIDR");
			return -1;
		}
		l->plen_used[fam == GW_AF_INET6][prefix] = 1;
		return insert(l, k, client_key(k, fam, addr, prefix), color);
	}
	return add_address(l, kind == kinds[1] ? KEY_SENDER : KEY_RCPT, color, v, err, errlen);
}

u64 gw_pool_id(const char *name, size_t len)
{
	/* fixed key: every node and every reload must give a pool the same id */
	u64 id = gw_siphash24(0x73656e6465722d70ULL, 0x6f6f6c2d69642d31ULL, name, (u32)len);

	return id ? id : 1; /* 0 means "in no pool" */
}

bool gw_pool_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > GW_POOL_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._:-", name[i]))
			return false;
	return true;
}

static struct gw_pool_info *pool_info(struct gw_lists *l, const char *name, size_t len, u64 id)
{
	struct gw_pool_info *p;
	size_t i;

	for (i = 0; i < l->npools; i++)
		if (l->pools[i].id == id)
			return &l->pools[i];
	if (l->npools == l->pools_cap) {
		size_t ncap = l->pools_cap ? l->pools_cap * 2 : 8;

		p = realloc(l->pools, ncap * sizeof(*p));
		if (!p)
			return NULL;
		l->pools = p;
		l->pools_cap = ncap;
	}
	p = &l->pools[l->npools++];
	memset(p, 0, sizeof(*p));
	p->id = id;
	memcpy(p->name, name, len);
	return p;
}

int gw_lists_add_pool(struct gw_lists *l, const char *name, const char *cidr, char *err,
		      size_t errlen)
{
	size_t nlen = strlen(name);
	u8 fam, addr[16], prefix, k[19];
	struct gw_pool_info *info;
	struct entry *e;
	u64 id;

	if (!gw_pool_name_ok(name, nlen)) {
		snprintf(err, errlen, "pool name: 1 to %d letters, digits or '.', '_', ':', '-'",
			 GW_POOL_NAME_MAX);
		return -1;
	}
	if (gw_parse_cidr(cidr, &fam, addr, &prefix) != 0) {
		snprintf(err, errlen, "pool: not an IPv4 or IPv6 address or CIDR");
		return -1;
	}
	id = gw_pool_id(name, nlen);
	info = pool_info(l, name, nlen, id);
	e = info ? find_or_make(l, k, client_key(k, fam, addr, prefix)) : NULL;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (e->pool && e->pool != id) {
		/* an address in two pools would make its triplet depend on the order of lines */
		const char *other = gw_lists_pool_name(l, e->pool);

		snprintf(err, errlen, "this network is already in pool '%s'", other ? other : "?");
		return -1;
	}
	if (!e->pool)
		info->cidrs++;
	e->pool = id;
	l->plen_used[fam == GW_AF_INET6][prefix] = 1;
	return 0;
}

const char *gw_lists_pool_name(const struct gw_lists *l, u64 pool)
{
	size_t i;

	for (i = 0; l && i < l->npools; i++)
		if (l->pools[i].id == pool)
			return l->pools[i].name;
	return NULL;
}

size_t gw_lists_pools(const struct gw_lists *l, const struct gw_pool_info **out)
{
	*out = l ? l->pools : NULL;
	return l ? l->npools : 0;
}

void gw_lists_trust_owner(uid_t uid)
{
	gw_trusted_owner_set(uid);
}

int gw_lists_load_file(struct gw_lists *l, enum gw_list_color color, const char *path, char *err,
		       size_t errlen)
{
	char line[1024], why[256];
	FILE *f = gw_trusted_open(path, true, err, errlen);
	int lineno = 0, added = 0, rc;

	if (!f)
		return -1;
	while ((rc = gw_read_line(f, line, sizeof(line))) != 0) {
		char *p = line, *hash;
		size_t n;

		lineno++;
		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, gw_line_error(rc));
			fclose(f);
			return -1;
		}
		hash = strchr(p, '#');
		if (hash)
			*hash = 0;
		n = strlen(p);
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			p[--n] = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == 0)
			continue;
		if (gw_lists_add(l, color, p, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			fclose(f);
			return -1;
		}
		added++;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s:%d: %s", path, lineno + 1, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return added;
}

static int load_pools(struct gw_lists *l, const char *path, size_t *skipped, char *err,
		      size_t errlen)
{
	char line[1024], why[256];
	FILE *f = gw_trusted_open(path, true, err, errlen);
	int lineno = 0, added = 0, rc;

	if (!f)
		return -1;
	while ((rc = gw_read_line(f, line, sizeof(line))) != 0) {
		char *hash, *save = NULL, *name, *cidr;

		lineno++;
		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, gw_line_error(rc));
			goto bad;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		name = strtok_r(line, " \t\r", &save);
		if (!name)
			continue;
		cidr = strtok_r(NULL, " \t\r", &save);
		if (!cidr) {
			snprintf(err, errlen, "%s:%d: a pool needs a name and at least one CIDR",
				 path, lineno);
			goto bad;
		}
		for (; cidr; cidr = strtok_r(NULL, " \t\r", &save)) {
			if (gw_lists_add_pool(l, name, cidr, why, sizeof(why))) {
				if (skipped && strstr(why, "already in pool")) {
					++*skipped;
					continue;
				}
				snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
				goto bad;
			}
			added++;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	fclose(f);
	return added;
bad:
	fclose(f);
	return -1;
}

int gw_lists_load_pools(struct gw_lists *l, const char *path, char *err, size_t errlen)
{
	return load_pools(l, path, NULL, err, errlen);
}

int gw_lists_merge_published(struct gw_lists *l, const char *path, size_t *skipped, char *err,
			     size_t errlen)
{
	char line[1024], why[256];
	FILE *f;
	int lineno = 0, added = 0, rc;

	*skipped = 0;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0; /* not written yet: greywalld has nothing to add so far */
	f = gw_trusted_open(path, true, err, errlen);
	if (!f)
		return -1;
	while ((rc = gw_read_line(f, line, sizeof(line))) != 0) {
		char *p = line, *word, *save = NULL;

		lineno++;
		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, gw_line_error(rc));
			goto bad;
		}
		if (*p == '#' || !*p)
			continue;
		word = strtok_r(p, " \t", &save);
		if (word && !strcmp(word, "pool")) {
			char *name = strtok_r(NULL, " \t", &save),
			     *cidr = strtok_r(NULL, " \t", &save);

			rc = gw_lists_add_pool(l, name ? name : "", cidr ? cidr : "", why,
					       sizeof(why));
			if (rc && strstr(why, "already in pool")) {
				++*skipped;
				continue;
			}
		} else if (word && (!strcmp(word, "white") || !strcmp(word, "black"))) {
			rc = gw_lists_add(l, word[0] == 'w' ? GW_WHITE : GW_BLACK, save ? save : "",
					  why, sizeof(why));
		} else {
			snprintf(why, sizeof(why), "expected 'pool', 'white' or 'black'");
			rc = -1;
		}
		if (rc) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto bad;
		}
		added++;
	}
	fclose(f);
	return added;
bad:
	fclose(f);
	return -1;
}

struct gw_lists *gw_lists_load_all(const char *white_path, const char *black_path,
				   const char *pools_path, char *err, size_t errlen)
{
	struct gw_lists *l = gw_lists_new();

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((white_path && white_path[0] &&
	     gw_lists_load_file(l, GW_WHITE, white_path, err, errlen) < 0) ||
	    (black_path && black_path[0] &&
	     gw_lists_load_file(l, GW_BLACK, black_path, err, errlen) < 0) ||
	    (pools_path && pools_path[0] && gw_lists_load_pools(l, pools_path, err, errlen) < 0)) {
		gw_lists_free(l);
		return NULL;
	}
	return l;
}

struct gw_lists *gw_lists_load_files(const char *white_path, const char *black_path, char *err,
				     size_t errlen)
{
	return gw_lists_load_all(white_path, black_path, NULL, err, errlen);
}

static u8 lookup_color(const struct gw_lists *l, const u8 *k, u16 len)
{
	const struct entry *e = find(l, k, len);

	return e ? e->color : 0;
}

static u8 address_color(const struct gw_lists *l, u8 type, const u8 *a, u16 len)
{
	u8 k[GW_ADDR_MAX + 1], color;
	int at;

	if (len > GW_ADDR_MAX)
		return 0;
	k[0] = type;
	memcpy(k + 1, a, len);
	color = lookup_color(l, k, (u16)(len + 1));
	at = gw_addr_last_at((const struct gw_addr_bytes *)a, len);
	if (at >= 0) {
		/* "@domain" entries: the type byte, then the address from its '@' on. */
		k[at] = type;
		color |= lookup_color(l, k + at, (u16)(len - at + 1));
	}
	return color;
}

void gw_lists_client_lookup(const struct gw_lists *l, u8 family, const u8 *addr, u8 max_prefix,
			    u8 *colors, u64 *pool)
{
	int v6 = family == GW_AF_INET6, p = v6 ? 128 : 32;
	u8 k[19];

	*colors = 0;
	*pool = 0;
	if (max_prefix < p)
		p = max_prefix;
	/* one walk, longest prefix first, for both: the colours and the pool of the
	 * longest listed network that has them */
	for (; p >= 0 && (!*colors || !*pool); p--) {
		const struct entry *e;

		if (!l->plen_used[v6][p])
			continue;
		e = find(l, k, client_key(k, family, addr, (u8)p));
		if (!e)
			continue;
		if (!*colors)
			*colors = e->color;
		if (!*pool)
			*pool = e->pool;
	}
}

u8 gw_lists_client_colors(const struct gw_lists *l, u8 family, const u8 *addr, u8 max_prefix)
{
	u8 colors;
	u64 pool;

	gw_lists_client_lookup(l, family, addr, max_prefix, &colors, &pool);
	return colors;
}

u8 gw_lists_address_colors(const struct gw_lists *l, char type, const u8 *addr, u16 len)
{
	u8 k[GW_ADDR_MAX + 1];

	if (len > GW_ADDR_MAX)
		return 0;
	k[0] = (u8)type;
	memcpy(k + 1, addr, len);
	return lookup_color(l, k, (u16)(len + 1));
}

int gw_lists_foreach(const struct gw_lists *l, int (*fn)(const struct gw_list_entry *e, void *arg),
		     void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < l->cap; i++) {
		const struct entry *x = l->slots[i];
		struct gw_list_entry e;

		if (!x)
			continue;
		memset(&e, 0, sizeof(e));
		e.colors = x->color;
		e.pool = x->pool;
		e.type = (char)x->key[0];
		if (e.type == KEY_CLIENT) {
			e.family = x->key[1];
			e.prefix = x->key[2];
			e.net = x->key + 3;
		} else {
			e.addr = x->key + 1;
			e.addr_len = (u16)(x->len - 1);
		}
		rc = fn(&e, arg);
		if (rc)
			return rc;
	}
	return 0;
}

void gw_lists_match(const struct gw_lists *l, u8 family, const u8 *addr, const u8 *sender,
		    u16 sender_len, const u8 *rcpt, u16 rcpt_len, struct gw_list_hits *hits)
{
	u8 color;

	hits->white = hits->black = 0;
	hits->pool = 0;
	if (!l)
		return;
	gw_lists_client_lookup(l, family, addr, 128, &color, &hits->pool);
	if (color & (1u << GW_WHITE))
		hits->white |= GW_LIST_CLIENT;
	if (color & (1u << GW_BLACK))
		hits->black |= GW_LIST_CLIENT;
	if (sender) {
		color = address_color(l, KEY_SENDER, sender, sender_len);
		if (color & (1u << GW_WHITE))
			hits->white |= GW_LIST_SENDER;
		if (color & (1u << GW_BLACK))
			hits->black |= GW_LIST_SENDER;
	}
	if (rcpt) {
		color = address_color(l, KEY_RCPT, rcpt, rcpt_len);
		if (color & (1u << GW_WHITE))
			hits->white |= GW_LIST_RCPT;
		if (color & (1u << GW_BLACK))
			hits->black |= GW_LIST_RCPT;
	}
}
