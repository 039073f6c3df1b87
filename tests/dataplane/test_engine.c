// SPDX-License-Identifier: BSD-2-Clause
/*
 * Packet in, packet out through the dataplane engine (the code greywall-dp
 * runs per lcore), in the style of Katran's and Cilium's BPF tests: every
 * case builds the frames a real conversation has, feeds them in order, and
 * spells out each frame that must come out (seq, ack, flags, payload) and
 * checks both checksums.
 */
#include <arpa/inet.h>
#include <unistd.h>

#include "../unit/unit.h"

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "../../dataplane/eal_runtime.h"
#include "../../dataplane/engine.h"
#include "../../dataplane/packet.h"
#include "greywall/decide_rcpt.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

static struct rte_mempool *pool;
static struct gw_dp_config cfg;
static struct gw_engine eng;
static char table_path[64], awl_path[64];
static uint64_t fake_tsc = 1000000000ULL;
static const uint64_t NOW = 1800000000ULL;
static uint64_t wall_later; /* seconds added to NOW by a test that waits out the delay */

/* One TCP conversation as the two hosts see it. */
struct conv {
	int family;
	int vlan; /* 0, or the number of 802.1Q tags */
	uint8_t client[16], server[16];
	uint16_t cport, sport;
	uint32_t c_isn, s_isn;
	uint32_t c_off, s_off; /* next stream offset each side sends */
};

static struct gw_txq fwd, back;

static void txq_clear(struct gw_txq *q)
{
	for (unsigned i = 0; i < q->n; i++)
		rte_pktmbuf_free(q->m[i]);
	q->n = 0;
}

static struct rte_mbuf *frame(const struct conv *c, bool from_client, uint32_t seq, uint32_t ack,
			      uint8_t flags, const void *payload, uint16_t len, const uint8_t *opts,
			      uint8_t optlen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint16_t l2 = sizeof(struct rte_ether_hdr) + 4 * c->vlan;
	uint16_t l3 = c->family == 4 ? 20 : 40, l4 = (uint16_t)(20 + optlen);
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, l2 + l3 + l4 + len);
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)d;
	struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(d + l2 + l3);
	uint8_t *ethertype = (uint8_t *)&eth->ether_type;
	uint16_t et;
	int i;

	memset(d, 0, l2 + l3 + l4);
	memcpy(eth->dst_addr.addr_bytes, from_client ? "\x02\0\0\0\0\x02" : "\x02\0\0\0\0\x01", 6);
	memcpy(eth->src_addr.addr_bytes, from_client ? "\x02\0\0\0\0\x01" : "\x02\0\0\0\0\x02", 6);
	for (i = 0; i < c->vlan; i++) {
		struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(d + 14 + 4 * i);

		et = rte_cpu_to_be_16(i == 0 && c->vlan == 2 ? RTE_ETHER_TYPE_QINQ
							     : RTE_ETHER_TYPE_VLAN);
		memcpy(ethertype, &et, 2);
		vh->vlan_tci = rte_cpu_to_be_16((uint16_t)(100 + i));
		ethertype = (uint8_t *)vh + 2;
	}
	if (c->family == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + l2);

		et = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		memcpy(ethertype, &et, 2);
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(l3 + l4 + len));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		memcpy(&ip->src_addr, from_client ? c->client : c->server, 4);
		memcpy(&ip->dst_addr, from_client ? c->server : c->client, 4);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(d + l2);

		et = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
		memcpy(ethertype, &et, 2);
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(l4 + len));
		ip6->proto = IPPROTO_TCP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, from_client ? c->client : c->server, 16);
		memcpy(ip6->dst_addr, from_client ? c->server : c->client, 16);
	}
	tcp->src_port = rte_cpu_to_be_16(from_client ? c->cport : c->sport);
	tcp->dst_port = rte_cpu_to_be_16(from_client ? c->sport : c->cport);
	tcp->sent_seq = rte_cpu_to_be_32(seq);
	tcp->recv_ack = rte_cpu_to_be_32(ack);
	tcp->data_off = (uint8_t)((l4 / 4) << 4);
	tcp->tcp_flags = flags;
	tcp->rx_win = rte_cpu_to_be_16(64240);
	if (optlen)
		memcpy(tcp + 1, opts, optlen);
	memcpy(d + l2 + l3 + l4, payload, len);
	if (c->family == 4)
		tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(d + l2), tcp);
	else
		tcp->cksum = rte_ipv6_udptcp_cksum((struct rte_ipv6_hdr *)(d + l2), tcp);
	return m;
}

static void feed(struct rte_mbuf *m)
{
	txq_clear(&fwd);
	txq_clear(&back);
	gw_engine_tick(&eng, fake_tsc, NOW + wall_later);
	fake_tsc += rte_get_tsc_hz(); /* a second between frames: rate limits never bite */
	gw_engine_process(&eng, m, &fwd, &back);
}

/* Client sends text (stream order); returns after feeding. */
static void client_says(struct conv *c, const char *text)
{
	uint16_t len = (uint16_t)strlen(text);

	feed(frame(c, true, c->c_isn + 1 + c->c_off, c->s_isn + 1 + c->s_off, ACK | PSH, text, len,
		   NULL, 0));
	c->c_off += len;
}

static void server_says(struct conv *c, const char *text)
{
	uint16_t len = (uint16_t)strlen(text);

	feed(frame(c, false, c->s_isn + 1 + c->s_off, c->c_isn + 1 + c->c_off, ACK | PSH, text, len,
		   NULL, 0));
	c->s_off += len;
}

struct want {
	uint32_t seq, ack;
	uint8_t flags;
	const char *payload;
};

static void check_frame(struct rte_mbuf *m, const struct want *w, const char *what)
{
	struct gw_pkt p = {0};
	uint16_t sum;
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);

	if (gw_parse_frame(d, rte_pktmbuf_data_len(m), &p) != GW_PKT_TCP)
		fail_msg("%s: output is not a TCP frame", what);
	if (rte_be_to_cpu_32(p.tcp->sent_seq) != w->seq)
		fail_msg("%s: seq %u, want %u", what, rte_be_to_cpu_32(p.tcp->sent_seq), w->seq);
	if (rte_be_to_cpu_32(p.tcp->recv_ack) != w->ack)
		fail_msg("%s: ack %u, want %u", what, rte_be_to_cpu_32(p.tcp->recv_ack), w->ack);
	if (p.tcp->tcp_flags != w->flags)
		fail_msg("%s: flags %#x, want %#x", what, p.tcp->tcp_flags, w->flags);
	if (p.payload_len != strlen(w->payload) ||
	    memcmp(d + p.payload_off, w->payload, p.payload_len) != 0)
		fail_msg("%s: payload '%.*s', want '%s'", what, p.payload_len, d + p.payload_off,
			 w->payload);
	sum = p.tcp->cksum;
	p.tcp->cksum = 0;
	p.tcp->cksum =
	    p.family == 4 ? rte_ipv4_udptcp_cksum(p.ip, p.tcp) : rte_ipv6_udptcp_cksum(p.ip, p.tcp);
	if (sum != p.tcp->cksum)
		fail_msg("%s: TCP checksum %#x, correct is %#x", what, sum, p.tcp->cksum);
	if (p.family == 4) {
		struct rte_ipv4_hdr *ip = p.ip;

		sum = ip->hdr_checksum;
		ip->hdr_checksum = 0;
		if (sum != rte_ipv4_cksum(ip))
			fail_msg("%s: IPv4 header checksum wrong", what);
		ip->hdr_checksum = sum;
	}
}

static void expect(struct gw_txq *q, const struct want *w, unsigned n, const char *what)
{
	unsigned i;
	char name[96];

	if (q->n != n)
		fail_msg("%s: %u frames out, want %u", what, q->n, n);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s, frame %u", what, i);
		check_frame(q->m[i], &w[i], name);
	}
}

static void conv_init(struct conv *c, int family, int vlan, uint16_t cport)
{
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->vlan = vlan;
	if (family == 4) {
		inet_pton(AF_INET, "198.18.0.1", c->client);
		inet_pton(AF_INET, "198.18.0.2", c->server);
	} else {
		inet_pton(AF_INET6, "fd00:18::1", c->client);
		inet_pton(AF_INET6, "fd00:18::2", c->server);
	}
	c->cport = cport;
	c->sport = 25;
	c->c_isn = 0xfffff000u + cport; /* near the wrap on purpose */
	c->s_isn = 0x10000000u + cport;
}

