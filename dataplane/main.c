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
#include <rte_mbuf.h>

#include "engine.h"

#define RX_RING_SIZE   1024
#define TX_RING_SIZE   1024
#define NUM_MBUFS      16383
#define MBUF_CACHE     256
#define BURST_SIZE     32
#define PREFETCH_AHEAD 8

static volatile sig_atomic_t force_quit, reload_lists;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_lists = 1;
	else
		force_quit = 1;
}

/*
 * Lists are swapped between bursts on the forwarding thread itself, so no
 * lookup ever sees half a list and nothing needs a lock. A list file that
 * does not parse leaves the current lists in force.
 */
static void maybe_reload_lists(struct gw_dp_config *cfg)
{
	struct gw_lists *n;
	char err[512];

	if (!reload_lists)
		return;
	reload_lists = 0;
	n = gw_lists_load_files(cfg->whitelist_path, cfg->blacklist_path, err, sizeof(err));
	if (!n) {
		printf("greywall-dp: reload refused, keeping the current lists: %s\n", err);
	} else {
		gw_lists_free(cfg->lists);
		cfg->lists = n;
		printf("greywall-dp: lists reloaded: %zu entries\n", gw_lists_size(n));
	}
	fflush(stdout);
}

static int port_init(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = RX_RING_SIZE, nb_txd = TX_RING_SIZE;
	int rc;

	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc != 0)
		return rc;
	rc = rte_eth_rx_queue_setup(port, 0, nb_rxd, rte_eth_dev_socket_id(port), NULL, pool);
	if (rc < 0)
		return rc;
	rc = rte_eth_tx_queue_setup(port, 0, nb_txd, rte_eth_dev_socket_id(port), NULL);
	if (rc < 0)
		return rc;
	rc = rte_eth_dev_start(port);
	if (rc < 0)
		return rc;
	/* a bump in the wire forwards frames for every address */
	rc = rte_eth_promiscuous_enable(port);
	return rc == -ENOTSUP ? 0 : rc;
}

static void flush(struct gw_engine *e, uint16_t port, struct gw_txq *q)
{
	uint16_t sent = 0, tries = 0;

	while (sent < q->n && tries++ < 4)
		sent += rte_eth_tx_burst(port, 0, q->m + sent, q->n - sent);
	e->stats.tx += sent;
	if (sent < q->n) {
		e->stats.tx_dropped += q->n - sent;
		rte_pktmbuf_free_bulk(q->m + sent, q->n - sent);
	}
	q->n = 0;
}

static struct gw_dp_shm_map shared;

/* Counters into the shared state, for greywalld: ten times a second, never per packet. */
static void publish_stats(const struct gw_engine *e, uint16_t nports, uint64_t wall)
{
	struct gw_dp_shm *s = shared.shm;
	uint16_t port;

	if (!s)
		return;
	s->lcore[0] = e->stats;
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

static void main_loop(struct gw_engine *e, struct gw_dp_config *cfg, uint16_t nports)
{
	static struct gw_txq fwd, back;
	struct rte_mbuf *bufs[BURST_SIZE];
	uint64_t hz = rte_get_tsc_hz(), tsc = rte_rdtsc(), next_house = tsc, next_stats;
	uint64_t wall = (uint64_t)time(NULL), stop = UINT64_MAX;

	next_stats = e->cfg->stats_interval ? tsc + e->cfg->stats_interval * hz : UINT64_MAX;
	if (e->cfg->duration)
		stop = tsc + e->cfg->duration * hz;
	printf("greywall-dp: bridging %u ports on lcore %u; Ctrl-C to stop\n", nports,
	       rte_lcore_id());
	fflush(stdout);
	while (!force_quit) {
		uint16_t port;

		tsc = rte_rdtsc();
		if (tsc >= stop)
			break;
		if (tsc >= next_house) {
			/* housekeeping ten times a second: the only place that asks the kernel */
			wall = (uint64_t)time(NULL);
			gw_engine_expire(e);
			maybe_reload_lists(cfg);
			publish_stats(e, nports, wall);
			next_house = tsc + hz / 10;
		}
		if (tsc >= next_stats) {
			gw_dp_stats_print(stdout, &e->stats);
			next_stats = tsc + e->cfg->stats_interval * hz;
		}
		gw_engine_tick(e, tsc, wall);
		for (port = 0; port < nports; port++) {
			uint16_t nb = rte_eth_rx_burst(port, 0, bufs, BURST_SIZE), i;

			if (nb == 0)
				continue;
			/* headers of the whole burst start loading before the first is read */
			for (i = 0; i < nb && i < PREFETCH_AHEAD; i++)
				rte_prefetch0(rte_pktmbuf_mtod(bufs[i], void *));
			for (i = 0; i < nb; i++) {
				if (i + PREFETCH_AHEAD < nb)
					rte_prefetch0(
					    rte_pktmbuf_mtod(bufs[i + PREFETCH_AHEAD], void *));
				gw_engine_process(e, bufs[i], &fwd, &back);
			}
			flush(e, port ^ 1, &fwd);
			flush(e, port, &back);
		}
	}
}

int main(int argc, char **argv)
{
	static struct gw_dp_config cfg;
	static struct gw_engine engine;
	struct rte_mempool *pool;
	uint16_t nports, port;
	char err[512];
	int ret;

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
	pool = rte_pktmbuf_pool_create("gw_mbufs", NUM_MBUFS * nports, MBUF_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (!pool) {
		fprintf(stderr, "greywall-dp: cannot create the mbuf pool: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	RTE_ETH_FOREACH_DEV(port)
	{
		ret = port_init(port, pool);
		if (ret != 0) {
			fprintf(stderr, "greywall-dp: cannot start port %u: %s\n", port,
				rte_strerror(-ret));
			return 1;
		}
	}
	if (gw_engine_init(&engine, &cfg, pool, (int)rte_socket_id(), 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "greywall-dp: %s\n", err);
		return 1;
	}
	{
		char path[4096];

		if (!cfg.shm_path)
			snprintf(path, sizeof(path), "%s.dp", cfg.table_path);
		else
			snprintf(path, sizeof(path), "%s", cfg.shm_path);
		if (path[0] && gw_dp_shm_create(&shared, path, 1, nports, err, sizeof(err))) {
			fprintf(stderr, "greywall-dp: %s\n", err);
			return 1;
		}
		engine.events = shared.shm ? &shared.shm->ring[0] : NULL;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	main_loop(&engine, &cfg, nports);

	publish_stats(&engine, nports, (uint64_t)time(NULL));
	gw_dp_shm_close(&shared);
	gw_dp_stats_print(stdout, &engine.stats);
	RTE_ETH_FOREACH_DEV(port)
	{
		rte_eth_dev_stop(port);
		rte_eth_dev_close(port);
	}
	gw_engine_free(&engine);
	gw_lists_free(cfg.lists);
	rte_eal_cleanup();
	return 0;
}
