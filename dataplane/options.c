// SPDX-License-Identifier: BSD-2-Clause
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "greywall/control_socket.h"
#include "greywall/table_file.h"
#include "greywall/trusted_file.h"
#include "greywall/version.h"
#include "options.h"

static const char usage_text[] =
    "Usage: greywall-dp [EAL options] -- [-c FILE] [options]\n"
    "       greywall-dp --version\n"
    "\n"
    "greywall-dp greylists SMTP inline. It bridges DPDK ports in pairs (0<->1, 2<->3, ...),\n"
    "forwards all traffic unchanged except SMTP to protected destinations, and answers an\n"
    "unseen (client network, sender, recipient) triplet with a 450 that it writes into the\n"
    "TCP flow itself: the RCPT line is removed from the client's stream and the reply\n"
    "inserted into the server's, with sequence numbers translated for the rest of the flow.\n"
    "Cases it cannot handle are forwarded unchanged and counted (fail open).\n"
    "\n"
    "Configuration:\n"
    "  -c, --config FILE       greywall.conf, the file greywalld and greyctl read (default\n"
    "                          " GW_CONF_DEFAULT_PATH "; built-in defaults if it does not\n"
    "                          exist): timers, networks, tables, lists, replies and sockets,\n"
    "                          so greywall-dp and greywalld's sweeper judge alike. Each\n"
    "                          option below overrides the key in (brackets). Defaults\n"
    "                          shown are the file's.\n"
    "\n"
    "Traffic:\n"
    "  --protect CIDR          protect SMTP servers in CIDR (IPv4 or IPv6; repeatable)\n"
    "                          (protect). Default: every destination.\n"
    "  --smtp-port N           SMTP port to inspect (repeatable) (smtp_ports). Default: 25\n"
    "\n"
    "State:\n"
    "  --table PATH            shared triplet table file, created if missing (table_path).\n"
    "                          Default: " GW_TABLE_DEFAULT_PATH "\n"
    "  --awl PATH              client auto-whitelist table (awl_path).\n"
    "                          Default: " GW_AWL_DEFAULT_PATH "\n"
    "  --capacity N            triplets the table is sized for when created (about 20 bytes\n"
    "                          each; every page is faulted in at start) (capacity).\n"
    "                          Default: 1048576\n"
    "  --shm PATH              counters and verdict events shared with greywalld (made anew\n"
    "                          at each start; 'none' = off) (dp_shm). Default: the table\n"
    "                          path + .dp\n"
    "  --control-socket PATH   where greyctl asks for a reload and is told the entry count\n"
    "                          or the refusal ('none' = off; SIGHUP still reloads)\n"
    "                          (dp_control_socket). Default: " GW_DP_CONTROL_SOCKET_DEFAULT "\n"
    "\n"
    "Policy (defaults follow postgrey):\n"
    "  --delay S               greylist delay in seconds (delay). Default: 300\n"
    "  --retry-window S        forget a triplet not retried within S seconds (retry_window).\n"
    "                          Default: 172800\n"
    "  --max-age S             passed triplets live S seconds after last seen (max_age).\n"
    "                          Default: 3024000\n"
    "  --awl-clients N         passes before a client network skips greylisting; 0 = off\n"
    "                          (awl_clients). Default: 5\n"
    "  --v4-prefix N           IPv4 client network length, 32 = exact address (v4_prefix).\n"
    "                          Default: 24\n"
    "  --v6-prefix N           IPv6 client network length, 128 = exact address (v6_prefix).\n"
    "                          Default: 64\n"
    "  --no-strip-extension    keep +extensions in addresses (strip_extension = no)\n"
    "  --no-verp               do not fold digit runs in sender local parts (verp_fold = no)\n"
    "  --greylist-postmaster   greylist postmaster@ and abuse@ too (exempt_postmaster = no)\n"
    "  --tls-mode MODE         'greylist' (default): STARTTLS from an unknown network gets\n"
    "                          421 on a (network, HELO) pseudo-triplet; 'pass': never\n"
    "                          (tls_mode).\n"
    "  --whitelist FILE        whitelist file (whitelist_path); --blacklist FILE: blacklist\n"
    "                          file (blacklist_path). Lines are 'client CIDR',\n"
    "                          'sender ADDR|@DOMAIN', 'recipient ADDR|@DOMAIN'; '#' starts\n"
    "                          a comment.\n"
    "  --pools FILE            sender pools: 'NAME CIDR [CIDR...]' lines; each pool counts as\n"
    "                          one client network in the triplet (pools_path). Reloaded\n"
    "                          with the lists.\n"
    "\n"
    "Replies (%r recipient, %s sender, %c client, %t seconds, %% a percent sign), whole\n"
    "replies with their code. By default, the reply Postfix makes of greywalld's answer:\n"
    "the code and policy_defer_text, policy_reject_text or tls_defer_text.\n"
    "  --reply-greylist TEXT   Default: " GW_REPLY_GREYLIST_DEFAULT "\n"
    "  --reply-blacklist TEXT  Default: " GW_REPLY_BLACKLIST_DEFAULT "\n"
    "  --reply-tls TEXT        Default: " GW_REPLY_TLS_DEFAULT "\n"
    "\n"
    "Flows and output:\n"
    "  --max-flows N           tracked SMTP flows, about 10.3 KiB each from EAL memory (-m),\n"
    "                          touched at start. When all are in use a closed or half-open\n"
    "                          flow makes room; a live session never does, and a new SYN\n"
    "                          is dropped instead (the client resends it) (max_flows).\n"
    "                          Default: 16384\n"
    "  --mtu N                 IP MTU toward clients; an injected reply longer than fits is\n"
    "                          sent in several segments (mtu). Default: 1500\n"
    "  --flow-idle S           forget a flow idle this long (flow_idle). Default: 600\n"
    "  --stats-interval S      print counters every S seconds (0 = only at exit). Default: 0\n"
    "  --log-verdicts          log one line per decision to syslog (mail facility; stderr\n"
    "                          too unless it is the journal): rejects as Postfix's smtpd\n"
    "                          logs them, the rest as postgrey does\n"
    "  --syslog-ident NAME     the log lines' program name (syslog_ident). Default:\n"
    "                          postfix/greywall, so pflogsumm counts the rejects\n"
    "  --duration S            stop after S seconds (benchmarks). Default: run until SIGINT\n"
    "  -h, --help              this text\n"
    "\n"
    "Example (two veths bridged through AF_PACKET):\n"
    "  greywall-dp --no-huge -m 512 --vdev=net_af_packet0,iface=gw-c \\\n"
    "      --vdev=net_af_packet1,iface=gw-s -- -c /etc/greywall/greywall.conf\n";