/* Handshake, greeting, EHLO and MAIL, each answered, with nothing edited. */
static void conv_open(struct conv *c, const char *mail)
{
	feed(frame(c, true, c->c_isn, 0, SYN, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 1);
	feed(frame(c, false, c->s_isn, c->c_isn + 1, SYN | ACK, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 1);
	server_says(c, "220 mx.receiver.example ESMTP\r\n");
	client_says(c, "EHLO sender.example\r\n");
	server_says(c, "250-mx.receiver.example\r\n250 PIPELINING\r\n");
	if (mail) {
		client_says(c, mail);
		server_says(c, "250 2.1.0 Ok\r\n");
		assert_int_equal(fwd.n, 1);
	}
}

#define GREY(rcpt, secs)                                                                           \
	"450 4.7.1 <" rcpt ">: Recipient address rejected: Greylisted, retry in " #secs            \
	" seconds\r\n"

static int setup(void **state)
{
	char err[256];

	(void)state;
	wall_later = 0;
	unlink(table_path);
	unlink(awl_path);
	if (gw_engine_init(&eng, &cfg, pool, 0, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "engine: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	txq_clear(&fwd);
	txq_clear(&back);
	gw_engine_free(&eng);
	unlink(table_path);
	unlink(awl_path);
	return 0;
}

static void test_non_smtp_passthrough_byte_exact(void **state)
{
	struct conv c;
	struct rte_mbuf *m;
	uint8_t copy[256];
	uint16_t len;

	(void)state;
	conv_init(&c, 4, 0, 40000);
	c.sport = 80;
	m = frame(&c, true, 1, 2, ACK | PSH, "GET / HTTP/1.0\r\n\r\n", 18, NULL, 0);
	len = rte_pktmbuf_data_len(m);
	memcpy(copy, rte_pktmbuf_mtod(m, void *), len);
	feed(m);
	assert_int_equal(fwd.n, 1);
	assert_int_equal(back.n, 0);
	assert_int_equal(rte_pktmbuf_data_len(fwd.m[0]), len);
	assert_memory_equal(rte_pktmbuf_mtod(fwd.m[0], void *), copy, len);
	/* a runt frame is forwarded too, and counted */
	m = rte_pktmbuf_alloc(pool);
	memcpy(rte_pktmbuf_append(m, 10), copy, 10);
	feed(m);
	assert_int_equal(fwd.n, 1);
	assert_int_equal(eng.stats.malformed, 1);
}

static void test_single_rcpt_greylisted(void **state)
{
	struct conv c;
	uint32_t rcpt_off, grey_len;
	const char *rcpt = "RCPT TO:<bob@receiver.example>\r\n";
	const char *reply = GREY("bob@receiver.example", 300);

	(void)state;
	conv_init(&c, 4, 0, 40001);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	rcpt_off = c.c_off;
	client_says(&c, rcpt);
	grey_len = (uint32_t)strlen(reply);
	/* nothing reaches the server; the 450 goes back, acking the RCPT line */
	expect(&fwd, NULL, 0, "RCPT to server");
	{
		struct want w = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK | PSH, reply};

		expect(&back, &w, 1, "injected 450");
	}
	/* the client acks our reply and sends QUIT: the server sees it where RCPT was */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off + grey_len, ACK | PSH,
		   "QUIT\r\n", 6, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "QUIT\r\n"};

		expect(&fwd, &w, 1, "QUIT to server");
	}
	c.c_off += 6;
	/* the server's 221 goes to the client shifted past our reply, acking the whole stream */
	feed(frame(&c, false, c.s_isn + 1 + c.s_off, c.c_isn + 1 + rcpt_off + 6, ACK | PSH,
		   "221 Bye\r\n", 9, NULL, 0));
	{
		struct want w = {c.s_isn + 1 + c.s_off + grey_len, c.c_isn + 1 + c.c_off, ACK | PSH,
				 "221 Bye\r\n"};

		expect(&fwd, &w, 1, "221 to client");
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
	assert_int_equal(eng.stats.lines_removed, 1);
	assert_int_equal(eng.stats.replies_injected, 1);
}

/*
 * --log-verdicts: the lcore writes nothing (no printf, no syscall); the verdict
 * and its reply wait in the lcore's log ring for the writer thread, and a full
 * ring drops the line and counts it.
 */
static void test_log_verdicts_wait_in_the_lcore_ring_never_on_stdout(void **state)
{
	static struct gw_dp_log_ring ring;
	const struct gw_dp_log_rec *r;
	struct conv c;
	char line[2048];
	int saved, out;
	FILE *tmp;

	(void)state;
	memset(&ring, 0, sizeof(ring));
	cfg.log_verdicts = true; /* as main.c sets it up: a ring per lcore */
	eng.log = &ring;
	fflush(stdout);
	saved = dup(1);
	tmp = tmpfile();
	assert_non_null(tmp);
	out = fileno(tmp);
	dup2(out, 1);
	conv_init(&c, 4, 0, 40100);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<bob@receiver.example>\r\n");
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(lseek(out, 0, SEEK_END), 0);
	fclose(tmp);
	r = gw_dp_log_peek(&ring);
	assert_non_null(r);
	gw_dp_log_format(r, cfg.conf.policy.delay, line, sizeof(line));
	assert_string_equal(line, "reject: RCPT from unknown[198.18.0.1]: 450 4.7.1 "
				  "<bob@receiver.example>: Recipient address rejected: Greylisted, "
				  "retry in 300 seconds; from=<alice@sender.example> "
				  "to=<bob@receiver.example> proto=ESMTP helo=<sender.example> "
				  "(greywall-dp)");
	gw_dp_log_done(&ring);
	assert_null(gw_dp_log_peek(&ring));
	/* the writer fell behind: the ring is full, the next line is counted, not written */
	ring.head = ring.tail + GW_DP_LOG_SLOTS;
	client_says(&c, "RCPT TO:<carol@receiver.example>\r\n");
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 2);
	assert_int_equal(eng.stats.log_lines_dropped, 1);
	assert_int_equal(ring.head - ring.tail, GW_DP_LOG_SLOTS);
	eng.log = NULL;
	cfg.log_verdicts = false;
}

static void test_retransmitted_rcpt_dropped_and_reply_resent(void **state)
{
	struct conv c;
	const char *rcpt = "RCPT TO:<bob@receiver.example>\r\n";
	const char *reply = GREY("bob@receiver.example", 300);
	uint32_t rcpt_off;

	(void)state;
	conv_init(&c, 4, 0, 40002);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	rcpt_off = c.c_off;
	client_says(&c, rcpt);
	assert_int_equal(back.n, 1);
	/* our reply was lost: the client retransmits the RCPT */
	feed(frame(&c, true, c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK | PSH, rcpt,
		   (uint16_t)strlen(rcpt), NULL, 0));
	expect(&fwd, NULL, 0, "retransmitted RCPT to server");
	{
		struct want w = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK | PSH, reply};

		expect(&back, &w, 1, "the same reply, resent");
	}
	assert_int_equal(eng.stats.retransmit_dropped, 1);
	assert_int_equal(eng.stats.replies_resent, 1);
	/* only one decision was made: the retransmission is not a second attempt */
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
}

static void test_ack_inside_injected_bytes_resends_the_rest(void **state)
{
	struct conv c;
	const char *reply = GREY("bob@receiver.example", 300);

	(void)state;
	conv_init(&c, 4, 0, 40003);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<bob@receiver.example>\r\n");
	/* the client got only the first 10 bytes of our reply and says so */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off + 10, ACK, NULL, 0, NULL,
		   0));
	{
		struct want w = {c.s_isn + 1 + c.s_off + 10, c.c_isn + 1 + c.c_off, ACK | PSH,
				 reply + 10};

		expect(&back, &w, 1, "rest of the reply");
	}
	/* and the server hears an ack that stops where our bytes begin */
	{
		struct want w = {c.c_isn + 1 + c.c_off - 32, c.s_isn + 1 + c.s_off, ACK, ""};

		expect(&fwd, &w, 1, "pure ack to server");
	}
}

static void test_pipelined_mixed_verdicts(void **state)
{
	struct conv c;
	const char *flight = "MAIL FROM:<alice@sender.example>\r\n"	 /* 34 */
			     "RCPT TO:<bob@receiver.example>\r\n"	 /* 32: greylisted */
			     "RCPT TO:<postmaster@receiver.example>\r\n" /* 39: exempt */
			     "DATA\r\n";
	const char *reply = GREY("bob@receiver.example", 300);
	uint32_t c0, s0, R = (uint32_t)strlen(reply);

	(void)state;
	conv_init(&c, 4, 0, 40004);
	conv_open(&c, NULL);
	c0 = c.c_off;
	s0 = c.s_off;
	client_says(&c, flight);
	{
		struct want w[2] = {
		    {c.c_isn + 1 + c0, c.s_isn + 1 + s0, ACK,
		     "MAIL FROM:<alice@sender.example>\r\n"},
		    {c.c_isn + 1 + c0 + 34, c.s_isn + 1 + s0, ACK | PSH,
		     "RCPT TO:<postmaster@receiver.example>\r\nDATA\r\n"},
		};

		expect(&fwd, w, 2, "flight with bob cut out");
		expect(&back, NULL, 0, "nothing injected yet: MAIL is unanswered");
	}
	/* the server answers MAIL, postmaster's RCPT and DATA in one segment */
	feed(frame(&c, false, c.s_isn + 1 + s0, c.c_isn + 1 + c0 + 34 + 39 + 6, ACK | PSH,
		   "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n", 42, NULL, 0));
	{
		uint32_t ack = c.c_isn + 1 + c.c_off;
		struct want w[3] = {
		    {c.s_isn + 1 + s0, ack, ACK, "250 2.1.0 Ok\r\n"},
		    {c.s_isn + 1 + s0 + 14, ack, ACK | PSH, reply},
		    {c.s_isn + 1 + s0 + 14 + R, ack, ACK | PSH, "250 2.1.5 Ok\r\n354 End data\r\n"},
		};

		expect(&fwd, w, 3, "replies with the 450 in RCPT order");
	}
	assert_int_equal(eng.stats.verdict[GW_V_PASS_EXEMPT], 1);
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
}

/*
 * Every recipient greylisted, DATA pipelined behind them: the server sees MAIL
 * and DATA with nothing between and refuses DATA, and the client must read
 * 250, both 450s and that refusal, in command order; its QUIT lands where the
 * server expects it.
 */
static void test_all_rcpts_greylisted_with_data_pipelined(void **state)
{
	struct conv c;
	const char *flight = "MAIL FROM:<alice@sender.example>\r\n" /* 34 */
			     "RCPT TO:<bob@receiver.example>\r\n"   /* 32: greylisted */
			     "RCPT TO:<carol@receiver.example>\r\n" /* 34: greylisted */
			     "DATA\r\n";
	const char *bob = GREY("bob@receiver.example", 300);
	const char *carol = GREY("carol@receiver.example", 300);
	const char *answer = "250 2.1.0 Ok\r\n503 5.5.1 Error: need RCPT command\r\n";
	uint32_t c0, s0, B = (uint32_t)strlen(bob), C = (uint32_t)strlen(carol);
	uint32_t A = (uint32_t)strlen(answer);

	(void)state;
	conv_init(&c, 4, 0, 40012);
	conv_open(&c, NULL);
	c0 = c.c_off;
	s0 = c.s_off;
	client_says(&c, flight);
	{
		struct want w[2] = {
		    {c.c_isn + 1 + c0, c.s_isn + 1 + s0, ACK,
		     "MAIL FROM:<alice@sender.example>\r\n"},
		    {c.c_isn + 1 + c0 + 34, c.s_isn + 1 + s0, ACK | PSH, "DATA\r\n"},
		};

		expect(&fwd, w, 2, "flight with both RCPTs cut out");
		expect(&back, NULL, 0, "nothing injected yet: MAIL is unanswered");
	}
	feed(frame(&c, false, c.s_isn + 1 + s0, c.c_isn + 1 + c0 + 34 + 6, ACK | PSH, answer,
		   (uint16_t)A, NULL, 0));
	{
		uint32_t ack = c.c_isn + 1 + c.c_off;
		struct want w[4] = {
		    {c.s_isn + 1 + s0, ack, ACK, "250 2.1.0 Ok\r\n"},
		    {c.s_isn + 1 + s0 + 14, ack, ACK | PSH, bob},
		    {c.s_isn + 1 + s0 + 14 + B, ack, ACK | PSH, carol},
		    {c.s_isn + 1 + s0 + 14 + B + C, ack, ACK | PSH,
		     "503 5.5.1 Error: need RCPT command\r\n"},
		};

		expect(&fwd, w, 4, "250, the two 450s, then the refusal of DATA");
	}
	c.s_off += A;
	/* the client has read all of it and quits: the server hears QUIT right after DATA */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off + B + C, ACK | PSH,
		   "QUIT\r\n", 6, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + c0 + 34 + 6, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "QUIT\r\n"};

		expect(&fwd, &w, 1, "QUIT to server");
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 2);
	assert_int_equal(eng.stats.lines_removed, 2);
	assert_int_equal(eng.stats.replies_injected, 2);
}

