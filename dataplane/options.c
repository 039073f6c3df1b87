// SPDX-License-Identifier: BSD-2-Clause
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/control_socket.h"
#include "greywall/table_file.h"
#include "options.h"

static const char usage_text[] =
    "Usage: greywall-dp [EAL options] -- [options]\n"
    "\n"
    "greywall-dp greylists SMTP inline. It bridges DPDK ports in pairs (0<->1, 2<->3, ...),\n"
    "forwards all traffic unchanged except SMTP to protected destinations, and answers an\n"
    "unseen (client network, sender, recipient) triplet with a 450 that it writes into the\n"
    "TCP flow itself: the RCPT line is removed from the client's stream and the reply\n"
    "inserted into the server's, with sequence numbers translated for the rest of the flow.\n"
    "Cases it cannot handle are forwarded unchanged and counted (fail open).\n"
    "\n"
    "Traffic:\n"
    "  --protect CIDR          protect SMTP servers in CIDR (IPv4 or IPv6; repeatable).\n"
    "                          Default: every destination.\n"
    "  --smtp-port N           SMTP port to inspect (repeatable). Default: 25.\n"
    "\n"
    "State:\n"
    "  --table PATH            shared triplet table file (created if missing).\n"
    "                          Default: /dev/shm/greywall-triplets\n"
    "  --awl PATH              client auto-whitelist table. Default: /dev/shm/greywall-awl\n"
    "  --capacity N            triplets the table is sized for when created (about 20 bytes\n"
    "                          each; every page is faulted in at start). Default: 1048576\n"
    "  --shm PATH              counters and verdict events shared with greywalld (made anew\n"
    "                          at each start; 'none' = off). Default: the table path + .dp\n"
    "\n"
    "Policy (defaults follow postgrey):\n"
    "  --delay S               greylist delay in seconds. Default: 300\n"
    "  --retry-window S        forget a triplet not retried within S seconds. Default: 172800\n"
    "  --max-age S             passed triplets live S seconds after last seen. Default: 3024000\n"
    "  --awl-clients N         passes before a client network skips greylisting; 0 = off.\n"
    "                          Default: 5\n"
    "  --v4-prefix N           IPv4 client network length, 32 = exact address. Default: 24\n"
    "  --v6-prefix N           IPv6 client network length, 128 = exact address. Default: 64\n"
    "  --no-strip-extension    keep +extensions in addresses\n"
    "  --no-verp               do not fold digit runs in sender local parts\n"
    "  --greylist-postmaster   greylist postmaster@ and abuse@ too\n"
    "  --tls-mode MODE         'greylist' (default): STARTTLS from an unknown network gets\n"
    "                          421 on a (network, HELO) pseudo-triplet; 'pass': never.\n"
    "  --whitelist FILE        whitelist file; --blacklist FILE: blacklist file. Lines are\n"
    "                          'client CIDR', 'sender ADDR|@DOMAIN', 'recipient ADDR|@DOMAIN',\n"
    "                          '#' starts a comment.\n"
    "\n"
    "Replies (%r recipient, %s sender, %c client, %t seconds, %% a percent sign):\n"
    "  --reply-greylist TEXT   Default: " GW_REPLY_GREYLIST_DEFAULT "\n"
    "  --reply-blacklist TEXT  Default: " GW_REPLY_BLACKLIST_DEFAULT "\n"
    "  --reply-tls TEXT        Default: " GW_REPLY_TLS_DEFAULT "\n"
    "\n"
    "Flows and output:\n"
    "  --max-flows N           tracked SMTP flows, about 10.3 KiB each from EAL memory (-m),\n"
    "                          touched at start. When all are in use a closed or half-open\n"
    "                          flow makes room; a live session never does, and a new SYN\n"
    "                          is dropped instead (the client resends it). Default: 16384\n"
    "  --mtu N                 IP MTU toward clients; an injected reply longer than fits is\n"
    "                          sent in several segments. Default: 1500\n"
    "  --flow-idle S           forget a flow idle this long. Default: 600\n"
    "  --stats-interval S      print counters every S seconds (0 = only at exit). Default: 0\n"
    "  --log-verdicts          print one line per decision, Postfix NOQUEUE style\n"
    "  --duration S            stop after S seconds (benchmarks). Default: run until SIGINT\n"
    "  -h, --help              this text\n"
    "\n"
    "Example (two veths bridged through AF_PACKET):\n"
    "  greywall-dp --no-huge -m 512 --vdev=net_af_packet0,iface=gw-c \\\n"
    "      --vdev=net_af_packet1,iface=gw-s -- --protect 198.18.0.0/15 --delay 300\n";

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
    {"help", no_argument, NULL, 'h'},
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

static const char *template(const char *opt, const char *t)
{
	char err[128];

	if (gw_reply_template_check(t, err, sizeof(err)) != 0) {
		fprintf(stderr, "greywall-dp: %s: %s\n", opt, err);
		exit(2);
	}
	return t;
}

bool gw_prefix_match(const struct gw_prefix *p, uint8_t family, const uint8_t *addr)
{
	unsigned full = p->len / 8, rem = p->len % 8;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	return rem == 0 || ((p->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rem))) == 0;
}

