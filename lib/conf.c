// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/conf.h"
#include "greywall/control_socket.h"
#include "greywall/lists.h"
#include "greywall/table_file.h"
#include "greywall/trusted_file.h"

void gw_conf_defaults(struct gw_conf *c)
{
	memset(c, 0, sizeof(*c));
	gw_config_defaults(&c->policy);
	snprintf(c->table_path, sizeof(c->table_path), "%s", GW_TABLE_DEFAULT_PATH);
	snprintf(c->awl_path, sizeof(c->awl_path), "%s", GW_AWL_DEFAULT_PATH);
	c->capacity = GW_TABLE_DEFAULT_CAPACITY;
	snprintf(c->policy_listen, sizeof(c->policy_listen), "127.0.0.1:10023");
	snprintf(c->policy_defer_text, sizeof(c->policy_defer_text),
		 "Greylisted, retry in %%t seconds");
	snprintf(c->policy_reject_text, sizeof(c->policy_reject_text), "Access denied");
	c->max_clients = 256;
	snprintf(c->snapshot_path, sizeof(c->snapshot_path), "/var/lib/greywall/triplets.snap");
	c->snapshot_interval = 300;
	c->sweep_period = 600;
	c->names_capacity = 262144;
	c->report_after = 3600;
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/greywall/greywalld.sock");
	snprintf(c->control_group, sizeof(c->control_group), "greywall");
	snprintf(c->dp_control_socket, sizeof(c->dp_control_socket), "%s",
		 GW_DP_CONTROL_SOCKET_DEFAULT);
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "127.0.0.1:9425");
	snprintf(c->syslog_ident, sizeof(c->syslog_ident), "%s", GW_SYSLOG_IDENT_DEFAULT);
	c->smtp_ports[0] = 25;
	c->nsmtp_ports = 1;
	c->max_flows = 16384;
	c->flow_idle = 600;
	c->mtu = 1500;
	c->paired_ports = 1;
	snprintf(c->tls_defer_text, sizeof(c->tls_defer_text), "Greylisted, try again later");
	snprintf(c->cluster_name, sizeof(c->cluster_name), "greywall");
	c->cluster_queue = 1u << 20;
	c->cluster_stream_max = 100000;
	snprintf(c->lists_pg_table, sizeof(c->lists_pg_table), "greywall_lists");
	snprintf(c->lists_pg_channel, sizeof(c->lists_pg_channel), "greywall_lists");
	c->lists_pg_resync = 900;
}

bool gw_prefix_match(const struct gw_prefix *p, u8 family, const u8 *addr)
{
	unsigned full = p->len / 8, rem = p->len % 8;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	return rem == 0 || ((p->addr[full] ^ addr[full]) & (u8)(0xff << (8 - rem))) == 0;
}

int gw_conf_set_list(struct gw_conf *c, const char *key, const char *value, bool append, char *why,
		     size_t whylen)
{
	bool ports = !strcmp(key, "smtp_ports");
	char buf[2048], *tok, *save = NULL;
	unsigned n = !append ? 0
		     : ports ? c->nsmtp_ports
			     : c->nprotect,
		 max = ports ? GW_CONF_MAX_SMTP_PORTS : GW_CONF_MAX_PROTECT;

	if (snprintf(buf, sizeof(buf), "%s", value) >= (int)sizeof(buf)) {
		snprintf(why, whylen, "%s: value too long", key);
		return -1;
	}
	for (tok = strtok_r(buf, " ,\t", &save); tok; tok = strtok_r(NULL, " ,\t", &save)) {
		struct gw_prefix p = {0};
		u64 port;

		if (n >= max) {
			snprintf(why, whylen, "%s: more than %u entries", key, max);
			return -1;
		}
		if (ports) {
			if (!gw_parse_u64((const u8 *)tok, (u32)strlen(tok), &port) || port < 1 ||
			    port > 65535) {
				snprintf(why, whylen, "%s: '%s' is not a port from 1 to 65535", key,
					 tok);
				return -1;
			}
			c->smtp_ports[n++] = (u16)port;
		} else {
			if (gw_parse_cidr(tok, &p.family, p.addr, &p.len)) {
				snprintf(why, whylen, "%s: '%s' is not an IPv4 or IPv6 CIDR", key,
					 tok);
				return -1;
			}
			c->protect[n++] = p;
		}
	}
	if (ports && !n) {
		snprintf(why, whylen, "%s: at least one port", key);
		return -1;
	}
	if (ports)
		c->nsmtp_ports = n;
	else
		c->nprotect = n;
	return 0;
}

