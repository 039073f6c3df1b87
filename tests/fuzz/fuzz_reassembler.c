// SPDX-License-Identifier: BSD-2-Clause
/*
 * greywall-dp's engine (the reassembler, the verdict step and the rewriter)
 * fed hostile segment sequences. After a handshake the input is a list of
 * records [op:1][len:1][bytes]: op picks the direction, the flags and how far
 * the segment's seq strays from the stream's next byte (retransmissions,
 * overlaps, gaps), and len bytes of payload follow. Every frame that comes
 * out must be a well-formed TCP frame with both checksums right, on the
 * connection it belongs to, and the engine's books must balance: no more
 * replies injected than lines removed, every flow released at the end.
 */
#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "../../dataplane/engine.h"
#include "../../dataplane/packet.h"

static struct rte_mempool *pool;
static struct gw_dp_config cfg;
static struct gw_engine eng;
static uint64_t fake_tsc;
static uint16_t next_port = 1024;
/*
 * The client acks what reached it, as a real client does: the end of the
 * furthest frame toward it, the server's bytes and our injected replies alike.
 * That is what lets edits fold (both peers acked past them) under the fuzzer.
 */
static uint32_t client_rcv_next;
static bool client_rcv_seen;

static const uint8_t client_ip[4] = {198, 18, 1, 1}, server_ip[4] = {198, 18, 0, 2};

static char runtime_dir[96];

