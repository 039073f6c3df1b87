/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sender pools from SPF (issue 17): a domain's SPF record (RFC 7208), expanded
 * into the IPv4 and IPv6 networks it authorises, so that a big sender's servers
 * count as one client network in the triplet.
 *
 * Three layers, each usable alone:
 *   - spf_record_parse: one record's text into terms. Pure, no DNS (fuzzed).
 *   - spf_resolver + spf_eval_start: one evaluation of a target through
 *     libunbound, asynchronously (the caller polls spf_resolver_fd()), or
 *     spf_resolve_sync for tools.
 *   - spf_target: a target's last good set, kept across DNS failures, and
 *     when to refresh it.
 *
 * What counts (the pool is "the addresses this domain says are its own"):
 *   - Only pass ('+', the default) mechanisms add networks. '-' and '~' say
 *     "not ours"; '?' says "no statement", and a neutral result is treated like
 *     none by receivers: none of them authorises a sender, so none joins a pool.
 *   - ip4, ip6, a, mx (with their cidr-lengths), include (its pass networks) and
 *     redirect (only when the record has no "all") are expanded.
 *   - exists and ptr cannot be expanded to networks (exists answers about a
 *     name built per message; ptr depends on the client's reverse zone and is
 *     deprecated by RFC 7208 5.5): they are skipped and counted. So is any term
 *     whose domain-spec holds a macro ("%{...}"), which only a per-message
 *     evaluation can expand.
 *   - Terms after "all" are never reached by an evaluation and are ignored.
 *
 * Limits, per evaluation of one target across its whole include tree, each a
 * permanent error naming the limit (RFC 7208 4.6.4):
 *   - at most 10 DNS-querying terms (include, a, mx, ptr, exists, redirect),
 *     counted for every such term reached, whatever its qualifier;
 *   - at most 2 void lookups (NXDOMAIN, or no answer): an "a" term is void when
 *     neither its A nor its AAAA query answers, an "mx" when its MX query does not;
 *   - at most 10 MX names per mx term;
 *   - an include or redirect of a domain already on the path is a loop;
 *   - at most SPF_DEFAULT_MAX_CIDRS (4096) distinct networks per target, to
 *     bound memory: a bigger set fails rather than being cut short silently.
 * A network wider than /8 (IPv4) or /16 (IPv6) is dropped and counted, not an
 * error: no sender needs one, and it would make a pool of half the Internet.
 * A failed evaluation leaves a target's last good set in place.
 *
 * TTL: an evaluation remembers the smallest TTL of the DNS answers it used
 * (records and addresses), clamped to [ttl_floor, ttl_cap], default
 * 300 s .. 86400 s: the caller refreshes the target then.
 */
#ifndef GREYWALL_SPF_H
#define GREYWALL_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPF_MAX_DNS_TERMS	  10
#define SPF_MAX_VOID_LOOKUPS	  2
#define SPF_MAX_MX_NAMES	  10
#define SPF_DEFAULT_MAX_CIDRS	  4096
#define SPF_DEFAULT_TTL_FLOOR	  300
#define SPF_DEFAULT_TTL_CAP	  86400
#define SPF_DEFAULT_TIMEOUT_MS	  20000
#define SPF_DEFAULT_MIN_PREFIX_V4 8
#define SPF_DEFAULT_MIN_PREFIX_V6 16
#define SPF_DOMAIN_MAX		  253
#define SPF_ERROR_MAX		  256
/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" and a NUL */
#define SPF_CIDR_STRLEN 50

/* One network: the address is masked to its prefix; IPv4 in the first 4 bytes. */
struct spf_cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefix_len;
	uint8_t addr[16];
};

/* A set of networks, sorted (IPv4 first) and without duplicates once an evaluation ends. */
struct spf_cidr_set {
	struct spf_cidr *cidrs;
	size_t count, capacity;
};

