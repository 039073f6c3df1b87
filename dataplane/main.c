// SPDX-License-Identifier: BSD-2-Clause
/*
 * greywall-dp: the DPDK inline appliance. Ports are bridged in pairs; every
 * burst is classified, SMTP flows are greylisted in-stream, everything else
 * goes out the other port as it came in.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <string.h>

#include "control.h"
#include "greywall/maintenance.h"
#include "engine.h"
#include "greywall/version.h"

#define RX_RING_SIZE 1024
#define TX_RING_SIZE 1024
#define NUM_MBUFS    16383
#define MBUF_CACHE   256
#define BURST_SIZE   32

static volatile sig_atomic_t force_quit, reload_asked;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_asked = 1;
	else
		force_quit = 1;
}

/* The forwarding lcores: each polls its own queue on every port, with its own engine. */
struct lcore_ctx {
	struct gw_engine engine;
	struct gw_txq fwd, back;
	uint16_t queue;
	unsigned lcore;
	uint64_t quiescent; /* bumped once per loop: lists may be freed once all have moved */
} __rte_cache_aligned;

static struct lcore_ctx *ctxs;
static unsigned nctx;
static uint16_t nports;
static struct gw_dp_config cfg;
static struct gw_dp_shm_map shared;
static struct gw_dp_log_ring *log_rings[GW_DP_SHM_LCORES];
static struct gw_dp_control control;

/* The old list set, freed once every lcore has been through a loop since the swap. */
static struct gw_lists *retired_lists;
static uint64_t retired_seen[RTE_MAX_LCORE];

static void free_retired_lists(void)
{
	unsigned i;

	if (!retired_lists)
		return;
	for (i = 1; i < nctx; i++)
		if (__atomic_load_n(&ctxs[i].quiescent, __ATOMIC_ACQUIRE) == retired_seen[i])
			return; /* that lcore may still be in a burst that read the old pointer */
	gw_lists_free(retired_lists);
	retired_lists = NULL;
}

/*
 * Lists are swapped by the main lcore between its bursts with one pointer
 * store; no lookup ever sees half a list and nothing takes a lock. The
 * control thread has parsed them (a file that does not parse never gets
 * here). The old set is freed only after every other lcore has finished a
 * loop since.
 */
static void maybe_swap_lists(void)
{
	struct gw_lists *n;
	unsigned i;

	free_retired_lists();
	if (retired_lists || !(n = gw_dp_control_take_lists(&control)))
		return;
	retired_lists = cfg.lists;
	for (i = 1; i < nctx; i++)
		retired_seen[i] = __atomic_load_n(&ctxs[i].quiescent, __ATOMIC_ACQUIRE);
	__atomic_store_n(&cfg.lists, n, __ATOMIC_RELEASE);
	gw_dp_control_lists_installed(&control);
	free_retired_lists();
}

/*
 * After a reboot greywall-dp may be the first to want the tables: it makes
 * them from greywalld's snapshot (snapshot_path), as greywalld would, so the
 * triplets of before pass from the first packet on, and greywalld later finds
 * them under the snapshot's secret. A snapshot it cannot use is greywalld's
 * to refuse: greywall-dp says so and starts with empty tables.
 */
static void restore_missing_tables(void)
{
	const char *const tables[2] = {cfg.conf.table_path, cfg.conf.awl_path};
	char err[1024];
	unsigned made;

	if (gw_table_path_is_bpf(cfg.conf.table_path))
		return;
	if (gw_snapshot_restore_missing(cfg.conf.snapshot_path, tables, cfg.conf.capacity, &made,
					err, sizeof(err)))
		printf("greywall-dp: not restoring the tables from the snapshot: %s\n", err);
	else if (made & 1)
		printf("greywall-dp: restored %s from %s\n", tables[0], cfg.conf.snapshot_path);
	fflush(stdout);
}