/* EAL's runtime directory goes with the process: a fuzz run leaves nothing behind. */
static void remove_runtime_dir(void)
{
	DIR *d = opendir(runtime_dir);
	struct dirent *ent;
	char path[384];

	rte_eal_cleanup();
	if (!d)
		return;
	while ((ent = readdir(d)))
		if (ent->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", runtime_dir, ent->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(runtime_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char table[64], awl[64], prefix[48], err[256];
	char *eal[] = {
	    "fuzz",	     "--no-huge", "-m",		 "256",	  "--no-pci",	    "--no-shconf",
	    "--file-prefix", prefix,	  "--log-level", "error", "--no-telemetry", NULL};
	char *args[] = {"fuzz",	 "--protect", "198.18.0.0/15", "--table", table,
			"--awl", awl,	      "--capacity",    "4096",	  "--max-flows",
			"16",	 "--mtu",     "576",	       NULL};

	(void)argc;
	(void)argv;
	snprintf(table, sizeof(table), "/dev/shm/gw-fuzz-%d-t", getpid());
	snprintf(awl, sizeof(awl), "/dev/shm/gw-fuzz-%d-a", getpid());
	snprintf(prefix, sizeof(prefix), "gw-fuzz-%d", getpid());
	snprintf(runtime_dir, sizeof(runtime_dir), "/var/run/dpdk/%s", prefix);
	if (rte_eal_init(11, eal) < 0)
		abort();
	atexit(remove_runtime_dir);
	gw_dp_parse_args(&cfg, 13, args);
	pool = rte_pktmbuf_pool_create("fuzz", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (!pool || gw_engine_init(&eng, &cfg, pool, 0, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_reassembler: %s\n", err);
		abort();
	}
	/* the mappings stay; the names go, so nothing is left behind */
	unlink(table);
	unlink(awl);
	fake_tsc = rte_get_tsc_hz();
	return 0;
}

static struct rte_mbuf *frame(bool from_client, uint16_t cport, uint32_t seq, uint32_t ack,
			      uint8_t flags, const uint8_t *payload, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint16_t hl = 14 + 20 + 20;
	uint8_t *d;
	struct rte_ipv4_hdr *ip;
	struct rte_tcp_hdr *tcp;

	if (!m)
		return NULL;
	d = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(hl + len));
	memset(d, 0, hl);
	d[12] = 0x08; /* IPv4 */
	ip = (struct rte_ipv4_hdr *)(d + 14);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(40 + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	memcpy(&ip->src_addr, from_client ? client_ip : server_ip, 4);
	memcpy(&ip->dst_addr, from_client ? server_ip : client_ip, 4);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	tcp = (struct rte_tcp_hdr *)(ip + 1);
	tcp->src_port = rte_cpu_to_be_16(from_client ? cport : 25);
	tcp->dst_port = rte_cpu_to_be_16(from_client ? 25 : cport);
	tcp->sent_seq = rte_cpu_to_be_32(seq);
	tcp->recv_ack = rte_cpu_to_be_32(ack);
	tcp->data_off = 5 << 4;
	tcp->tcp_flags = flags;
	tcp->rx_win = rte_cpu_to_be_16(65535);
	if (len)
		memcpy(tcp + 1, payload, len);
	tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
	return m;
}

/* Every frame out is TCP on this connection, inside its MTU, with both checksums right. */
static void check_and_free(struct gw_txq *q, uint16_t cport)
{
	unsigned i;

	for (i = 0; i < q->n; i++) {
		struct rte_mbuf *m = q->m[i];
		uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
		struct gw_pkt p;
		struct rte_ipv4_hdr *ip;
		uint16_t sum, sp, dp;

		assert(gw_parse_frame(d, rte_pktmbuf_data_len(m), &p) == GW_PKT_TCP);
		ip = p.ip;
		sp = rte_be_to_cpu_16(p.tcp->src_port);
		dp = rte_be_to_cpu_16(p.tcp->dst_port);
		assert((sp == cport && dp == 25) || (sp == 25 && dp == cport));
		if (dp == cport) {
			uint32_t end = rte_be_to_cpu_32(p.tcp->sent_seq) + p.payload_len;

			if (!client_rcv_seen || (int32_t)(end - client_rcv_next) > 0)
				client_rcv_next = end;
			client_rcv_seen = true;
		}
		assert(rte_be_to_cpu_16(ip->total_length) <= 1500);
		sum = ip->hdr_checksum;
		ip->hdr_checksum = 0;
		assert(rte_ipv4_cksum(ip) == sum);
		ip->hdr_checksum = sum;
		sum = p.tcp->cksum;
		p.tcp->cksum = 0;
		assert(rte_ipv4_udptcp_cksum(ip, p.tcp) == sum);
		rte_pktmbuf_free(m);
	}
	q->n = 0;
}

static void feed(struct rte_mbuf *m, uint16_t cport)
{
	static struct gw_txq fwd, back;

	if (!m)
		return;
	fake_tsc += rte_get_tsc_hz() / 50;
	gw_engine_tick(&eng, fake_tsc, 1800000000ULL + fake_tsc / rte_get_tsc_hz());
	gw_engine_process(&eng, m, &fwd, &back);
	check_and_free(&fwd, cport);
	check_and_free(&back, cport);
}

/* How far a segment's seq strays from the stream's next byte: op bits 4-7. */
static const int32_t stray[16] = {0, 0, 0, 0, 0, 0, 0, 0, -1, -6, -32, -200, 1, 7, 64, 3000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t flag_sets[8] = {0x18, 0x10, 0x18, 0x19, 0x14, 0x11, 0x02, 0x12};
	const uint32_t c_isn = 0xfffffff0u, s_isn = 0x7fffff00u; /* both near a wrap */
	uint16_t cport = next_port;
	uint32_t c_off = 0, s_off = 0;
	size_t i = 0;
	unsigned k;

	next_port = (uint16_t)(next_port == 65535 ? 1024 : next_port + 1);
	client_rcv_seen = false;
	feed(frame(true, cport, c_isn, 0, RTE_TCP_SYN_FLAG, NULL, 0), cport);
	feed(frame(false, cport, s_isn, c_isn + 1, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, NULL, 0),
	     cport);
	while (i + 2 <= size) {
		uint8_t op = data[i], len = data[i + 1];
		bool from_client = !(op & 1);
		uint32_t *off = from_client ? &c_off : &s_off;
		uint32_t seq;

		i += 2;
		if (len > size - i)
			len = (uint8_t)(size - i);
		seq = (from_client ? c_isn : s_isn) + 1 + *off + (uint32_t)stray[op >> 4];
		feed(frame(from_client, cport, seq,
			   from_client ? (client_rcv_seen ? client_rcv_next : s_isn + 1 + s_off)
				       : c_isn + 1 + c_off,
			   flag_sets[(op >> 1) & 7], data + i, len),
		     cport);
		if (stray[op >> 4] == 0)
			*off += len;
		i += len;
	}
	assert(eng.stats.replies_injected <= eng.stats.lines_removed);
	/* a long silence: every flow goes, with its replies and held bytes */
	fake_tsc += 100000 * rte_get_tsc_hz();
	gw_engine_tick(&eng, fake_tsc, 1800000000ULL + fake_tsc / rte_get_tsc_hz());
	for (k = 0; k < 1000 && eng.stats.flows_active; k++)
		gw_engine_expire(&eng);
	assert(eng.stats.flows_active == 0);
	return 0;
}