static void test_sack_edges_translated(void **state)
{
	struct conv c;
	uint8_t opt[12] = {1, 1, 5, 10};
	uint32_t cut_at, left, right, v;

	(void)state;
	conv_init(&c, 4, 0, 40005);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	cut_at = c.c_off;
	client_says(&c, "RCPT TO:<bob@receiver.example>\r\n"); /* 32 bytes cut */
	/* the server SACKs a block of later client data, in the numbering it knows */
	left = c.c_isn + 1 + cut_at + 100;
	right = left + 50;
	v = rte_cpu_to_be_32(left);
	memcpy(opt + 4, &v, 4);
	v = rte_cpu_to_be_32(right);
	memcpy(opt + 8, &v, 4);
	feed(frame(&c, false, c.s_isn + 1 + c.s_off, c.c_isn + 1 + cut_at, ACK, NULL, 0, opt, 12));
	assert_int_equal(fwd.n, 1);
	{
		struct gw_pkt p = {0};
		uint8_t *d = rte_pktmbuf_mtod(fwd.m[0], uint8_t *);
		uint32_t l, r;
		struct want w = {c.s_isn + 1 + c.s_off +
				     (uint32_t)strlen(GREY("bob@receiver.example", 300)),
				 c.c_isn + 1 + cut_at + 32, ACK, ""};

		check_frame(fwd.m[0], &w, "ack with SACK");
		gw_parse_frame(d, rte_pktmbuf_data_len(fwd.m[0]), &p);
		memcpy(&l, (uint8_t *)p.tcp + 24, 4);
		memcpy(&r, (uint8_t *)p.tcp + 28, 4);
		assert_int_equal(rte_be_to_cpu_32(l), left + 32);
		assert_int_equal(rte_be_to_cpu_32(r), right + 32);
	}
	assert_int_equal(eng.stats.sack_translated, 1);
}

static void test_bdat_body_with_rcpt_text_untouched(void **state)
{
	struct conv c;
	const char *chunk = "BDAT 35 LAST\r\nRCPT TO:<bob@receiver.example>\r\nxy\r\n";

	(void)state;
	conv_init(&c, 4, 0, 40006);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<postmaster@receiver.example>\r\n");
	server_says(&c, "250 2.1.5 Ok\r\n");
	client_says(&c, chunk);
	{
		struct want w = {c.c_isn + 1 + c.c_off - (uint32_t)strlen(chunk),
				 c.s_isn + 1 + c.s_off, ACK | PSH, chunk};

		expect(&fwd, &w, 1, "BDAT chunk forwarded as it is");
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 0);
	assert_int_equal(eng.stats.lines_removed, 0);
}

static void test_ipv6_and_qinq_greylisted(void **state)
{
	struct conv c;
	const char *reply = GREY("carol@receiver.example", 300);

	(void)state;
	conv_init(&c, 6, 2, 40007);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<carol@receiver.example>\r\n");
	expect(&fwd, NULL, 0, "RCPT to server");
	{
		struct want w = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK | PSH, reply};
		uint8_t *d = rte_pktmbuf_mtod(back.m[0], uint8_t *);

		expect(&back, &w, 1, "injected 450 over IPv6 in QinQ");
		/* both tags survive in the reply */
		assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(d + 12)), RTE_ETHER_TYPE_QINQ);
		assert_int_equal(rte_be_to_cpu_16(*(uint16_t *)(d + 16)), RTE_ETHER_TYPE_VLAN);
	}
}

/*
 * STARTTLS from an unknown network: the 421, and right behind it the session
 * is reset both ways. An opportunistic-TLS client that read the 421 would go
 * on in plaintext on the same connection (real Postfix does); its next write
 * fails instead, and the server, which never saw STARTTLS, is reset too.
 */
static void test_starttls_from_unknown_network_gets_421_and_a_reset(void **state)
{
	const char *tls421 = "421 4.7.0 Greylisted, try again later\r\n";
	struct conv c;
	uint32_t line_off;

	(void)state;
	conv_init(&c, 4, 0, 40008);
	conv_open(&c, NULL);
	line_off = c.c_off;
	client_says(&c, "STARTTLS\r\n");
	{
		struct want w = {c.c_isn + 1 + line_off, 0, RST, ""};
		struct want b[2] = {
		    {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK | PSH, tls421},
		    {c.s_isn + 1 + c.s_off + (uint32_t)strlen(tls421), c.c_isn + 1 + c.c_off,
		     RST | ACK, ""},
		};

		expect(&fwd, &w, 1, "the server reset where STARTTLS would have been");
		expect(&back, b, 2, "the 421, then the client reset");
	}
	assert_int_equal(eng.stats.sessions_reset, 1);
	/* what the client might still send is not parsed or answered any more */
	client_says(&c, "MAIL FROM:<alice@sender.example>\r\n");
	assert_int_equal(back.n, 0);
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
}

static void test_closed_flow_expires_and_gives_back_its_replies(void **state)
{
	struct conv c;
	unsigned free_replies = rte_mempool_avail_count(eng.reply_pool);

	(void)state;
	conv_init(&c, 4, 0, 40012);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<bob@receiver.example>\r\n");
	assert_int_equal(back.n, 1);
	assert_int_equal(rte_mempool_avail_count(eng.reply_pool), free_replies - 1);
	assert_int_equal(eng.flows.nfree, eng.flows.cap - 1);
	/* the server acks all it got (the cut RCPT is not in its numbering): the RST ends the flow
	 */
	feed(frame(&c, false, c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off - 32, ACK, NULL, 0, NULL,
		   0));
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, RST, NULL, 0, NULL, 0));
	/* a closed flow lingers 10 s for late retransmissions, then goes */
	fake_tsc += 11 * rte_get_tsc_hz();
	gw_engine_tick(&eng, fake_tsc, NOW);
	gw_engine_expire(&eng);
	assert_int_equal(eng.stats.flows_expired, 1);
	assert_int_equal(eng.stats.flows_active, 0);
	assert_int_equal(eng.flows.nfree, eng.flows.cap);
	assert_int_equal(rte_mempool_avail_count(eng.reply_pool), free_replies);
}

/*
 * A RCPT line in two segments: the begun part is held back (only its ack goes
 * on), and when the rest comes the whole line is cut and answered with 450.
 */
static void test_split_rcpt_held_and_greylisted(void **state)
{
	struct conv c;
	uint32_t rcpt_off;
	const char *reply = GREY("bob@receiver.example", 300);

	(void)state;
	conv_init(&c, 4, 0, 40020);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	rcpt_off = c.c_off;
	client_says(&c, "RCPT TO:<bob@recei");
	{
		struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK, ""};

		expect(&fwd, &w, 1, "held RCPT start: a bare ack where the line would begin");
	}
	{
		struct want w = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK, ""};

		expect(&back, &w, 1, "custody: the held bytes acked to the client for the server");
	}
	/* its timer ran out before our ack arrived: the resend changes nothing, the ack goes again
	 */
	feed(frame(&c, true, c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK | PSH,
		   "RCPT TO:<bob@recei", 18, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK, ""};
		struct want a = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK, ""};

		expect(&fwd, &w, 1, "the resend: a bare ack where the line begins");
		expect(&back, &a, 1, "the custody ack again");
	}
	client_says(&c, "ver.example>\r\n");
	expect(&fwd, NULL, 0, "the whole RCPT cut");
	{
		struct want w = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK | PSH, reply};

		expect(&back, &w, 1, "injected 450 acking the whole line");
	}
	/* QUIT lands where the RCPT began, in the server's stream */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off + (uint32_t)strlen(reply),
		   ACK | PSH, "QUIT\r\n", 6, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "QUIT\r\n"};

		expect(&fwd, &w, 1, "QUIT to server");
	}
	assert_int_equal(eng.stats.failopen[GW_FO_SPLIT_LINE], 0);
	assert_int_equal(eng.stats.lines_removed, 1);
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
}

/* A MAIL line in three segments goes to the server whole, once the line is complete. */
static void test_split_mail_forwarded_whole(void **state)
{
	struct conv c;
	uint32_t mail_off;

	(void)state;
	conv_init(&c, 4, 0, 40021);
	conv_open(&c, NULL);
	mail_off = c.c_off;
	client_says(&c, "MAIL FR");
	assert_int_equal(fwd.n, 1); /* bare ack */
	client_says(&c, "OM:<alice@sen");
	assert_int_equal(fwd.n, 1);
	client_says(&c, "der.example>\r\n");
	{
		struct want w = {c.c_isn + 1 + mail_off, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "MAIL FROM:<alice@sender.example>\r\n"};

		expect(&fwd, &w, 1, "MAIL whole");
	}
	server_says(&c, "250 2.1.0 Ok\r\n");
	client_says(&c, "RCPT TO:<carol@receiver.example>\r\n");
	expect(&fwd, NULL, 0, "RCPT after a split MAIL is cut");
	assert_int_equal(back.n, 1);
	assert_int_equal(eng.stats.failopen[GW_FO_SPLIT_LINE], 0);
}

/* With a small MTU toward the client, the 450 goes in two segments, PSH on the last. */
static void test_reply_split_to_fit_the_mtu(void **state)
{
	const char *reply = GREY("bob@receiver.example", 300);
	char first[64], rest[256];
	uint32_t room = 100 - 20 - 20, saved = cfg.conf.mtu;
	struct conv c;

	(void)state;
	cfg.conf.mtu = 100;
	conv_init(&c, 4, 0, 40022);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<bob@receiver.example>\r\n");
	cfg.conf.mtu = saved;
	snprintf(first, sizeof(first), "%.*s", (int)room, reply);
	snprintf(rest, sizeof(rest), "%s", reply + room);
	{
		struct want w[2] = {
		    {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK, first},
		    {c.s_isn + 1 + c.s_off + room, c.c_isn + 1 + c.c_off, ACK | PSH, rest},
		};

		expect(&back, w, 2, "450 in two segments");
	}
	assert_int_equal(eng.stats.segments_split, 1);
}