int gw_listen_resolve(const char *key, const char *spec, struct addrinfo **ai, char *why,
		      size_t whylen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST};
	const char *colon = strrchr(spec, ':'), *p;
	char host[128], port[8];
	struct addrinfo *res;
	size_t hl;
	unsigned long n = 0;
	int rc;

	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(host)) {
		snprintf(why, whylen, "%s '%s': expected host:port", key, spec);
		return -1;
	}
	for (p = colon + 1; *p; p++) {
		if (!isdigit((unsigned char)*p) || n > 65535)
			break;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (*p || p == colon + 1 || n < 1 || n > 65535) {
		/* 0 would bind a random port while the log names the one asked for */
		snprintf(why, whylen, "%s '%s': port must be a number from 1 to 65535", key, spec);
		return -1;
	}
	snprintf(port, sizeof(port), "%lu", n);
	hl = (size_t)(colon - spec);
	memcpy(host, spec, hl);
	host[hl] = 0;
	if (host[0] == '[') { /* [::1]:10023 */
		if (hl < 3 || host[hl - 1] != ']') {
			snprintf(why, whylen, "%s '%s': expected [address]:port", key, spec);
			return -1;
		}
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = 0;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	/* a name (letters in it) may go to the resolver; a bad number must not */
	if (rc == EAI_NONAME && strspn(host, "0123456789.:") != strlen(host)) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc) {
		snprintf(why, whylen, "%s '%s': %s", key, spec, gai_strerror(rc));
		return -1;
	}
	if (ai)
		*ai = res;
	else
		freeaddrinfo(res);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

struct num_key {
	const char *name;
	unsigned long long min, max;
	size_t off;
	int width; /* 1, 4 or 8 bytes */
};

#define PNUM(field, lo, hi, w)                                                                     \
	{                                                                                          \
#field, lo, hi, offsetof(struct gw_conf, policy.field), w                          \
	}

static const struct num_key num_keys[] = {
    PNUM(delay, 0, 30 * 86400, 4),
    PNUM(retry_window, 1, 1u << 30, 4),
    PNUM(max_age, 1, 1u << 30, 4),
    PNUM(awl_clients, 0, 63, 4),
    PNUM(awl_interval, 1, 86400 * 30, 4),
    PNUM(max_line, 64, 2048, 4),
    PNUM(v4_prefix, 0, 32, 1),
    PNUM(v6_prefix, 0, 128, 1),
    {"capacity", 1024, 1ULL << 36, offsetof(struct gw_conf, capacity), 8},
    {"max_clients", 1, 65536, offsetof(struct gw_conf, max_clients), 4},
    {"snapshot_interval", 1, 86400, offsetof(struct gw_conf, snapshot_interval), 4},
    {"sweep_period", 1, 86400, offsetof(struct gw_conf, sweep_period), 4},
    {"names_capacity", 0, 1u << 26, offsetof(struct gw_conf, names_capacity), 4},
    {"report_after", 0, 86400 * 30, offsetof(struct gw_conf, report_after), 4},
    {"max_flows", 16, 1u << 24, offsetof(struct gw_conf, max_flows), 4},
    {"flow_idle", 1, 86400, offsetof(struct gw_conf, flow_idle), 4},
    {"mtu", 128, 9216, offsetof(struct gw_conf, mtu), 4},
    {"cluster_queue", 1024, 1u << 26, offsetof(struct gw_conf, cluster_queue), 4},
    {"cluster_stream_max", 1000, 1u << 30, offsetof(struct gw_conf, cluster_stream_max), 4},
    {"lists_pg_resync", 10, 86400, offsetof(struct gw_conf, lists_pg_resync), 4},
};

struct str_key {
	const char *name;
	size_t off, size;
	bool is_template;
};

#define SKEY(field, tmpl)                                                                          \
	{                                                                                          \
#field, offsetof(struct gw_conf, field), sizeof(((struct gw_conf *)0)->field),     \
		    tmpl                                                                           \
	}

/* clang-format off */
static const struct str_key str_keys[] = {
    SKEY(table_path, false),
    SKEY(awl_path, false),
    SKEY(whitelist_path, false),
    SKEY(blacklist_path, false),
    SKEY(pools_path, false),
    SKEY(pools_spf, false),
    SKEY(spf_server, false),
    SKEY(published_lists, false),
    SKEY(policy_listen, false),
    SKEY(policy_defer_text, true),
    SKEY(policy_reject_text, true),
    SKEY(tls_defer_text, true),
    SKEY(snapshot_path, false),
    SKEY(control_socket, false),
    SKEY(control_group, false),
    SKEY(dp_control_socket, false),
    SKEY(metrics_listen, false),
    SKEY(relay_maps, false),
    SKEY(user, false),
    SKEY(dp_shm, false),
    SKEY(syslog_ident, false),
    SKEY(cluster_redis, false),
    SKEY(cluster_name, false),
    SKEY(cluster_node, false),
    SKEY(cluster_secret, false),
    SKEY(cluster_redis_user, false),
    SKEY(cluster_redis_password, false),
    SKEY(lists_pg, false),
    SKEY(lists_pg_table, false),
    SKEY(lists_pg_channel, false),
};
/* clang-format on */

static bool is_template_key(const char *k)
{
	size_t i;

	for (i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++)
		if (!strcmp(k, str_keys[i].name))
			return str_keys[i].is_template;
	return false;
}

static int set_key(struct gw_conf *c, const char *k, const char *v, char *why, size_t whylen)
{
	u64 n;
	bool b;
	size_t i;

	for (i = 0; i < sizeof(num_keys) / sizeof(num_keys[0]); i++) {
		const struct num_key *nk = &num_keys[i];
		char *field = (char *)c + nk->off;

		if (strcmp(k, nk->name))
			continue;
		if (!gw_parse_u64((const u8 *)v, (u32)strlen(v), &n) || n < nk->min ||
		    n > nk->max) {
			snprintf(why, whylen, "%s: '%s' is not a number from %llu to %llu", k, v,
				 nk->min, nk->max);
			return -1;
		}
		if (nk->width == 1)
			*(u8 *)field = (u8)n;
		else if (nk->width == 4)
			*(u32 *)field = (u32)n;
		else
			*(unsigned long long *)field = n;
		return 0;
	}
	for (i = 0; i < sizeof(str_keys) / sizeof(str_keys[0]); i++) {
		const struct str_key *sk = &str_keys[i];

		if (strcmp(k, sk->name))
			continue;
		if (strlen(v) >= sk->size) {
			snprintf(why, whylen, "%s: value longer than %zu characters", k,
				 sk->size - 1);
			return -1;
		}
		if (sk->is_template) {
			/* the text follows a code Postfix supplies; check it as if after "450 " */
			char probe[GW_REPLY_MAX + 8], err[128];

			snprintf(probe, sizeof(probe), "450 %s", v);
			if (gw_reply_template_check(probe, err, sizeof(err))) {
				snprintf(why, whylen, "%s: %s", k, err);
				return -1;
			}
		}
		/* syslog splits "IDENT[PID]: " at the first space or colon */
		if (!strcmp(k, "syslog_ident") && (!v[0] || strpbrk(v, " \t:[]"))) {
			snprintf(why, whylen,
				 "%s: '%s' must be a non-empty word without ':' or '['", k, v);
			return -1;
		}
		if ((!strcmp(k, "policy_listen") || !strcmp(k, "metrics_listen")) && v[0] &&
		    gw_listen_resolve(k, v, NULL, why, whylen))
			return -1;
		snprintf((char *)c + sk->off, sk->size, "%s", v);
		return 0;
	}
	if (!strcmp(k, "strip_extension") || !strcmp(k, "verp_fold") ||
	    !strcmp(k, "exempt_postmaster") || !strcmp(k, "paired_ports")) {
		if (parse_bool(v, &b)) {
			snprintf(why, whylen, "%s: '%s' is not yes or no", k, v);
			return -1;
		}
		if (!strcmp(k, "strip_extension"))
			c->policy.norm.strip_extension = b;
		else if (!strcmp(k, "verp_fold"))
			c->policy.norm.verp_fold = b;
		else if (!strcmp(k, "paired_ports"))
			c->paired_ports = b;
		else
			c->policy.exempt_postmaster = b;
		return 0;
	}
	if (!strcmp(k, "protect") || !strcmp(k, "smtp_ports"))
		return gw_conf_set_list(c, k, v, false, why, whylen);
	if (!strcmp(k, "end_of_data")) {
		if (!strcmp(v, "lf") || !strcmp(v, "crlf")) {
			c->end_of_data_crlf = v[0] == 'c';
			return 0;
		}
		snprintf(why, whylen, "end_of_data: '%s' is not 'lf' or 'crlf'", v);
		return -1;
	}
	if (!strcmp(k, "tls_mode")) {
		if (!strcmp(v, "greylist"))
			c->policy.tls_mode = GW_TLS_GREYLIST;
		else if (!strcmp(v, "pass"))
			c->policy.tls_mode = GW_TLS_PASS;
		else {
			snprintf(why, whylen, "tls_mode: '%s' is not 'greylist' or 'pass'", v);
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "unknown key '%s'", k);
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/*
 * Remember where each key was set; a second setting wins, as it always did, but
 * an admin who edits the first one and sees no effect deserves to be told.
 */
struct key_seen {
	char name[32];
	int line;
};

static void note_key(struct gw_conf *c, struct key_seen *seen, size_t *nseen, const char *path,
		     const char *k, int lineno)
{
	size_t i, l;

	for (i = 0; i < *nseen; i++) {
		if (strcmp(seen[i].name, k))
			continue;
		l = strlen(c->warnings);
		snprintf(c->warnings + l, sizeof(c->warnings) - l,
			 "%s:%d: warning: '%s' is also set at %s:%d; this line wins\n", path,
			 lineno, k, path, seen[i].line);
		seen[i].line = lineno;
		return;
	}
	/* set_key accepted k, so it is a known key: the table has room for every one */
	if (*nseen < 64 && strlen(k) < sizeof(seen[0].name)) {
		snprintf(seen[*nseen].name, sizeof(seen[0].name), "%s", k);
		seen[(*nseen)++].line = lineno;
	}
}

int gw_conf_load(struct gw_conf *c, const char *path, char *err, size_t errlen)
{
	struct key_seen seen[64];
	size_t nseen = 0;
	char line[2048], why[256];
	/* greywall.conf names the tables, the user and the lists: root's (or ours) alone */
	FILE *f = gw_trusted_open(path, false, err, errlen);
	int lineno = 0, rc;

	c->warnings[0] = 0;
	if (!f)
		return -1;
	while ((rc = gw_read_line(f, line, sizeof(line))) != 0) {
		char *hash, *eq, *k, *v;

		lineno++;
		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, gw_line_error(rc));
			goto bad;
		}
		k = trim(line);
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			goto bad;
		}
		*eq = 0;
		k = trim(k);
		/* " #" starts a comment, except in a reply text, which may hold a '#' */
		hash = is_template_key(k) ? NULL : strstr(eq + 1, " #");
		if (hash)
			*hash = 0;
		v = trim(eq + 1);
		if (set_key(c, k, v, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
			goto bad;
		}
		note_key(c, seen, &nseen, path, k, lineno);
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s:%d: %s", path, lineno + 1, strerror(errno));
		goto bad;
	}
	fclose(f);
	/* greywalld replaces published_lists whole: it must never be a file the admin writes */
	if (c->published_lists[0] && (!strcmp(c->published_lists, c->whitelist_path) ||
				      !strcmp(c->published_lists, c->blacklist_path) ||
				      !strcmp(c->published_lists, c->pools_path))) {
		snprintf(err, errlen,
			 "%s: published_lists %s is a list file too; give it a file of "
			 "its own",
			 path, c->published_lists);
		return -1;
	}
	/* with the relay filter, its maps are the tables unless the file names others */
	if (c->relay_maps[0] && !strcmp(c->table_path, GW_TABLE_DEFAULT_PATH))
		snprintf(c->table_path, sizeof(c->table_path), "%.500s/triplets", c->relay_maps);
	if (c->relay_maps[0] && !strcmp(c->awl_path, GW_AWL_DEFAULT_PATH))
		snprintf(c->awl_path, sizeof(c->awl_path), "%.500s/awl", c->relay_maps);
	return 0;
bad:
	fclose(f);
	return -1;
}