void gw_dp_parse_args(struct gw_dp_config *cfg, int argc, char **argv)
{
	char err[512];
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	gw_config_defaults(&cfg->policy);
	cfg->table_path = GW_TABLE_DEFAULT_PATH;
	cfg->awl_path = GW_AWL_DEFAULT_PATH;
	cfg->capacity = GW_TABLE_DEFAULT_CAPACITY;
	cfg->reply_greylist = GW_REPLY_GREYLIST_DEFAULT;
	cfg->reply_blacklist = GW_REPLY_BLACKLIST_DEFAULT;
	cfg->reply_tls = GW_REPLY_TLS_DEFAULT;
	cfg->max_flows = 16384;
	cfg->flow_idle = 600;
	cfg->mtu = 1500;
	cfg->control_socket = GW_DP_CONTROL_SOCKET_DEFAULT;
	cfg->control_group = "greywall";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PROTECT: {
			struct gw_prefix *p = &cfg->protect[cfg->nprotect];

			if (cfg->nprotect >= GW_DP_MAX_PREFIXES)
				die("--protect: more than %s prefixes%s", "64", "");
			if (gw_parse_cidr(optarg, &p->family, p->addr, &p->len) != 0)
				die("--protect '%s': %s", optarg, "not an IPv4 or IPv6 CIDR");
			cfg->nprotect++;
			break;
		}
		case OPT_SMTP_PORT:
			if (cfg->nsmtp_ports >= GW_DP_MAX_PORTS)
				die("--smtp-port: more than %s ports%s", "8", "");
			cfg->smtp_ports[cfg->nsmtp_ports++] =
			    (uint16_t)number("--smtp-port", optarg, 1, 65535);
			break;
		case OPT_TABLE:
			cfg->table_path = optarg;
			break;
		case OPT_AWL:
			cfg->awl_path = optarg;
			break;
		case OPT_SHM:
			cfg->shm_path = strcmp(optarg, "none") ? optarg : "";
			break;
		case OPT_CONTROL_SOCKET:
			cfg->control_socket = strcmp(optarg, "none") ? optarg : "";
			break;
		case OPT_CAPACITY:
			cfg->capacity = number("--capacity", optarg, 1024, 1ULL << 36);
			break;
		case OPT_DELAY:
			cfg->policy.delay = (uint32_t)number("--delay", optarg, 0, 86400 * 30);
			break;
		case OPT_RETRY:
			cfg->policy.retry_window =
			    (uint32_t)number("--retry-window", optarg, 1, 1u << 30);
			break;
		case OPT_MAX_AGE:
			cfg->policy.max_age = (uint32_t)number("--max-age", optarg, 1, 1u << 30);
			break;
		case OPT_AWL_CLIENTS:
			cfg->policy.awl_clients = (uint32_t)number("--awl-clients", optarg, 0, 63);
			break;
		case OPT_V4:
			cfg->policy.v4_prefix = (uint8_t)number("--v4-prefix", optarg, 0, 32);
			break;
		case OPT_V6:
			cfg->policy.v6_prefix = (uint8_t)number("--v6-prefix", optarg, 0, 128);
			break;
		case OPT_NO_EXT:
			cfg->policy.norm.strip_extension = false;
			break;
		case OPT_NO_VERP:
			cfg->policy.norm.verp_fold = false;
			break;
		case OPT_GREY_PM:
			cfg->policy.exempt_postmaster = 0;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "greylist") == 0)
				cfg->policy.tls_mode = GW_TLS_GREYLIST;
			else if (strcmp(optarg, "pass") == 0)
				cfg->policy.tls_mode = GW_TLS_PASS;
			else
				die("--tls-mode '%s': %s", optarg, "use 'greylist' or 'pass'");
			break;
		case OPT_WHITE:
			cfg->whitelist_path = optarg;
			break;
		case OPT_BLACK:
			cfg->blacklist_path = optarg;
			break;
		case OPT_R_GREY:
			cfg->reply_greylist = template("--reply-greylist", optarg);
			break;
		case OPT_R_BLACK:
			cfg->reply_blacklist = template("--reply-blacklist", optarg);
			break;
		case OPT_R_TLS:
			cfg->reply_tls = template("--reply-tls", optarg);
			break;
		case OPT_MAX_FLOWS:
			cfg->max_flows = (uint32_t)number("--max-flows", optarg, 16, 1u << 24);
			break;
		case OPT_FLOW_IDLE:
			cfg->flow_idle = (uint32_t)number("--flow-idle", optarg, 1, 86400);
			break;
		case OPT_STATS:
			cfg->stats_interval =
			    (uint32_t)number("--stats-interval", optarg, 0, 86400);
			break;
		case OPT_LOG:
			cfg->log_verdicts = true;
			break;
		case OPT_MTU:
			cfg->mtu = (uint32_t)number("--mtu", optarg, 128, 9216);
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
	cfg->lists =
	    gw_lists_load_files(cfg->whitelist_path, cfg->blacklist_path, err, sizeof(err));
	if (!cfg->lists)
		die("%s%s", err, "");
	if (cfg->nsmtp_ports == 0)
		cfg->smtp_ports[cfg->nsmtp_ports++] = 25;
	if (cfg->nprotect == 0) {
		cfg->protect[0] = (struct gw_prefix){.family = 4, .len = 0};
		cfg->protect[1] = (struct gw_prefix){.family = 6, .len = 0};
		cfg->nprotect = 2;
	}
}