/* Two RCPTs, the second arriving first: it waits for the gap, then both are cut, in order. */
static void test_out_of_order_rcpt_held_until_the_gap_fills(void **state)
{
	const char *a = "RCPT TO:<bob@receiver.example>\r\n",
		   *b = "RCPT TO:<carol@receiver.example>\r\n";
	const char *ra = GREY("bob@receiver.example", 300),
		   *rb = GREY("carol@receiver.example", 300);
	uint32_t la = (uint32_t)strlen(a), lb = (uint32_t)strlen(b), off0;
	struct conv c;

	(void)state;
	conv_init(&c, 4, 0, 40023);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	off0 = c.c_off;
	feed(frame(&c, true, c.c_isn + 1 + off0 + la, c.s_isn + 1 + c.s_off, ACK | PSH, b,
		   (uint16_t)lb, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + off0, c.s_isn + 1 + c.s_off, ACK, ""};

		expect(&fwd, &w, 1, "second RCPT held: its ack alone, where the gap begins");
	}
	assert_int_equal(back.n, 0);
	assert_int_equal(eng.stats.reordered, 1);
	feed(frame(&c, true, c.c_isn + 1 + off0, c.s_isn + 1 + c.s_off, ACK | PSH, a, (uint16_t)la,
		   NULL, 0));
	expect(&fwd, NULL, 0, "both RCPTs cut");
	{
		struct want w[2] = {
		    {c.s_isn + 1 + c.s_off, c.c_isn + 1 + off0 + la, ACK | PSH, ra},
		    {c.s_isn + 1 + c.s_off + (uint32_t)strlen(ra), c.c_isn + 1 + off0 + la + lb,
		     ACK | PSH, rb},
		};

		expect(&back, w, 2, "two 450s, in command order");
	}
	assert_int_equal(eng.stats.lines_removed, 2);
	assert_int_equal(eng.stats.failopen[GW_FO_OUT_OF_ORDER], 0);
}

/* An overlap with other bytes: what was stored first is what the server gets. */
static void test_overlap_first_copy_wins(void **state)
{
	struct conv c;
	uint32_t off0;

	(void)state;
	conv_init(&c, 4, 0, 40024);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	off0 = c.c_off;
	feed(frame(&c, true, c.c_isn + 1 + off0 + 5, c.s_isn + 1 + c.s_off, ACK | PSH,
		   "yyyyyyy\r\n", 9, NULL, 0));
	assert_int_equal(fwd.n, 1);
	feed(frame(&c, true, c.c_isn + 1 + off0, c.s_isn + 1 + c.s_off, ACK | PSH,
		   "NOOP zzzzzzz\r\n", 14, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + off0, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "NOOP yyyyyyy\r\n"};

		expect(&fwd, &w, 1, "the stored bytes win where the copies differ");
	}
}

/* A resend of forwarded bytes with other content: the server gets the first copy again. */
static void test_resend_with_other_bytes_gets_the_first_copy(void **state)
{
	struct conv c;
	uint32_t off0;

	(void)state;
	conv_init(&c, 4, 0, 40025);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	off0 = c.c_off;
	client_says(&c, "NOOP aaaa\r\n");
	assert_int_equal(fwd.n, 1);
	feed(frame(&c, true, c.c_isn + 1 + off0, c.s_isn + 1 + c.s_off, ACK | PSH, "NOOP bbbb\r\n",
		   11, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + off0, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "NOOP aaaa\r\n"};

		expect(&fwd, &w, 1, "the resend carries the first copy");
	}
	assert_int_equal(eng.stats.overlaps_rewritten, 1);
	/* the same bytes again change nothing and count nothing */
	feed(frame(&c, true, c.c_isn + 1 + off0, c.s_isn + 1 + c.s_off, ACK | PSH, "NOOP aaaa\r\n",
		   11, NULL, 0));
	assert_int_equal(fwd.n, 1);
	assert_int_equal(eng.stats.overlaps_rewritten, 1);
}

/*
 * Inside a message body the first copy wins too. A resend whose bytes would end
 * the body early and smuggle a command in after it reaches the server as the
 * body it first was; a resend reaching back past the kept bytes is counted.
 */
static void test_body_resend_gets_the_first_copy(void **state)
{
	struct conv c;
	const char *first = "Subject: hi\r\n\r\nhello there, this is the body!!\r\n";
	const char *forged = "Subject: hi\r\n.\r\nRCPT TO:<eve@receiver.example>\r\n";
	uint32_t body_off, big_off;
	char big[1200];

	(void)state;
	conv_init(&c, 4, 0, 40026);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<postmaster@receiver.example>\r\n");
	server_says(&c, "250 2.1.5 Ok\r\n");
	client_says(&c, "DATA\r\n");
	server_says(&c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	body_off = c.c_off;
	client_says(&c, first);
	assert_int_equal(fwd.n, 1);
	assert_int_equal(strlen(first), strlen(forged));
	feed(frame(&c, true, c.c_isn + 1 + body_off, c.s_isn + 1 + c.s_off, ACK | PSH, forged,
		   (uint16_t)strlen(forged), NULL, 0));
	{
		struct want w = {c.c_isn + 1 + body_off, c.s_isn + 1 + c.s_off, ACK | PSH, first};

		expect(&fwd, &w, 1, "the forged resend carries the first body bytes");
	}
	assert_int_equal(eng.stats.overlaps_rewritten, 1);
	assert_int_equal(eng.stats.failopen[GW_FO_RESEND_UNKEPT], 0);
	/* more body bytes than are kept push the first ones out of the kept copy */
	memset(big, 'x', sizeof(big));
	memcpy(big + sizeof(big) - 2, "\r\n", 2);
	for (unsigned k = 0; k < GW_FLOW_HIST / sizeof(big) + 1; k++) {
		big_off = c.c_off;
		feed(frame(&c, true, c.c_isn + 1 + big_off, c.s_isn + 1 + c.s_off, ACK | PSH, big,
			   sizeof(big), NULL, 0));
		c.c_off += sizeof(big);
		assert_int_equal(fwd.n, 1);
	}
	feed(frame(&c, true, c.c_isn + 1 + body_off, c.s_isn + 1 + c.s_off, ACK | PSH, first,
		   (uint16_t)strlen(first), NULL, 0));
	assert_int_equal(fwd.n, 1);
	assert_int_equal(eng.stats.failopen[GW_FO_RESEND_UNKEPT], 1);
	/* once the server has acked them, such a resend is harmless and not counted */
	feed(frame(&c, false, c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK, NULL, 0, NULL, 0));
	feed(frame(&c, true, c.c_isn + 1 + body_off, c.s_isn + 1 + c.s_off, ACK | PSH, first,
		   (uint16_t)strlen(first), NULL, 0));
	assert_int_equal(eng.stats.failopen[GW_FO_RESEND_UNKEPT], 1);
	/* the body still ends where the server will see it end */
	client_says(&c, ".\r\n");
	server_says(&c, "250 2.0.0 Ok: queued\r\n");
	client_says(&c, "RCPT TO:<bob@receiver.example>\r\n");
	/* no MAIL in this transaction: judged all the same (with the last sender) */
	assert_int_equal(eng.stats.lines_removed, 1);
}

/* Payload bytes in the frames of q (a bare ack has none). */
static unsigned payload_bytes(const struct gw_txq *q)
{
	unsigned i, n = 0;

	for (i = 0; i < q->n; i++) {
		struct gw_pkt p = {0};

		if (gw_parse_frame(rte_pktmbuf_mtod(q->m[i], uint8_t *),
				   rte_pktmbuf_data_len(q->m[i]), &p) == GW_PKT_TCP)
			n += p.payload_len;
	}
	return n;
}

/*
 * A segment the server would not take changes nothing in greywall-dp: it is
 * dropped, never parsed, and the RCPT after it is still cut. Each of these let
 * an RCPT through un-judged before: a client RST at a sequence the server
 * answers with a challenge ACK, a SYN with another ISN on the live session,
 * data without ACK or with a bad checksum (the server drops both, so their
 * bytes would stand in for the ones it reads), a resend from before a held
 * line, a FIN inside it; and a server frame forged from the client's side.
 */
static void test_segments_the_server_would_not_take_change_nothing(void **state)
{
	const char *line = "RCPT TO:<bob@receiver.example>\r\n";
	uint16_t len = (uint16_t)strlen(line);
	struct rte_mbuf *m;
	struct conv c, d;
	uint64_t dropped, cut = 0;

	(void)state;
	conv_init(&c, 4, 0, 40031);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	dropped = eng.stats.segments_dropped;
	/* an RST past what the server expects: forwarded for it to refuse, parsing goes on */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off + 100, c.s_isn + 1 + c.s_off, RST | ACK, NULL, 0,
		   NULL, 0));
	client_says(&c, line);
	assert_int_equal(eng.stats.lines_removed, ++cut);
	/* another ISN on the live session: the SYN goes on (the server challenge-ACKs it), the flow
	 * stays */
	feed(frame(&c, true, c.c_isn + 7777, 0, SYN, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 1);
	assert_int_equal(eng.stats.flows_created, 1);
	client_says(&c, line);
	assert_int_equal(eng.stats.lines_removed, ++cut);
	/* data without ACK, then data with a bad checksum: dropped, unparsed, unforwarded */
	feed(
	    frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, PSH, line, len, NULL, 0));
	assert_int_equal(fwd.n + back.n, 0);
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	m = frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, ACK | PSH, line, len,
		  NULL, 0);
	rte_pktmbuf_mtod(m, uint8_t *)[rte_pktmbuf_data_len(m) - 4] ^= 0x20;
	feed(m);
	assert_int_equal(fwd.n + back.n, 0);
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	assert_int_equal(eng.stats.lines_removed, cut);
	/* an RST with bytes (never read), a SYN-ACK from the client, an ack of unsent bytes, a bare
	 * URG */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off + 5, c.s_isn + 1 + c.s_off, RST | ACK, "x", 1,
		   NULL, 0));
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, SYN | ACK, line, len,
		   NULL, 0));
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off + 5000, ACK | PSH, line,
		   len, NULL, 0));
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, ACK | 0x20, NULL, 0,
		   NULL, 0));
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	assert_int_equal(eng.stats.lines_removed, cut);
	/* urgent data: the server's stack reads those bytes otherwise (the urgent one out of band)
	 */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, ACK | PSH | 0x20,
		   "RCPTX TO:<bob@receiver.example>\r\n", (uint16_t)(len + 1), NULL, 0));
	assert_int_equal(fwd.n + back.n, 0);
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	client_says(&c, line);
	assert_int_equal(eng.stats.lines_removed, ++cut);
	/* a begun line is held; a resend from before it, and a FIN inside it, change nothing */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, ACK | PSH, line, 17,
		   NULL, 0));
	assert_true(back.n >= 1); /* the custody ack (and our replies the client has not acked) */
	feed(frame(&c, true, c.c_isn + 1 + c.c_off - 2, c.s_isn + 1 + c.s_off, ACK, "\r\n", 2, NULL,
		   0));
	assert_int_equal(payload_bytes(&fwd), 0); /* at most its ack goes on */
	assert_true(back.n >= 1);		  /* the custody ack again */
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	feed(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off, ACK | FIN, line, 1, NULL,
		   0));
	assert_int_equal(payload_bytes(&fwd), 0);
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	feed(frame(&c, true, c.c_isn + 1 + c.c_off + 17, c.s_isn + 1 + c.s_off, ACK | PSH,
		   line + 17, (uint16_t)(len - 17), NULL, 0));
	c.c_off += len;
	assert_int_equal(eng.stats.lines_removed, ++cut);
	assert_int_equal(eng.stats.failopen[GW_FO_SPLIT_LINE], 0);
	/* the server's address from the port the client's SYN came in on: forged, dropped */
	conv_init(&d, 4, 0, 40032);
	m = frame(&d, true, d.c_isn, 0, SYN, NULL, 0, NULL, 0);
	m->port = 0;
	feed(m);
	m = frame(&d, false, d.s_isn, d.c_isn + 1, SYN | ACK, NULL, 0, NULL, 0);
	m->port = 0;
	feed(m);
	assert_int_equal(fwd.n, 0);
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	m = frame(&d, false, d.s_isn, d.c_isn + 1, SYN | ACK, NULL, 0, NULL, 0);
	m->port = 1;
	feed(m);
	assert_int_equal(fwd.n, 1);
}