void spf_cidr_set_free(struct spf_cidr_set *set);
/* "192.0.2.0/24", "2001:db8::/32"; returns buf. */
char *spf_cidr_format(const struct spf_cidr *cidr, char *buf, size_t buflen);

/* ---- the record parser (no DNS) ---- */

enum spf_mechanism {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

struct spf_term {
	enum spf_mechanism mechanism;
	char qualifier;		 /* '+', '-', '~' or '?' */
	const char *domain;	 /* NUL-terminated domain-spec, NULL when the term has none */
	bool domain_is_macro;	 /* holds "%{": only a per-message evaluation can expand it */
	uint8_t cidr4, cidr6;	 /* a, mx: prefix lengths (32 and 128 by default) */
	struct spf_cidr network; /* ip4, ip6 */
};

struct spf_record {
	struct spf_term *terms; /* in record order, up to and including "all" */
	size_t term_count;
	const char
	    *redirect; /* the redirect= domain-spec, NULL if none or if the record has "all" */
	bool redirect_is_macro;
	bool has_all;
	unsigned dns_terms; /* terms that query DNS: include a mx ptr exists, and redirect */
	char *text;	    /* private: the copy the strings point into */
};

/*
 * True when text is an SPF version 1 record: "v=spf1" (any case) alone or
 * followed by a space (RFC 7208 4.5).
 */
bool spf_is_spf1(const char *text, size_t len);

/*
 * Parse one record (with its "v=spf1"). Returns 0, or -1 with the reason in err
 * (a syntax error is a permanent error: RFC 7208 4.6). Free with spf_record_free.
 */
int spf_record_parse(const char *text, size_t len, struct spf_record *record, char *err,
		     size_t errlen);
void spf_record_free(struct spf_record *record);

/*
 * The SPF record among a name's TXT answers, each given as DNS rdata (one or more
 * <length><bytes> strings, joined without a separator: RFC 7208 3.3). Returns 1
 * with the record's text in a malloc'd *text, 0 if there is none, -1 with err for
 * more than one (a permanent error: RFC 7208 4.5) or a malformed rdata.
 */
int spf_select_record(const uint8_t *const *rdata, const int *rdata_len, size_t count, char **text,
		      size_t *text_len, char *err, size_t errlen);

/* ---- one evaluation through DNS ---- */

enum spf_status {
	SPF_OK = 0,
	SPF_PERMERROR, /* the records are wrong or break a limit: retrying soon will not help */
	SPF_TEMPERROR, /* DNS failed (SERVFAIL, timeout): retry */
};

struct spf_stats {
	unsigned dns_terms;	     /* DNS-querying terms reached (limit 10) */
	unsigned void_lookups;	     /* (limit 2) */
	unsigned macro_terms;	     /* skipped: a "%{" domain-spec */
	unsigned unexpandable_terms; /* skipped: exists, ptr */
	unsigned too_wide;	     /* networks dropped: shorter than the minimum prefix */
	unsigned queries;	     /* DNS queries sent */
	unsigned records; /* SPF records read (the target's and every include/redirect) */
};

struct spf_result {
	enum spf_status status;
	char error[SPF_ERROR_MAX]; /* why, when status is not SPF_OK */
	struct spf_cidr_set set;   /* empty unless SPF_OK */
	uint32_t ttl;		   /* seconds until a refresh: the minimum TTL, clamped */
	uint32_t min_ttl_seen;	   /* the minimum TTL before clamping (0 if none was seen) */
	struct spf_stats stats;
	uint64_t elapsed_us;
};

struct spf_resolver_options {
	/*
	 * Upstream "IP" or "IP@PORT" to forward every query to (a local test
	 * server, a site resolver); NULL reads /etc/resolv.conf.
	 */
	const char *upstream;
	uint32_t ttl_floor, ttl_cap; /* 0: the defaults */
	size_t max_cidrs;	     /* 0: SPF_DEFAULT_MAX_CIDRS */
	/*
	 * Networks wider than this (ip4:0.0.0.0/1, a/4) are dropped and counted:
	 * a pool that wide would let a retry from anywhere pass as the first
	 * attempt's sender. 0: SPF_DEFAULT_MIN_PREFIX_V4 and _V6.
	 */
	uint8_t min_prefix_v4, min_prefix_v6;
	unsigned timeout_ms; /* one evaluation's deadline; 0: SPF_DEFAULT_TIMEOUT_MS */
};

struct spf_resolver;
struct spf_eval;

/* NULL with the reason in err. libunbound runs its queries in a thread of its own. */
struct spf_resolver *spf_resolver_new(const struct spf_resolver_options *options, char *err,
				      size_t errlen);
/* Cancels every evaluation still running (their callbacks are not called). */
void spf_resolver_free(struct spf_resolver *resolver);

/*
 * The event loop's part: poll spf_resolver_fd() for POLLIN with a timeout of at
 * most spf_resolver_timeout_ms() (-1: none running), then call
 * spf_resolver_process(), which runs the callbacks of the evaluations that
 * ended (answered or past their deadline). Returns -1 on a libunbound error.
 */
int spf_resolver_fd(const struct spf_resolver *resolver);
int spf_resolver_timeout_ms(const struct spf_resolver *resolver);
int spf_resolver_process(struct spf_resolver *resolver);

/*
 * Called once when an evaluation ends, from spf_resolver_process (never from
 * spf_eval_start). The result lives until the callback returns: to keep the set,
 * move it out (copy result->set, then zero it). The evaluation is gone by then.
 * The callback may start evaluations but must not free the resolver.
 */
typedef void (*spf_done_fn)(const char *target, struct spf_result *result, void *arg);

/* Start evaluating target's SPF record. NULL (err filled) on a bad name or no memory. */
struct spf_eval *spf_eval_start(struct spf_resolver *resolver, const char *target, spf_done_fn done,
				void *arg, char *err, size_t errlen);
/* Stop an evaluation that has not ended; its callback is not called. */
void spf_eval_cancel(struct spf_eval *eval);

/*
 * For tools: evaluate target and wait for the result, running the event loop's
 * part itself. result is filled in every case; release its set with spf_result_free.
 */
void spf_resolve_sync(struct spf_resolver *resolver, const char *target, struct spf_result *result);
void spf_result_free(struct spf_result *result);

/* ---- a target: its last good set ---- */

struct spf_target;

/* Called when a refresh ends, after the target has taken the result in. */
typedef void (*spf_target_fn)(struct spf_target *target, void *arg);

struct spf_target *spf_target_new(struct spf_resolver *resolver, const char *domain,
				  spf_target_fn done, void *arg);
void spf_target_free(struct spf_target *target);

/*
 * Start a refresh. 0, or -1 if one is running or could not start (then the
 * error is in spf_target_error and the refresh counts as failed).
 */
int spf_target_refresh(struct spf_target *target);
bool spf_target_busy(const struct spf_target *target);
const char *spf_target_domain(const struct spf_target *target);

/* The last good set: empty until a first success, then kept across failures. */
const struct spf_cidr_set *spf_target_set(const struct spf_target *target);
/* The last refresh's error, NULL if it succeeded (or none ended yet). */
const char *spf_target_error(const struct spf_target *target);
enum spf_status spf_target_status(const struct spf_target *target);
/* The last refresh's figures (of the failed one, when it failed). */
const struct spf_stats *spf_target_stats(const struct spf_target *target);
/* Seconds after the last refresh ended until the next should start: the set's TTL after a
 * success, the floor after a failure. */
uint32_t spf_target_refresh_after(const struct spf_target *target);
/* CLOCK_REALTIME seconds of the last success (0: never) and of the last refresh's end. */
int64_t spf_target_last_success(const struct spf_target *target);
int64_t spf_target_last_attempt(const struct spf_target *target);

#endif