/* 0x6D5A repeated: the Toeplitz hash gives both directions of a flow the same queue. */
static uint8_t symmetric_rss_key[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static int port_init(uint16_t port, struct rte_mempool *pool, uint16_t nq)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = RX_RING_SIZE, nb_txd = TX_RING_SIZE, q;
	int rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	if (nq > 1) {
		if (info.max_rx_queues < nq || info.max_tx_queues < nq) {
			fprintf(stderr,
				"greywall-dp: port %u (%s) has %u queues, %u lcores need %u each "
				"(for net_af_packet add qpairs=%u, or run on one lcore: -l 0)\n",
				port, info.driver_name, info.max_rx_queues, nq, nq, nq);
			return -EINVAL;
		}
		if (info.flow_type_rss_offloads) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_key = symmetric_rss_key;
			conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(symmetric_rss_key);
			conf.rx_adv_conf.rss_conf.rss_hf =
			    (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
		} else if (strcmp(info.driver_name, "net_af_packet")) {
			/* AF_PACKET's fanout hashes symmetrically in the kernel; others cannot */
			fprintf(stderr,
				"greywall-dp: port %u (%s) cannot spread flows over queues (no "
				"RSS): both directions of a flow would not meet; run on one lcore "
				"(-l 0)\n",
				port, info.driver_name);
			return -EINVAL;
		}
	}
	rc = rte_eth_dev_configure(port, nq, nq, &conf);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc != 0)
		return rc;
	for (q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, rte_eth_dev_socket_id(port), NULL,
					    pool);
		if (rc < 0)
			return rc;
		rc = rte_eth_tx_queue_setup(port, q, nb_txd, rte_eth_dev_socket_id(port), NULL);
		if (rc < 0)
			return rc;
	}
	rc = rte_eth_dev_start(port);
	if (rc < 0)
		return rc;
	/* a bump in the wire forwards frames for every address */
	rc = rte_eth_promiscuous_enable(port);
	return rc == -ENOTSUP ? 0 : rc;
}

/* For the start-up banner: which device is which, so an operator can check the wiring. */
static const char *port_name(uint16_t port)
{
	static char names[2][RTE_ETH_NAME_MAX_LEN];
	static unsigned next;
	char *name = names[next++ % 2];

	if (rte_eth_dev_get_name_by_port(port, name) != 0)
		snprintf(name, RTE_ETH_NAME_MAX_LEN, "port%u", port);
	return name;
}

static const char *port_driver(uint16_t port)
{
	struct rte_eth_dev_info info;

	if (rte_eth_dev_info_get(port, &info) != 0 || !info.driver_name)
		return "unknown driver";
	return info.driver_name;
}

static void flush(struct lcore_ctx *c, uint16_t port, struct gw_txq *q)
{
	struct gw_engine *e = &c->engine;
	uint16_t sent = 0, tries = 0;

	while (sent < q->n && tries++ < 4)
		sent += rte_eth_tx_burst(port, c->queue, q->m + sent, q->n - sent);
	e->stats.tx += sent;
	if (sent < q->n) {
		e->stats.tx_dropped += q->n - sent;
		rte_pktmbuf_free_bulk(q->m + sent, q->n - sent);
	}
	q->n = 0;
}

/* Counters into the shared state, for greywalld: ten times a second, never per packet. */
static void publish_stats(uint64_t wall)
{
	struct gw_dp_shm *s = shared.shm;
	uint16_t port;
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < nctx && i < GW_DP_SHM_LCORES; i++)
		s->lcore[i] = ctxs[i].engine.stats;
	for (port = 0; port < nports && port < GW_DP_SHM_PORTS; port++) {
		struct rte_eth_stats st;

		if (rte_eth_stats_get(port, &st) == 0)
			s->port[port] = (struct gw_dp_port_stats){
			    st.ipackets, st.opackets, st.ibytes,  st.obytes,
			    st.imissed,	 st.ierrors,  st.oerrors, st.rx_nombuf,
			};
	}
	__atomic_store_n(&s->updated, wall, __ATOMIC_RELEASE);
}