/*
 * Bytes the server's TCP would drop are dropped here too, never parsed: a
 * segment that starts past the right edge of the window the server offered,
 * and one whose timestamp is older than the latest (PAWS). Parsed, their bytes
 * would stand in for the ones the server reads (a resend of those, past the
 * kept copy, would then go on unchecked).
 */
static void test_bytes_past_the_window_or_with_an_old_timestamp_are_dropped(void **state)
{
	static const char *line = "RCPT TO:<bob@receiver.example>\r\n";
	uint8_t ts[12] = {1, 1, 8, 10}; /* NOP NOP TS(TSval, TSecr) */
	uint16_t len = (uint16_t)strlen(line);
	uint64_t dropped;
	struct conv c;

	(void)state;
	conv_init(&c, 4, 0, 40033);
	ts[7] = 100; /* TSval 100 */
	feed(frame(&c, true, c.c_isn, 0, SYN, NULL, 0, ts, sizeof(ts)));
	feed(frame(&c, false, c.s_isn, c.c_isn + 1, SYN | ACK, NULL, 0, ts, sizeof(ts)));
	ts[7] = 101;
	feed(frame(&c, true, c.c_isn + 1, c.s_isn + 1, ACK, NULL, 0, ts, sizeof(ts)));
	server_says(&c, "220 mx.receiver.example ESMTP\r\n");
	dropped = eng.stats.segments_dropped;
	/* the server offered 64240 bytes (the SYN-ACK's window, unscaled): past them is dropped */
	feed(frame(&c, true, c.c_isn + 1 + 64240, c.s_isn + 1 + c.s_off, ACK | PSH, line, len, ts,
		   sizeof(ts)));
	assert_int_equal(fwd.n + back.n, 0);
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	assert_int_equal(eng.stats.reordered, 0);
	/* an older timestamp than the latest: dropped */
	ts[6] = 0, ts[7] = 50;
	feed(frame(&c, true, c.c_isn + 1, c.s_isn + 1 + c.s_off, ACK | PSH, "EHLO a\r\n", 8, ts,
		   sizeof(ts)));
	assert_int_equal(fwd.n + back.n, 0);
	assert_int_equal(eng.stats.segments_dropped, ++dropped);
	/* a current one goes on */
	ts[7] = 102;
	feed(frame(&c, true, c.c_isn + 1, c.s_isn + 1 + c.s_off, ACK | PSH, "EHLO a\r\n", 8, ts,
		   sizeof(ts)));
	assert_int_equal(fwd.n, 1);
	assert_int_equal(eng.stats.segments_dropped, dropped);
}

/*
 * The sender an RCPT is judged with is the one the server took. A MAIL inside
 * a transaction is refused ("nested MAIL command") and the server keeps the
 * first sender, so must greywall-dp: it once took the second, so a sender with
 * one passed triplet could send to that recipient under any other sender.
 * "RSET x" is refused too and keeps the transaction.
 */
static void test_a_refused_mail_does_not_change_the_sender(void **state)
{
	const char *rcpt = "RCPT TO:<bob@receiver.example>\r\n";
	struct conv c, d;

	(void)state;
	/* ceo -> bob passes after the delay */
	conv_init(&c, 4, 0, 40034);
	conv_open(&c, "MAIL FROM:<ceo@sender.example>\r\n");
	client_says(&c, rcpt);
	assert_int_equal(eng.stats.lines_removed, 1);
	wall_later = 301;
	client_says(&c, "RSET\r\n");
	server_says(&c, "250 2.0.0 Ok\r\n");
	client_says(&c, "MAIL FROM:<ceo@sender.example>\r\n");
	server_says(&c, "250 2.1.0 Ok\r\n");
	client_says(&c, rcpt);
	assert_int_equal(eng.stats.verdict[GW_V_PASS], 1);
	/* alice's transaction: a second MAIL (ceo) is refused, bob is judged as alice's */
	conv_init(&d, 4, 0, 40035);
	conv_open(&d, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&d, "MAIL FROM:<ceo@sender.example>\r\n");
	server_says(&d, "503 5.5.1 Error: nested MAIL command\r\n");
	client_says(&d, "MAIL FROM:<ceo@sender.example>\r\n"); /* twice: still refused */
	server_says(&d, "503 5.5.1 Error: nested MAIL command\r\n");
	client_says(&d, "RSET x\r\n");
	server_says(&d, "501 5.5.4 Syntax: RSET\r\n");
	client_says(&d, rcpt);
	assert_int_equal(eng.stats.lines_removed, 2);
	assert_int_equal(eng.stats.verdict[GW_V_PASS], 1);
	/* two MAILs in one write: the second waits for the first's answer */
	client_says(&d, "RSET\r\n");
	server_says(&d, "250 2.0.0 Ok\r\n");
	client_says(&d, "MAIL FROM:<alice@sender.example>\r\nMAIL FROM:<ceo@sender.example>\r\n");
	assert_int_equal(eng.stats.lines_deferred, 1);
}

/*
 * A client that lost its session comes back on the same port with another ISN
 * while greywall-dp still tracks the old one (its FIN never came): the SYN
 * goes on, and when the server, with no session left, takes it (its SYN-ACK
 * acks the new ISN), the flow starts over with the new connection, whose
 * RCPTs are judged. Kept as it was, the new session's offsets were the old
 * ISN's and it stalled.
 */