enum {
	OPT_PROTECT = 256,
	OPT_SMTP_PORT,
	OPT_TABLE,
	OPT_AWL,
	OPT_CAPACITY,
	OPT_DELAY,
	OPT_RETRY,
	OPT_MAX_AGE,
	OPT_AWL_CLIENTS,
	OPT_V4,
	OPT_V6,
	OPT_NO_EXT,
	OPT_NO_VERP,
	OPT_GREY_PM,
	OPT_TLS,
	OPT_WHITE,
	OPT_BLACK,
	OPT_R_GREY,
	OPT_R_BLACK,
	OPT_R_TLS,
	OPT_MAX_FLOWS,
	OPT_FLOW_IDLE,
	OPT_STATS,
	OPT_LOG,
	OPT_DURATION,
	OPT_SHM,
	OPT_MTU,
	OPT_CONTROL_SOCKET,
	OPT_POOLS,
	OPT_SYSLOG_IDENT,
};

static const struct option long_opts[] = {
    {"protect", required_argument, NULL, OPT_PROTECT},
    {"smtp-port", required_argument, NULL, OPT_SMTP_PORT},
    {"table", required_argument, NULL, OPT_TABLE},
    {"awl", required_argument, NULL, OPT_AWL},
    {"capacity", required_argument, NULL, OPT_CAPACITY},
    {"delay", required_argument, NULL, OPT_DELAY},
    {"retry-window", required_argument, NULL, OPT_RETRY},
    {"max-age", required_argument, NULL, OPT_MAX_AGE},
    {"awl-clients", required_argument, NULL, OPT_AWL_CLIENTS},
    {"v4-prefix", required_argument, NULL, OPT_V4},
    {"v6-prefix", required_argument, NULL, OPT_V6},
    {"no-strip-extension", no_argument, NULL, OPT_NO_EXT},
    {"no-verp", no_argument, NULL, OPT_NO_VERP},
    {"greylist-postmaster", no_argument, NULL, OPT_GREY_PM},
    {"tls-mode", required_argument, NULL, OPT_TLS},
    {"whitelist", required_argument, NULL, OPT_WHITE},
    {"blacklist", required_argument, NULL, OPT_BLACK},
    {"reply-greylist", required_argument, NULL, OPT_R_GREY},
    {"reply-blacklist", required_argument, NULL, OPT_R_BLACK},
    {"reply-tls", required_argument, NULL, OPT_R_TLS},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"flow-idle", required_argument, NULL, OPT_FLOW_IDLE},
    {"stats-interval", required_argument, NULL, OPT_STATS},
    {"log-verdicts", no_argument, NULL, OPT_LOG},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"shm", required_argument, NULL, OPT_SHM},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"control-socket", required_argument, NULL, OPT_CONTROL_SOCKET},
    {"pools", required_argument, NULL, OPT_POOLS},
    {"syslog-ident", required_argument, NULL, OPT_SYSLOG_IDENT},
    {"config", required_argument, NULL, 'c'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void die(const char *fmt, const char *arg, const char *why)
{
	fprintf(stderr, "greywall-dp: ");
	fprintf(stderr, fmt, arg, why);
	fprintf(stderr, "\nTry 'greywall-dp -- --help'.\n");
	exit(2);
}

static uint64_t number(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	u64 v;

	if (!gw_parse_u64((const u8 *)s, (u32)strlen(s), &v) || v < min || v > max) {
		char why[96];

		snprintf(why, sizeof(why), "must be a number from %llu to %llu",
			 (unsigned long long)min, (unsigned long long)max);
		fprintf(stderr, "greywall-dp: %s '%s': %s\nTry 'greywall-dp -- --help'.\n", opt, s,
			why);
		exit(2);
	}
	return v;
}

/* A whole reply given on the command line, checked as greywall.conf's texts are. */
static void reply_option(char *out, size_t cap, const char *opt, const char *t)
{
	char err[128];

	if (strlen(t) >= cap || gw_reply_template_check(t, err, sizeof(err)) != 0) {
		fprintf(stderr, "greywall-dp: %s: %s\n", opt, strlen(t) >= cap ? "too long" : err);
		exit(2);
	}
	snprintf(out, cap, "%s", t);
}

/* The reply Postfix makes of greywalld's answer: the code it adds, then the configured text. */
static void reply_from_conf(char *out, size_t cap, const char *code, const char *text,
			    const char *key)
{
	char err[128];

	if (snprintf(out, cap, "%s%s", code, text) >= (int)cap ||
	    gw_reply_template_check(out, err, sizeof(err)) != 0) {
		fprintf(stderr, "greywall-dp: %s: too long for a reply\n", key);
		exit(2);
	}
}

static void path_option(char *out, size_t cap, const char *opt, const char *path)
{
	if (strlen(path) >= cap)
		die("%s '%s': path too long", opt, path);
	snprintf(out, cap, "%s", path);
}

static void list_option(struct gw_conf *c, const char *key, const char *opt, const char *value,
			bool *seen)
{
	char why[256];

	/* the first one replaces the file's list, the others add to it */
	if (gw_conf_set_list(c, key, value, *seen, why, sizeof(why)))
		die("%s: %s", opt, why);
	*seen = true;
}

void gw_dp_shm_path(const struct gw_dp_config *cfg, char *out, size_t cap)
{
	if (cfg->shm_off)
		snprintf(out, cap, "%s", "");
	else if (cfg->conf.dp_shm[0])
		snprintf(out, cap, "%s", cfg->conf.dp_shm);
	else
		snprintf(out, cap, "%s.dp", cfg->conf.table_path);
}

/* -c FILE, or the default file if it is there: before any option, which all override it. */
static void load_conf(struct gw_conf *c, int argc, char **argv)
{
	const char *path = NULL;
	char err[1024];
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hc:", long_opts, NULL)) != -1) {
		if (opt == 'c')
			path = optarg;
		/* help needs no configuration, and a broken one must not hide it */
		if (opt == 'h') {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (opt == 'V') {
			puts("greywall-dp " GW_VERSION);
			exit(0);
		}
	}
	opterr = 1;
	gw_conf_defaults(c);
	if (!path && access(GW_CONF_DEFAULT_PATH, F_OK) == 0)
		path = GW_CONF_DEFAULT_PATH;
	if (path && gw_conf_load(c, path, err, sizeof(err)))
		die("%s%s", err, "");
	if (c->warnings[0])
		fputs(c->warnings, stderr);
}

void gw_dp_parse_args(struct gw_dp_config *cfg, int argc, char **argv)
{
	struct gw_conf *c = &cfg->conf;
	const char *reply_greylist = NULL, *reply_blacklist = NULL, *reply_tls = NULL;
	bool protect_seen = false, ports_seen = false;
	char err[512];
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	load_conf(c, argc, argv);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hc:", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			break; /* read first */
		case OPT_PROTECT:
			list_option(c, "protect", "--protect", optarg, &protect_seen);
			break;
		case OPT_SMTP_PORT:
			list_option(c, "smtp_ports", "--smtp-port", optarg, &ports_seen);
			break;
		case OPT_TABLE:
			path_option(c->table_path, sizeof(c->table_path), "--table", optarg);
			break;
		case OPT_AWL:
			path_option(c->awl_path, sizeof(c->awl_path), "--awl", optarg);
			break;
		case OPT_SHM:
			cfg->shm_off = !strcmp(optarg, "none");
			if (!cfg->shm_off)
				path_option(c->dp_shm, sizeof(c->dp_shm), "--shm", optarg);
			break;
		case OPT_CONTROL_SOCKET:
			path_option(c->dp_control_socket, sizeof(c->dp_control_socket),
				    "--control-socket", strcmp(optarg, "none") ? optarg : "");
			break;
		case OPT_CAPACITY:
			c->capacity = number("--capacity", optarg, 1024, 1ULL << 36);
			break;
		case OPT_DELAY:
			c->policy.delay = (uint32_t)number("--delay", optarg, 0, 86400 * 30);
			break;
		case OPT_RETRY:
			c->policy.retry_window =
			    (uint32_t)number("--retry-window", optarg, 1, 1u << 30);
			break;
		case OPT_MAX_AGE:
			c->policy.max_age = (uint32_t)number("--max-age", optarg, 1, 1u << 30);
			break;
		case OPT_AWL_CLIENTS:
			c->policy.awl_clients = (uint32_t)number("--awl-clients", optarg, 0, 63);
			break;
		case OPT_V4:
			c->policy.v4_prefix = (uint8_t)number("--v4-prefix", optarg, 0, 32);
			break;
		case OPT_V6:
			c->policy.v6_prefix = (uint8_t)number("--v6-prefix", optarg, 0, 128);
			break;
		case OPT_NO_EXT:
			c->policy.norm.strip_extension = false;
			break;
		case OPT_NO_VERP:
			c->policy.norm.verp_fold = false;
			break;
		case OPT_GREY_PM:
			c->policy.exempt_postmaster = 0;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "greylist") == 0)
				c->policy.tls_mode = GW_TLS_GREYLIST;
			else if (strcmp(optarg, "pass") == 0)
				c->policy.tls_mode = GW_TLS_PASS;
			else
				die("--tls-mode '%s': %s", optarg, "use 'greylist' or 'pass'");
			break;
		case OPT_WHITE:
			path_option(c->whitelist_path, sizeof(c->whitelist_path), "--whitelist",
				    optarg);
			break;
		case OPT_BLACK:
			path_option(c->blacklist_path, sizeof(c->blacklist_path), "--blacklist",
				    optarg);
			break;
		case OPT_POOLS:
			path_option(c->pools_path, sizeof(c->pools_path), "--pools", optarg);
			break;
		case OPT_SYSLOG_IDENT:
			/* syslog ends the program name at the first space, ':' or '[' */
			if (!*optarg || strpbrk(optarg, " \t:[]") ||
			    strlen(optarg) >= sizeof(c->syslog_ident))
				die("--syslog-ident '%s': %s", optarg,
				    "a word without ':' or '[', shorter than 64");
			snprintf(c->syslog_ident, sizeof(c->syslog_ident), "%s", optarg);
			break;
		case OPT_R_GREY:
			reply_greylist = optarg;
			break;
		case OPT_R_BLACK:
			reply_blacklist = optarg;
			break;
		case OPT_R_TLS:
			reply_tls = optarg;
			break;
		case OPT_MAX_FLOWS:
			c->max_flows = (uint32_t)number("--max-flows", optarg, 16, 1u << 24);
			break;
		case OPT_FLOW_IDLE:
			c->flow_idle = (uint32_t)number("--flow-idle", optarg, 1, 86400);
			break;
		case OPT_STATS:
			cfg->stats_interval =
			    (uint32_t)number("--stats-interval", optarg, 0, 86400);
			break;
		case OPT_LOG:
			cfg->log_verdicts = true;
			break;
		case OPT_MTU:
			c->mtu = (uint32_t)number("--mtu", optarg, 128, 9216);
			break;
		case OPT_DURATION:
			cfg->duration = (uint32_t)number("--duration", optarg, 1, 86400 * 365);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'greywall-dp -- --help'.\n");
			exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'%s", argv[optind], "");
	if (reply_greylist)
		reply_option(cfg->reply_greylist, sizeof(cfg->reply_greylist), "--reply-greylist",
			     reply_greylist);
	else
		reply_from_conf(cfg->reply_greylist, sizeof(cfg->reply_greylist),
				GW_REPLY_GREYLIST_CODE, c->policy_defer_text, "policy_defer_text");
	if (reply_blacklist)
		reply_option(cfg->reply_blacklist, sizeof(cfg->reply_blacklist),
			     "--reply-blacklist", reply_blacklist);
	else
		reply_from_conf(cfg->reply_blacklist, sizeof(cfg->reply_blacklist),
				GW_REPLY_BLACKLIST_CODE, c->policy_reject_text,
				"policy_reject_text");
	if (reply_tls)
		reply_option(cfg->reply_tls, sizeof(cfg->reply_tls), "--reply-tls", reply_tls);
	else
		reply_from_conf(cfg->reply_tls, sizeof(cfg->reply_tls), GW_REPLY_TLS_CODE,
				c->tls_defer_text, "tls_defer_text");
	if (c->user[0]) {
		/* greywalld, as that user, writes the SPF pools file and may own the lists */
		struct passwd *pw = getpwnam(c->user);

		if (pw)
			gw_trusted_owner_set(pw->pw_uid);
	}
	cfg->lists = gw_dp_load_lists(c, err, sizeof(err));
	if (!cfg->lists)
		die("%s%s", err, "");
	if (c->nprotect == 0) {
		c->protect[0] = (struct gw_prefix){.family = 4, .len = 0};
		c->protect[1] = (struct gw_prefix){.family = 6, .len = 0};
		c->nprotect = 2;
	}
}

struct gw_lists *gw_dp_load_lists(const struct gw_conf *c, char *err, size_t errlen)
{
	struct gw_lists *l =
	    gw_lists_load_all(c->whitelist_path, c->blacklist_path, c->pools_path, err, errlen);
	size_t skipped;

	/* greywalld's SPF pools and database rows after our own files: a network our pools
	 * file holds stays there. A published file that does not read is greywalld's to
	 * fix: the files' own set goes in force without it, and the reason is printed. */
	if (l && c->published_lists[0] &&
	    gw_lists_merge_published(l, c->published_lists, &skipped, err, errlen) < 0) {
		printf("greywall-dp: %s; taking the list files without it\n", err);
		fflush(stdout);
		gw_lists_free(l);
		l = gw_lists_load_all(c->whitelist_path, c->blacklist_path, c->pools_path, err,
				      errlen);
	}
	return l;
}