static void sum_stats(struct gw_dp_stats *t)
{
	unsigned i, k;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < nctx; i++) {
		const u64 *src = (const u64 *)&ctxs[i].engine.stats;

		for (k = 0; k < sizeof(*t) / sizeof(u64); k++)
			((u64 *)t)[k] += src[k];
	}
}

static void print_stats(void)
{
	struct gw_dp_stats total;
	char prefix[32];
	unsigned i;

	if (nctx > 1)
		for (i = 0; i < nctx; i++) {
			snprintf(prefix, sizeof(prefix), "greywall-dp: lcore %u:", ctxs[i].lcore);
			gw_dp_stats_print_prefixed(stdout, prefix, &ctxs[i].engine.stats);
		}
	sum_stats(&total);
	gw_dp_stats_print(stdout, &total);
}

/* One lcore's loop: its queue on every port, in bursts; the main lcore also keeps house. */
static int lcore_loop(void *arg)
{
	struct lcore_ctx *c = arg;
	struct gw_engine *e = &c->engine;
	struct rte_mbuf *bufs[BURST_SIZE];
	bool main_lcore = c == &ctxs[0];
	uint64_t hz = rte_get_tsc_hz(), tsc = rte_rdtsc(), next_house = tsc, next_stats;
	uint64_t wall = (uint64_t)time(NULL), stop = UINT64_MAX;

	next_stats = cfg.stats_interval ? tsc + cfg.stats_interval * hz : UINT64_MAX;
	if (cfg.duration)
		stop = tsc + cfg.duration * hz;
	while (!force_quit) {
		uint16_t port;

		tsc = rte_rdtsc();
		if (tsc >= stop) {
			force_quit = 1;
			break;
		}
		if (tsc >= next_house) {
			/* housekeeping ten times a second: the only place that asks the kernel */
			wall = (uint64_t)time(NULL);
			gw_engine_expire(e);
			if (main_lcore) {
				maybe_swap_lists();
				publish_stats(wall);
			}
			next_house = tsc + hz / 10;
		}
		if (main_lcore && tsc >= next_stats) {
			print_stats();
			next_stats = tsc + cfg.stats_interval * hz;
		}
		gw_engine_tick(e, tsc, wall);
		for (port = 0; port < nports; port++) {
			uint16_t nb = rte_eth_rx_burst(port, c->queue, bufs, BURST_SIZE);

			if (nb == 0)
				continue;
			gw_engine_process_burst(e, bufs, nb, &c->fwd, &c->back);
			flush(c, port ^ 1, &c->fwd);
			flush(c, port, &c->back);
		}
		__atomic_store_n(&c->quiescent, c->quiescent + 1, __ATOMIC_RELEASE);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct gw_dp_log_writer *log_writer = NULL;
	struct rte_mempool *pool;
	uint16_t port;
	unsigned lcore, i;
	char err[512];
	int ret;

	/* before the EAL, which refuses options it does not know and would set up hugepages */
	if ((argc == 2 && !strcmp(argv[1], "--version")) ||
	    (argc == 3 && !strcmp(argv[1], "--") && !strcmp(argv[2], "--version"))) {
		puts("greywall-dp " GW_VERSION);
		return 0;
	}
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "greywall-dp: EAL initialisation failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	argv[0] = "greywall-dp";
	gw_dp_parse_args(&cfg, argc, argv);

	nports = rte_eth_dev_count_avail();
	if (nports < 2 || nports % 2) {
		fprintf(stderr,
			"greywall-dp: need an even number of ports to bridge in pairs, have %u "
			"(add --vdev=net_af_packet0,iface=... or bind NICs)\n",
			nports);
		return 1;
	}
	nctx = rte_lcore_count();
	if (nctx > GW_DP_SHM_LCORES) {
		fprintf(stderr, "greywall-dp: %u lcores, at most %u\n", nctx, GW_DP_SHM_LCORES);
		return 1;
	}
	ctxs = rte_zmalloc("gw_lcores", nctx * sizeof(*ctxs), RTE_CACHE_LINE_SIZE);
	pool = rte_pktmbuf_pool_create("gw_mbufs", NUM_MBUFS * nports * nctx, MBUF_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!ctxs || !pool) {
		fprintf(stderr, "greywall-dp: cannot allocate the mbuf pool and lcore state: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	RTE_ETH_FOREACH_DEV(port)
	{
		ret = port_init(port, pool, (uint16_t)nctx);
		if (ret != 0) {
			fprintf(stderr, "greywall-dp: cannot start port %u: %s\n", port,
				rte_strerror(-ret));
			return 1;
		}
	}
	{
		char path[4096];

		gw_dp_shm_path(&cfg, path, sizeof(path));
		if (path[0] && gw_dp_shm_create(&shared, path, nctx, nports, err, sizeof(err))) {
			fprintf(stderr, "greywall-dp: %s\n", err);
			return 1;
		}
	}
	restore_missing_tables();
	i = 0;
	RTE_LCORE_FOREACH(lcore)
	{
		struct lcore_ctx *c = &ctxs[i];

		/* --log-verdicts: each lcore's ring, on its socket, drained by the log writer */
		if (cfg.log_verdicts &&
		    !(log_rings[i] = rte_zmalloc_socket("gw_log", sizeof(struct gw_dp_log_ring),
							RTE_CACHE_LINE_SIZE,
							(int)rte_lcore_to_socket_id(lcore)))) {
			fprintf(stderr, "greywall-dp: cannot allocate the verdict log rings\n");
			return 1;
		}

		c->queue = (uint16_t)i;
		c->lcore = lcore;
		if (gw_engine_init(&c->engine, &cfg, pool, (int)rte_lcore_to_socket_id(lcore), i,
				   err, sizeof(err)) != 0) {
			fprintf(stderr, "greywall-dp: %s\n", err);
			return 1;
		}
		c->engine.events = shared.shm ? &shared.shm->ring[i] : NULL;
		c->engine.log = log_rings[i];
		i++;
	}
	if (cfg.log_verdicts &&
	    !(log_writer = gw_dp_log_start(log_rings, nctx, cfg.conf.policy.delay,
					   cfg.conf.syslog_ident, err, sizeof(err)))) {
		fprintf(stderr, "greywall-dp: %s\n", err);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (gw_dp_control_start(&control, &cfg, &force_quit, &reload_asked, err, sizeof(err))) {
		fprintf(stderr, "greywall-dp: %s\n", err);
		return 1;
	}
	if (cfg.conf.dp_control_socket[0])
		printf("greywall-dp: control socket %s\n", cfg.conf.dp_control_socket);
	for (port = 0; port < nports; port += 2)
		printf("greywall-dp: pair %s (%s) <-> %s (%s)\n", port_name(port),
		       port_driver(port), port_name(port + 1), port_driver(port + 1));
	printf("greywall-dp: bridging %u ports on %u lcore%s; Ctrl-C to stop\n", nports, nctx,
	       nctx == 1 ? "" : "s");
	fflush(stdout);
	i = 1;
	RTE_LCORE_FOREACH_WORKER(lcore)
	rte_eal_remote_launch(lcore_loop, &ctxs[i++], lcore);
	lcore_loop(&ctxs[0]);
	rte_eal_mp_wait_lcore();
	gw_dp_log_stop(log_writer);
	gw_dp_control_stop(&control);

	publish_stats((uint64_t)time(NULL));
	gw_dp_shm_close(&shared);
	print_stats();
	RTE_ETH_FOREACH_DEV(port)
	{
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	for (i = 0; i < nctx; i++)
		gw_engine_free(&ctxs[i].engine);
	gw_lists_free(cfg.lists);
	gw_lists_free(retired_lists);
	rte_eal_cleanup();
	return 0;
}