static void test_a_new_connection_on_a_live_port_pair_starts_the_flow_over(void **state)
{
	struct conv c;

	(void)state;
	conv_init(&c, 4, 0, 40036);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	client_says(&c, "RCPT TO:<bob@receiver.example>\r\n");
	assert_int_equal(eng.stats.lines_removed, 1);
	c.c_isn += 100000;
	c.s_isn += 200000;
	c.c_off = c.s_off = 0;
	feed(frame(&c, true, c.c_isn, 0, SYN, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 1);
	feed(frame(&c, false, c.s_isn, c.c_isn + 1, SYN | ACK, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 1);
	assert_int_equal(eng.stats.flows_created, 2);
	server_says(&c, "220 mx.receiver.example ESMTP\r\n");
	client_says(&c, "EHLO sender.example\r\n");
	server_says(&c, "250 mx.receiver.example\r\n");
	client_says(&c, "MAIL FROM:<alice@sender.example>\r\n");
	server_says(&c, "250 2.1.0 Ok\r\n");
	client_says(&c, "RCPT TO:<carol@receiver.example>\r\n");
	assert_int_equal(eng.stats.lines_removed, 2);
	assert_int_equal(eng.stats.segments_dropped, 0);
	assert_int_equal(eng.stats.failopen[GW_FO_MIDSTREAM], 0);
}

/* A fresh engine whose flow table holds only n flows. */
static void engine_with_flows(uint32_t n)
{
	uint32_t saved = cfg.conf.max_flows;

	teardown(NULL);
	cfg.conf.max_flows = n;
	assert_int_equal(setup(NULL), 0);
	cfg.conf.max_flows = saved;
}

/*
 * A full flow table evicts a flow nothing depends on (no edits) to make room,
 * and that flow's later segments pass as a pickup's would. A table of flows
 * that all carry edits evicts nothing: the new flow fails open, counted.
 */
/*
 * A full flow table never lets a connection through untracked and never lets
 * a sender evict a live session (its later RCPTs would pass as a pickup):
 * only closed flows and half-open ones (a SYN flood's) make room; otherwise
 * the new SYN is dropped, and the client's TCP sends it again.
 */
static void test_full_flow_table_evicts_only_closed_or_half_open_flows(void **state)
{
	struct conv c[16], late;
	unsigned k;

	(void)state;
	/* every flow has edits: the late SYN is dropped, nothing evicted */
	engine_with_flows(16);
	for (k = 0; k < 16; k++) {
		conv_init(&c[k], 4, 0, (uint16_t)(41000 + k));
		conv_open(&c[k], "MAIL FROM:<alice@sender.example>\r\n");
		client_says(&c[k], "RCPT TO:<bob@receiver.example>\r\n");
		assert_int_equal(back.n, 1); /* greylisted: the flow now has edits */
	}
	conv_init(&late, 4, 0, 41100);
	feed(frame(&late, true, late.c_isn, 0, SYN, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 0);
	assert_int_equal(eng.stats.syns_dropped, 1);
	assert_int_equal(eng.stats.flows_evicted, 0);

	/* every flow is a session the client has spoken in: still nothing evicted */
	engine_with_flows(16);
	for (k = 0; k < 16; k++) {
		conv_init(&c[k], 4, 0, (uint16_t)(42000 + k));
		conv_open(&c[k], "MAIL FROM:<alice@sender.example>\r\n");
	}
	conv_init(&late, 4, 0, 42100);
	feed(frame(&late, true, late.c_isn, 0, SYN, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 0);
	assert_int_equal(eng.stats.syns_dropped, 1);
	/* one session closes: its flow makes room for the newcomer, which is judged */
	feed(frame(&c[3], true, c[3].c_isn + 1 + c[3].c_off, c[3].s_isn + 1 + c[3].s_off, FIN | ACK,
		   NULL, 0, NULL, 0));
	feed(frame(&c[3], false, c[3].s_isn + 1 + c[3].s_off, c[3].c_isn + 2 + c[3].c_off,
		   FIN | ACK, NULL, 0, NULL, 0));
	conv_open(&late, "MAIL FROM:<alice@sender.example>\r\n");
	assert_int_equal(eng.stats.flows_evicted, 1);
	client_says(&late, "RCPT TO:<bob@receiver.example>\r\n");
	assert_int_equal(eng.stats.lines_removed, 1); /* the newcomer is tracked and judged */
	/* every live session is still tracked: its RCPT is judged, not picked up */
	for (k = 0; k < 16; k++) {
		if (k == 3)
			continue;
		client_says(&c[k], "RCPT TO:<carol@receiver.example>\r\n");
		assert_int_equal(back.n, 1);
	}
	assert_int_equal(eng.stats.failopen[GW_FO_MIDSTREAM], 0);

	/*
	 * sessions whose handshake the client finished and that got their
	 * greeting, but where the client has not spoken yet: not evicted either
	 * (a sender could otherwise evict its own silent session and send its
	 * RCPTs as a mid-stream pickup)
	 */
	engine_with_flows(16);
	for (k = 0; k < 16; k++) {
		conv_init(&c[k], 4, 0, (uint16_t)(44000 + k));
		feed(frame(&c[k], true, c[k].c_isn, 0, SYN, NULL, 0, NULL, 0));
		feed(frame(&c[k], false, c[k].s_isn, c[k].c_isn + 1, SYN | ACK, NULL, 0, NULL, 0));
		feed(frame(&c[k], true, c[k].c_isn + 1, c[k].s_isn + 1, ACK, NULL, 0, NULL, 0));
		server_says(&c[k], "220 mx.receiver.example ESMTP\r\n");
	}
	conv_init(&late, 4, 0, 44100);
	feed(frame(&late, true, late.c_isn, 0, SYN, NULL, 0, NULL, 0));
	assert_int_equal(fwd.n, 0);
	assert_int_equal(eng.stats.flows_evicted, 0);
	assert_int_equal(eng.stats.syns_dropped, 1);
	client_says(&c[5], "EHLO sender.example\r\n");
	server_says(&c[5], "250 mx.receiver.example\r\n");
	client_says(&c[5], "MAIL FROM:<alice@sender.example>\r\n");
	server_says(&c[5], "250 2.1.0 Ok\r\n");
	client_says(&c[5], "RCPT TO:<bob@receiver.example>\r\n");
	assert_int_equal(eng.stats.lines_removed, 1);
	assert_int_equal(eng.stats.failopen[GW_FO_MIDSTREAM], 0);

	/* half-open flows (a SYN flood's) are evicted for a new one */
	engine_with_flows(16);
	for (k = 0; k < 16; k++) {
		conv_init(&c[k], 4, 0, (uint16_t)(43000 + k));
		feed(frame(&c[k], true, c[k].c_isn, 0, SYN, NULL, 0, NULL, 0));
	}
	conv_init(&late, 4, 0, 43100);
	conv_open(&late, "MAIL FROM:<alice@sender.example>\r\n");
	assert_int_equal(eng.stats.flows_evicted, 1);
	assert_int_equal(eng.stats.syns_dropped, 0);
}

static void test_fail_open_cases_are_counted(void **state)
{
	struct conv c, o;
	struct rte_mbuf *m;

	(void)state;
	/* mid-stream pickup: no SYN seen */
	conv_init(&c, 4, 0, 40009);
	m = frame(&c, true, 5000, 6000, ACK | PSH, "RCPT TO:<x@y>\r\n", 15, NULL, 0);
	feed(m);
	assert_int_equal(fwd.n, 1);
	assert_int_equal(eng.stats.failopen[GW_FO_MIDSTREAM], 1);

	/*
	 * The fifth gap finds the flow's reorder ranges spent: that segment is
	 * refused (only its ack goes on), not failed open, and parsing goes on.
	 */
	conv_init(&o, 4, 0, 40011);
	conv_open(&o, "MAIL FROM:<alice@sender.example>\r\n");
	for (int k = 0; k < GW_OOO_RANGES; k++) {
		o.c_off += 100;
		client_says(&o, "NOOP\r\n");
		assert_int_equal(fwd.n, 1); /* the bare ack */
	}
	o.c_off += 100;
	client_says(&o, "RCPT TO:<bob@receiver.example>\r\n");
	{
		struct want w = {o.c_isn + 1 +
				     (uint32_t)strlen("MAIL FROM:<alice@sender.example>\r\n") +
				     (uint32_t)strlen("EHLO sender.example\r\n"),
				 o.s_isn + 1 + o.s_off, ACK, ""};

		expect(&fwd, &w, 1, "the refused segment's ack, alone");
	}
	assert_int_equal(back.n, 0);
	assert_int_equal(eng.stats.reordered, GW_OOO_RANGES);
	assert_int_equal(eng.stats.segments_refused, 1);
	assert_int_equal(eng.stats.failopen[GW_FO_OUT_OF_ORDER], 0);
}

/* Every fail-open reason still at zero. */
static void assert_no_fail_open(void)
{
	for (int k = 0; k < GW_FO_COUNT; k++)
		if (eng.stats.failopen[k])
			fail_msg("fail-open reason %d counted %lu", k, eng.stats.failopen[k]);
}

/*
 * A client segment at stream offset off carrying text, acking the server's
 * bytes plus the injected bytes it has read (injected).
 */
static void client_sends_at(struct conv *c, uint32_t off, const char *text, uint32_t injected)
{
	feed(frame(c, true, c->c_isn + 1 + off, c->s_isn + 1 + c->s_off + injected, ACK | PSH, text,
		   (uint16_t)strlen(text), NULL, 0));
}

/*
 * 100 unseen recipients, one at a time, each answered by greywall's 450 and
 * acked by the client: far more cuts than the edit list holds, and every one
 * is judged because acked edits fold away. Then an exempt recipient and DATA
 * reach the server where the first RCPT began, and the server's replies reach
 * the client shifted past all 100 replies.
 */
static void test_hundred_greylisted_rcpts_one_at_a_time_all_cut(void **state)
{
	struct conv c;
	uint32_t first_off, injected = 0;
	char rcpt[64], reply[128];
	const char *pm = "RCPT TO:<postmaster@receiver.example>\r\n";

	(void)state;
	conv_init(&c, 4, 0, 40030);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	first_off = c.c_off;
	for (int i = 0; i < 100; i++) {
		snprintf(rcpt, sizeof(rcpt), "RCPT TO:<u%d@receiver.example>\r\n", i);
		snprintf(reply, sizeof(reply),
			 "450 4.7.1 <u%d@receiver.example>: Recipient address rejected: "
			 "Greylisted, retry in 300 seconds\r\n",
			 i);
		client_sends_at(&c, c.c_off, rcpt, injected);
		c.c_off += (uint32_t)strlen(rcpt);
		{
			struct want w = {c.s_isn + 1 + c.s_off + injected, c.c_isn + 1 + c.c_off,
					 ACK | PSH, reply};

			expect(&fwd, NULL, 0, "a greylisted RCPT to the server");
			expect(&back, &w, 1, "its 450");
		}
		injected += (uint32_t)strlen(reply);
	}
	client_sends_at(&c, c.c_off, pm, injected);
	{
		struct want w = {c.c_isn + 1 + first_off, c.s_isn + 1 + c.s_off, ACK | PSH, pm};

		expect(&fwd, &w, 1, "the exempt RCPT where the first one began");
	}
	c.c_off += (uint32_t)strlen(pm);
	feed(frame(&c, false, c.s_isn + 1 + c.s_off, c.c_isn + 1 + first_off + (uint32_t)strlen(pm),
		   ACK | PSH, "250 2.1.5 Ok\r\n", 14, NULL, 0));
	{
		struct want w = {c.s_isn + 1 + c.s_off + injected, c.c_isn + 1 + c.c_off, ACK | PSH,
				 "250 2.1.5 Ok\r\n"};

		expect(&fwd, &w, 1, "the server's 250 past every injected reply");
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 100);
	assert_int_equal(eng.stats.lines_removed, 100);
	assert_int_equal(eng.stats.replies_injected, 100);
	assert_true(eng.stats.edits_folded >= 100 - GW_SEQMAP_MAX);
	assert_int_equal(eng.stats.lines_deferred, 0);
	assert_no_fail_open();
}

/*
 * 40 unseen RCPTs and DATA pipelined in one segment: more cuts than there is
 * edit room for at once. The first GW_SEQMAP_MAX are cut and answered; the
 * line after them is deferred, and nothing from it on reaches the server.
 * Once the client has acked those replies it resends from the deferred line,
 * and the next batch is judged, until DATA reaches the server alone. Every
 * RCPT is answered with 450, in order; none reaches the server.
 */
static void test_pipelined_rcpts_past_the_edit_room_wait_and_are_all_cut(void **state)
{
	static char batch[64 * 41];
	struct conv c;
	uint32_t first_off, injected = 0, sent_upto, line_off[41];
	int next_reply = 0, rounds = 0;

	(void)state;
	conv_init(&c, 4, 0, 40031);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	first_off = c.c_off;
	batch[0] = 0;
	for (int i = 0; i < 40; i++) {
		line_off[i] = first_off + (uint32_t)strlen(batch);
		snprintf(batch + strlen(batch), sizeof(batch) - strlen(batch),
			 "RCPT TO:<p%d@receiver.example>\r\n", i);
	}
	line_off[40] = first_off + (uint32_t)strlen(batch);
	strcat(batch, "DATA\r\n");
	sent_upto = first_off;
	while (rounds++ < 10) {
		uint32_t deferred_at;

		/* the client (re)sends everything from where the server side acked it */
		client_sends_at(&c, sent_upto, batch + (sent_upto - first_off), injected);
		for (unsigned k = 0; k < back.n; k++) {
			char want[128];
			struct want w;

			snprintf(want, sizeof(want),
				 "450 4.7.1 <p%d@receiver.example>: Recipient address rejected: "
				 "Greylisted, retry in 300 seconds\r\n",
				 next_reply);
			w = (struct want){c.s_isn + 1 + c.s_off + injected,
					  c.c_isn + 1 + line_off[next_reply + 1], ACK | PSH, want};
			check_frame(back.m[k], &w, "a 450 in command order");
			injected += (uint32_t)strlen(want);
			next_reply++;
		}
		if (next_reply == 40)
			break;
		/* deferred: at most a bare ack, nothing of the lines reaches the server */
		deferred_at = line_off[next_reply];
		for (unsigned k = 0; k < fwd.n; k++) {
			struct want w = {c.c_isn + 1 + first_off, c.s_isn + 1 + c.s_off, ACK, ""};

			check_frame(fwd.m[k], &w, "a bare ack while the rest waits");
		}
		sent_upto = deferred_at;
	}
	assert_int_equal(next_reply, 40);
	{
		struct want w = {c.c_isn + 1 + first_off, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "DATA\r\n"};

		expect(&fwd, &w, 1, "DATA alone, where the first RCPT began");
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 40);
	assert_int_equal(eng.stats.lines_removed, 40);
	assert_true(eng.stats.lines_deferred >= 2);
	assert_true(rounds >= 3);
	assert_no_fail_open();
}

/*
 * An RCPT written in three pieces, the first resent by the client's timer:
 * each piece is acked for the server as it is held (custody), so the client
 * need not wait; the completed line (an exempt one) goes whole. That frame is
 * lost on the way to the server, and the client, which had our ack for the
 * first two pieces, resends only the third: the server gets the whole line
 * again from the kept copy, first.
 */
static void test_split_line_in_custody_is_resent_from_the_kept_copy(void **state)
{
	struct conv c;
	uint32_t rcpt_off;
	const char *line = "RCPT TO:<postmaster@receiver.example>\r\n";

	(void)state;
	conv_init(&c, 6, 0, 40032);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	rcpt_off = c.c_off;
	client_says(&c, "RCPT TO:<post");
	client_says(&c, "master@rec");
	{
		struct want a = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK, ""};

		expect(&back, &a, 1, "custody ack for both pieces");
	}
	client_says(&c, "eiver.example>\r\n");
	{
		struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK | PSH, line};

		expect(&fwd, &w, 1, "the whole line to the server");
		expect(&back, NULL, 0, "nothing toward the client");
	}
	/* lost: the client resends its last piece alone, the rest it had our ack for */
	feed(frame(&c, true, c.c_isn + 1 + rcpt_off + 23, c.s_isn + 1 + c.s_off, ACK | PSH,
		   "eiver.example>\r\n", 16, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK | PSH, line};

		expect(&fwd, &w, 1, "the whole line again, from the kept copy");
	}
	server_says(&c, "250 2.1.5 Ok\r\n");
	/* once the server has it, a resend goes as an ordinary retransmission */
	feed(frame(&c, true, c.c_isn + 1 + rcpt_off + 23, c.s_isn + 1 + c.s_off, ACK | PSH,
		   "eiver.example>\r\n", 16, NULL, 0));
	{
		struct want w = {c.c_isn + 1 + rcpt_off + 23, c.s_isn + 1 + c.s_off, ACK | PSH,
				 "eiver.example>\r\n"};

		expect(&fwd, &w, 1, "a plain retransmission");
	}
	assert_int_equal(eng.stats.custody_acks, 2);
	assert_int_equal(eng.stats.custody_resent, 1);
	assert_int_equal(eng.stats.verdict[GW_V_PASS_EXEMPT], 1);
	assert_no_fail_open();
}

/*
 * A 1500-octet RCPT line (a 600-octet +extension on bob, then an ORCPT=
 * parameter), written in two segments: held in custody, judged by bob's key
 * and cut whole; the reply shortens the long name rather than losing the
 * verdict. Postfix takes lines up to 2048 octets, so greywall does too.
 */
static void test_long_rcpt_line_and_address_are_judged(void **state)
{
	static char line[1600];
	struct conv c;
	uint32_t rcpt_off;
	int n;

	(void)state;
	conv_init(&c, 4, 0, 40033);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	rcpt_off = c.c_off;
	n = snprintf(line, sizeof(line), "RCPT TO:<bob+");
	memset(line + n, 'x', 600);
	n += 600;
	n += snprintf(line + n, sizeof(line) - (size_t)n, "@receiver.example> ORCPT=rfc822;");
	memset(line + n, 'y', 1500 - 2 - (size_t)n);
	n = 1500 - 2;
	memcpy(line + n, "\r\n", 3);
	{
		char first[801];

		memcpy(first, line, 800);
		first[800] = 0;
		client_says(&c, first);
		assert_int_equal(back.n, 1); /* the custody ack */
		client_says(&c, line + 800);
	}
	expect(&fwd, NULL, 0, "the long RCPT to the server");
	assert_int_equal(back.n, 1);
	{
		struct gw_pkt p = {0};
		uint8_t *d = rte_pktmbuf_mtod(back.m[0], uint8_t *);
		const char *text;

		assert_int_equal(gw_parse_frame(d, rte_pktmbuf_data_len(back.m[0]), &p),
				 GW_PKT_TCP);
		text = (const char *)d + p.payload_off;
		assert_memory_equal(text, "450 4.7.1 <bob+xxx", 18);
		assert_true(p.payload_len <= GW_REPLY_MAX);
		assert_memory_equal(text + p.payload_len - 2, "\r\n", 2);
		assert_int_equal(rte_be_to_cpu_32(p.tcp->recv_ack), c.c_isn + 1 + rcpt_off + 1500);
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
	assert_int_equal(eng.stats.lines_removed, 1);
	assert_no_fail_open();
	/* the key is bob's: plain bob@, after the delay, is the retry of that triplet and passes */
	{
		struct gw_triplet trip = {0};
		struct gw_decision d;
		static const u8 any[16];

		assert_int_equal(gw_decide_rcpt(&eng.policy, cfg.lists, 4, c.client,
						(const u8 *)"alice@sender.example", 20,
						(const u8 *)"bob@receiver.example", 20, NOW + 301,
						&trip, &d),
				 0);
		(void)any;
		assert_int_equal(d.verdict, GW_V_PASS);
	}
}

/*
 * Once the server has reset the connection, nothing is cut from it or
 * injected into it: an RCPT that comes after the RST goes as it is (the
 * server's stack answers it with another RST) and no 450 is made up.
 */
static void test_reset_flow_is_never_edited_again(void **state)
{
	struct conv c;
	const char *rcpt = "RCPT TO:<bob@receiver.example>\r\n";

	(void)state;
	conv_init(&c, 4, 0, 40034);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	feed(frame(&c, false, c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, RST | ACK, NULL, 0,
		   NULL, 0));
	assert_int_equal(fwd.n, 1);
	client_says(&c, rcpt);
	{
		struct want w = {c.c_isn + 1 + c.c_off - (uint32_t)strlen(rcpt),
				 c.s_isn + 1 + c.s_off, ACK | PSH, rcpt};

		expect(&fwd, &w, 1, "the RCPT after the reset, as it came");
		expect(&back, NULL, 0, "nothing injected");
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 0);
	assert_int_equal(eng.stats.lines_removed, 0);
}

/*
 * No downgrade. STARTTLS from an unknown network gets the 421; the client
 * (opportunistic TLS) comes back in plaintext at once: its greeting is cut and
 * answered with the same 421, so no MAIL or RCPT follows in cleartext. Another
 * HELO name from that network is not affected. After the delay the greeting
 * passes and so does STARTTLS: the mail goes over TLS.
 */
static void test_plaintext_fallback_refused_while_tls_is_pending(void **state)
{
	struct conv c, d, o, r;
	const char *tls421 = "421 4.7.0 Greylisted, try again later\r\n";

	(void)state;
	conv_init(&c, 4, 0, 40035);
	conv_open(&c, NULL);
	client_says(&c, "STARTTLS\r\n");
	assert_int_equal(back.n, 2); /* the 421 and the reset */
	/* the plaintext fallback: a new connection, its EHLO refused */
	conv_init(&d, 4, 0, 40036);
	feed(frame(&d, true, d.c_isn, 0, SYN, NULL, 0, NULL, 0));
	feed(frame(&d, false, d.s_isn, d.c_isn + 1, SYN | ACK, NULL, 0, NULL, 0));
	server_says(&d, "220 mx.receiver.example ESMTP\r\n");
	client_says(&d, "EHLO sender.example\r\n");
	{
		struct want w = {d.s_isn + 1 + d.s_off, d.c_isn + 1 + d.c_off, ACK | PSH, tls421};

		expect(&fwd, NULL, 0, "the greeting to the server");
		expect(&back, &w, 1, "the 421 for the greeting");
	}
	assert_int_equal(eng.stats.tls_pending_refused, 1);
	/* another host of that network, under its own name, is not held up */
	conv_init(&o, 4, 0, 40037);
	feed(frame(&o, true, o.c_isn, 0, SYN, NULL, 0, NULL, 0));
	feed(frame(&o, false, o.s_isn, o.c_isn + 1, SYN | ACK, NULL, 0, NULL, 0));
	server_says(&o, "220 mx.receiver.example ESMTP\r\n");
	client_says(&o, "EHLO other.example\r\n");
	assert_int_equal(fwd.n, 1);
	assert_int_equal(back.n, 0);
	/* after the delay: the greeting passes, and STARTTLS does too */
	wall_later = 301;
	conv_init(&r, 4, 0, 40038);
	conv_open(&r, NULL);
	assert_int_equal(eng.stats.tls_pending_refused, 1);
	client_says(&r, "STARTTLS\r\n");
	{
		struct want w = {r.c_isn + 1 + r.c_off - 10, r.s_isn + 1 + r.s_off, ACK | PSH,
				 "STARTTLS\r\n"};

		expect(&fwd, &w, 1, "STARTTLS to the server");
		expect(&back, NULL, 0, "nothing injected");
	}
	assert_int_equal(eng.stats.verdict[GW_V_PASS], 1);
}

/*
 * Postfix acts on the first 2048 octets of a longer command line, whatever
 * its length. A 3000-octet RCPT in three segments is judged on those octets
 * when it outgrows them: greylisted, it cannot be cut (its end is unknown),
 * so it is refused: nothing of it reaches the server and no more of the flow
 * is taken. After the delay the same line, on a new connection, passes whole.
 */
static void test_rcpt_line_longer_than_max_line_is_judged(void **state)
{
	static char line[3001];
	struct conv c, r;
	uint32_t rcpt_off;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "RCPT TO:<bob@receiver.example> ORCPT=rfc822;");
	memset(line + n, 'x', 3000 - 2 - (size_t)n);
	memcpy(line + 2998, "\r\n", 3);
	conv_init(&c, 4, 0, 40039);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	rcpt_off = c.c_off;
	for (int k = 0; k < 3; k++) {
		char part[1001];

		memcpy(part, line + 1000 * k, 1000);
		part[1000] = 0;
		client_says(&c, part);
		for (unsigned i = 0; i < fwd.n; i++) {
			struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK, ""};

			check_frame(fwd.m[i], &w, "only a bare ack reaches the server");
		}
	}
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
	assert_int_equal(eng.stats.long_lines_refused, 1);
	assert_int_equal(eng.stats.lines_removed, 0);
	/* a resend of the refused tail is refused again, not decided again */
	feed(frame(&c, true, c.c_isn + 1 + rcpt_off + 2000, c.s_isn + 1 + c.s_off, ACK | PSH,
		   line + 2000, 1000, NULL, 0));
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
	for (unsigned i = 0; i < fwd.n; i++) {
		struct want w = {c.c_isn + 1 + rcpt_off, c.s_isn + 1 + c.s_off, ACK, ""};

		check_frame(fwd.m[i], &w, "the resend: a bare ack");
	}
	assert_int_equal(eng.stats.segments_refused, 1);
	/* the retry after the delay: passed, the whole line goes to the server */
	wall_later = 301;
	conv_init(&r, 4, 0, 40040);
	conv_open(&r, "MAIL FROM:<alice@sender.example>\r\n");
	rcpt_off = r.c_off;
	{
		uint32_t got = 0;

		for (int k = 0; k < 3; k++) {
			char part[1001];

			memcpy(part, line + 1000 * k, 1000);
			part[1000] = 0;
			client_says(&r, part);
			for (unsigned i = 0; i < fwd.n; i++) {
				struct gw_pkt p = {0};
				uint8_t *d = rte_pktmbuf_mtod(fwd.m[i], uint8_t *);

				assert_int_equal(
				    gw_parse_frame(d, rte_pktmbuf_data_len(fwd.m[i]), &p),
				    GW_PKT_TCP);
				if (!p.payload_len)
					continue;
				assert_int_equal(rte_be_to_cpu_32(p.tcp->sent_seq),
						 r.c_isn + 1 + rcpt_off + got);
				assert_memory_equal(d + p.payload_off, line + got, p.payload_len);
				got += p.payload_len;
			}
		}
		assert_int_equal(got, 3000);
	}
	assert_int_equal(eng.stats.verdict[GW_V_PASS], 1);
	assert_int_equal(eng.stats.long_lines_refused, 1);
}

/*
 * An IPv6 destination-options header in front of TCP (a sender may put one
 * there) does not hide an RCPT: it is walked, and the line cut like any other.
 */
static struct rte_mbuf *with_dest_options(struct rte_mbuf *m, uint16_t l2)
{
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, 8), *base;
	struct rte_ipv6_hdr *ip6;
	uint16_t total;
	static const uint8_t opts[8] = {IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0}; /* PadN */

	assert_non_null(d);
	base = rte_pktmbuf_mtod(m, uint8_t *);
	total = rte_pktmbuf_data_len(m);
	ip6 = (struct rte_ipv6_hdr *)(base + l2);
	memmove(base + l2 + 48, base + l2 + 40, total - 8 - l2 - 40);
	memcpy(base + l2 + 40, opts, 8);
	ip6->proto = 60;
	ip6->payload_len = rte_cpu_to_be_16(rte_be_to_cpu_16(ip6->payload_len) + 8);
	return m; /* the TCP checksum's pseudo-header is unchanged: same addresses, same TCP */
}

static void test_ipv6_extension_headers_and_tcp_fragments(void **state)
{
	struct conv c;
	const char *rcpt = "RCPT TO:<bob@receiver.example>\r\n";
	const char *reply = GREY("bob@receiver.example", 300);

	(void)state;
	conv_init(&c, 6, 0, 40041);
	conv_open(&c, "MAIL FROM:<alice@sender.example>\r\n");
	/*
	 * behind an extension header: dropped, never parsed (the server's stack may
	 * drop it for a reason we cannot see); the same RCPT without one is cut
	 */
	feed(with_dest_options(frame(&c, true, c.c_isn + 1 + c.c_off, c.s_isn + 1 + c.s_off,
				     ACK | PSH, rcpt, (uint16_t)strlen(rcpt), NULL, 0),
			       14));
	expect(&fwd, NULL, 0, "the RCPT behind an extension header, to the server");
	expect(&back, NULL, 0, "nothing back");
	assert_int_equal(eng.stats.segments_dropped, 1);
	client_says(&c, rcpt);
	{
		struct want w = {c.s_isn + 1 + c.s_off, c.c_isn + 1 + c.c_off, ACK | PSH, reply};

		expect(&fwd, NULL, 0, "the RCPT, to the server");
		expect(&back, &w, 1, "its 450");
	}
	/* an IPv4 fragment of TCP to the protected server is dropped, not passed */
	{
		struct conv f;
		struct rte_mbuf *m;
		struct rte_ipv4_hdr *ip;

		conv_init(&f, 4, 0, 40042);
		m = frame(&f, true, 5000, 6000, ACK | PSH, rcpt, (uint16_t)strlen(rcpt), NULL, 0);
		ip = (struct rte_ipv4_hdr *)(rte_pktmbuf_mtod(m, uint8_t *) + 14);
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		feed(m);
		expect(&fwd, NULL, 0, "a TCP fragment to the protected server");
	}
	assert_int_equal(eng.stats.fragments_dropped, 1);
	assert_int_equal(eng.stats.verdict[GW_V_GREYLIST], 1);
	assert_no_fail_open();
}

/*
 * greywall-dp started with only -c FILE runs by FILE: the timers greywalld's
 * sweeper expires its table by, the networks, the tables, the lists, the
 * reply texts and its control socket. Options override single keys.
 */
static void test_options_read_greywall_conf(void **state)
{
	static struct gw_dp_config dp;
	static struct gw_conf daemon;
	char path[64], err[512];
	char *only_conf[] = {"greywall-dp", "-c", path, NULL};
	char *conf_and_flags[] = {"greywall-dp", "--delay",	"7",
				  "-c",		 path,		"--smtp-port",
				  "2525",	 "--reply-tls", "421 4.7.0 Come back later",
				  NULL};
	u8 v4[16] = {192, 0, 2, 9}, other[16] = {192, 0, 3, 9};
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/gw-dp-conf-%d", (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
		"delay = 123\nretry_window = 4000\nmax_age = 86400\nv4_prefix = 28\n"
		"protect = 192.0.2.0/24, 2001:db8::/32\nsmtp_ports = 25 587\n"
		"table_path = %s\nawl_path = %s\ncapacity = 65536\nmax_flows = 64\n"
		"flow_idle = 30\nmtu = 1400\npolicy_defer_text = Wait %%t seconds\n"
		"dp_control_socket = /tmp/gw-dp-conf.sock\nverp_fold = no\n",
		table_path, awl_path);
	fclose(f);

	gw_dp_parse_args(&dp, 3, only_conf);
	assert_int_equal(dp.conf.policy.delay, 123);
	assert_int_equal(dp.conf.policy.retry_window, 4000);
	assert_int_equal(dp.conf.policy.v4_prefix, 28);
	assert_false(dp.conf.policy.norm.verp_fold);
	assert_int_equal(dp.conf.nprotect, 2);
	assert_true(gw_prefix_match(&dp.conf.protect[0], 4, v4));
	assert_false(gw_prefix_match(&dp.conf.protect[0], 4, other));
	assert_int_equal(dp.conf.nsmtp_ports, 2);
	assert_int_equal(dp.conf.smtp_ports[1], 587);
	assert_string_equal(dp.conf.table_path, table_path);
	assert_int_equal(dp.conf.capacity, 65536);
	assert_int_equal(dp.conf.max_flows, 64);
	assert_int_equal(dp.conf.flow_idle, 30);
	assert_int_equal(dp.conf.mtu, 1400);
	assert_string_equal(dp.conf.dp_control_socket, "/tmp/gw-dp-conf.sock");
	assert_string_equal(dp.reply_greylist,
			    "450 4.7.1 <%r>: Recipient address rejected: Wait %t seconds");
	assert_string_equal(dp.reply_tls, GW_REPLY_TLS_DEFAULT);
	/* the sweeper reads the same file: the same policy, to the byte */
	gw_conf_defaults(&daemon);
	if (gw_conf_load(&daemon, path, err, sizeof(err)))
		fail_msg("%s", err);
	assert_memory_equal(&daemon.policy, &dp.conf.policy, sizeof(daemon.policy));
	gw_lists_free(dp.lists);

	/* options win over the file, wherever -c stands; what they do not name stays */
	gw_dp_parse_args(&dp, 9, conf_and_flags);
	assert_int_equal(dp.conf.policy.delay, 7);
	assert_int_equal(dp.conf.policy.v4_prefix, 28);
	assert_int_equal(dp.conf.nsmtp_ports, 1);
	assert_int_equal(dp.conf.smtp_ports[0], 2525);
	assert_string_equal(dp.reply_tls, "421 4.7.0 Come back later");
	gw_lists_free(dp.lists);
	unlink(path);
}

int main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = {argv[0],		"--no-huge",   "-m",	"128",
		       "--no-pci",	"--log-level", "error", "--no-telemetry",
		       "--file-prefix", prefix,	       NULL};
	char *args[] = {"test",	    "--protect",  "198.18.0.0/15", "--protect",
			"fd00::/8", "--table",	  table_path,	   "--awl",
			awl_path,   "--capacity", "4096",	   "--max-flows",
			"64",	    NULL};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_non_smtp_passthrough_byte_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_single_rcpt_greylisted, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_log_verdicts_wait_in_the_lcore_ring_never_on_stdout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retransmitted_rcpt_dropped_and_reply_resent, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ack_inside_injected_bytes_resends_the_rest, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined_mixed_verdicts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_all_rcpts_greylisted_with_data_pipelined, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sack_edges_translated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bdat_body_with_rcpt_text_untouched, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_and_qinq_greylisted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_starttls_from_unknown_network_gets_421_and_a_reset,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_closed_flow_expires_and_gives_back_its_replies,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split_rcpt_held_and_greylisted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split_mail_forwarded_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_split_to_fit_the_mtu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_order_rcpt_held_until_the_gap_fills, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_overlap_first_copy_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resend_with_other_bytes_gets_the_first_copy, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_body_resend_gets_the_first_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_segments_the_server_would_not_take_change_nothing,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_bytes_past_the_window_or_with_an_old_timestamp_are_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_refused_mail_does_not_change_the_sender, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_new_connection_on_a_live_port_pair_starts_the_flow_over, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_full_flow_table_evicts_only_closed_or_half_open_flows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_open_cases_are_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hundred_greylisted_rcpts_one_at_a_time_all_cut,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_pipelined_rcpts_past_the_edit_room_wait_and_are_all_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split_line_in_custody_is_resent_from_the_kept_copy,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_rcpt_line_and_address_are_judged, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reset_flow_is_never_edited_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plaintext_fallback_refused_while_tls_is_pending,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rcpt_line_longer_than_max_line_is_judged, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_extension_headers_and_tcp_fragments, setup,
					    teardown),
	    cmocka_unit_test(test_options_read_greywall_conf),
	};

	(void)argc;
	snprintf(prefix, sizeof(prefix), "gwtest%d", (int)getpid());
	snprintf(table_path, sizeof(table_path), "/dev/shm/gw-pio-%d-t", (int)getpid());
	snprintf(awl_path, sizeof(awl_path), "/dev/shm/gw-pio-%d-a", (int)getpid());
	if (rte_eal_init(10, eal) < 0)
		return 1;
	pool = rte_pktmbuf_pool_create("test_mbufs", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	gw_dp_parse_args(&cfg, 13, args);
	cfg.conf.policy.awl_clients = 0;
	{
		char runtime[PATH_MAX];
		int rc = cmocka_run_group_tests_name("dataplane_engine", tests, NULL, NULL);

		snprintf(runtime, sizeof(runtime), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		gw_eal_remove_runtime_dir(runtime);
		return rc;
	}
}
