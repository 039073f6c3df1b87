// SPDX-License-Identifier: BSD-2-Clause
/*
 * Packet-in/packet-out cases for the relay filter through BPF_PROG_TEST_RUN,
 * in the manner of the Katran and Cilium tests: each client segment goes
 * through greywall_xdp, each server segment through greywall_tc_egress, and
 * the frames that come out are compared with frames this file builds on its
 * own, checksums included. The reply texts come from the user-space renderer
 * (lib/reply.c), not from the BPF code under test.
 *
 * Usage: test_relay OBJECT
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "greywall/relay.h"
#include "greywall/lists.h"
#include "greywall/relay_defaults.h"
#include "greywall/reply.h"
#include "tcp_frame.h"

static int failures, checks;
static int xdp_fd, tc_fd, config_fd, stats_fd, clients_v4_fd;
static struct gw_relay_config cfg;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		checks++;                                                                          \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);                     \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* The IP header checksum (IPv4) and the TCP checksum of a frame verify. */
static int frame_csums_ok(const struct frame *f)
{
	u32 l3, l4, tcp_len, sum;
	const u8 *ip;
	u8 ph[40];
	int v6;

	frame_offsets(f, &l3, &l4, &v6);
	ip = f->b + l3;
	if (v6) {
		tcp_len = (u32)(ip[4] << 8 | ip[5]);
		memcpy(ph, ip + 8, 32);
		memset(ph + 32, 0, 8);
		put32(ph + 32, tcp_len);
		ph[39] = 6;
		sum = csum_add(0, ph, 40);
	} else {
		if (csum_fold(csum_add(0, ip, 20)) != 0)
			return 0;
		tcp_len = (u32)(ip[2] << 8 | ip[3]) - (l4 - l3);
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = 6;
		put16(ph + 10, (u16)tcp_len);
		sum = csum_add(0, ph, 12);
	}
	return csum_fold(csum_add(sum, f->b + l4, tcp_len)) == 0;
}

/* A 32-bit field at off bytes into the frame's TCP header. */
static u32 tcp_u32(const struct frame *f, u32 off)
{
	u32 l3, l4, v;
	int v6;

	frame_offsets(f, &l3, &l4, &v6);
	memcpy(&v, f->b + l4 + off, 4);
	return ntohl(v);
}

static int run_prog(int fd, const struct frame *in, struct frame *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = in->len,
		    .data_out = out->b, .data_size_out = sizeof(out->b), .repeat = 1);
	int err = bpf_prog_test_run_opts(fd, &o);

	if (err) {
		fprintf(stderr, "  test_run: %s\n", strerror(-err));
		return -1;
	}
	out->len = o.data_size_out;
	return (int)o.retval;
}

static u64 stat_sum(u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	u64 vals[ncpu > 0 ? ncpu : 1], sum = 0;
	int i;

	if (ncpu <= 0 || bpf_map_lookup_elem(stats_fd, &idx, vals))
		return 0;
	for (i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* The clock the filter reads, moved so tests need not wait out the delay. */
static void set_clock_offset(s64 offset_ns)
{
	u32 zero = 0;

	cfg.clock_offset_ns = offset_ns;
	if (bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY))
		fprintf(stderr, "  config update failed\n");
}

/* One TCP connection; the seq numbers each side has sent so far (their view). */
struct session {
	struct endpoint client, server;
	struct frame_shape shape;
	u32 cseq, sseq;
	const char *name;
};

static void session_init(struct session *s, const char *name, u32 client_ip, u16 port)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	smtp_endpoints(&s->client, &s->server, client_ip, port);
	s->cseq = 1000;
	s->sseq = 500000;
}

/* An IPv6 session from fd00:0:0:<net>::<host> to fd00::2, optionally VLAN-tagged. */
static void session_init6(struct session *s, const char *name, u16 net, u16 host, u16 port,
			  u16 vlan)
{
	static const u8 server6[16] = {0xfd, [15] = 2};

	session_init(s, name, 0, port);
	s->shape.v6 = 1;
	s->shape.vlan = vlan;
	s->client.ip6[0] = 0xfd;
	put16(s->client.ip6 + 6, net);
	put16(s->client.ip6 + 14, host);
	memcpy(s->server.ip6, server6, 16);
}

/* A client segment through XDP; returns the action, out holds the frame. */
static int client_send(struct session *s, const char *payload, struct frame *out)
{
	struct frame in;
	int act;

	build_frame(&in, &s->client, &s->server, s->cseq, s->sseq, F_ACK | F_PSH, 502, payload,
		    &s->shape);
	act = run_prog(xdp_fd, &in, out);
	s->cseq += (u32)strlen(payload);
	return act;
}

/* A server segment through TC egress; returns the action. */
static int server_send(struct session *s, const char *payload, struct frame *out)
{
	struct frame in;
	int act;

	build_frame(&in, &s->server, &s->client, s->sseq, s->cseq, F_ACK | F_PSH, 510, payload,
		    &s->shape);
	act = run_prog(tc_fd, &in, out);
	s->sseq += (u32)strlen(payload);
	return act;
}

/* SYN, SYN-ACK and the server's greeting. */
static void session_greet(struct session *s)
{
	struct frame in, out;

	build_frame(&in, &s->client, &s->server, s->cseq, 0, F_SYN, 64240, NULL, &s->shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "%s: SYN passes", s->name);
	s->cseq++;
	build_frame(&in, &s->server, &s->client, s->sseq, s->cseq, F_SYN | F_ACK, 65160, NULL,
		    &s->shape);
	CHECK(run_prog(tc_fd, &in, &out) == 0 /* TC_ACT_OK */, "%s: SYN-ACK passes", s->name);
	s->sseq++;
	server_send(s, "220 mx.example ESMTP\r\n", &out);
}

/* SYN, SYN-ACK, greeting, EHLO and its reply, MAIL and its reply. */
static void session_open(struct session *s, const char *ehlo_reply, struct frame *ehlo_out)
{
	struct frame in, out;

	build_frame(&in, &s->client, &s->server, s->cseq, 0, F_SYN, 64240, NULL, &s->shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "%s: SYN passes", s->name);
	s->cseq++;
	build_frame(&in, &s->server, &s->client, s->sseq, s->cseq, F_SYN | F_ACK, 65160, NULL,
		    &s->shape);
	CHECK(run_prog(tc_fd, &in, &out) == 0 /* TC_ACT_OK */, "%s: SYN-ACK passes", s->name);
	s->sseq++;
	server_send(s, "220 mx.example ESMTP\r\n", &out);
	CHECK(client_send(s, "EHLO client.example\r\n", &out) == XDP_PASS, "%s: EHLO passes",
	      s->name);
	server_send(s, ehlo_reply, ehlo_out ? ehlo_out : &out);
	CHECK(client_send(s, "MAIL FROM:<alice@sender.example>\r\n", &out) == XDP_PASS,
	      "%s: MAIL passes", s->name);
	server_send(s, "250 2.1.0 Ok\r\n", &out);
}

/*
 * The frame XDP_TX must send for a client RCPT segment 'in': addresses and
 * ports swapped, seq = the server's next byte, ack = the end of the RCPT
 * line, PSH|ACK, the server's window, the IPv4 header's other fields as the
 * client sent them, and the rendered reply.
 */
static void expected_reply(struct frame *exp, const struct session *s, u32 rcpt_seq, u32 rcpt_len,
			   const char *text)
{
	build_frame(exp, &s->server, &s->client, s->sseq, rcpt_seq + rcpt_len, F_ACK | F_PSH, 510,
		    text, &s->shape);
}

static void dump_diff(const struct frame *got, const struct frame *want)
{
	u32 i, n = got->len < want->len ? got->len : want->len;

	fprintf(stderr, "  got %u bytes, want %u\n", got->len, want->len);
	for (i = 0; i < n; i++)
		if (got->b[i] != want->b[i]) {
			fprintf(stderr, "  first difference at byte %u: got %02x want %02x\n", i,
				got->b[i], want->b[i]);
			break;
		}
}

static const char EHLO_REPLY[] = "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

static void case_unseen_rcpt_greylisted(void)
{
	char text[512];
	struct gw_reply_vars v = {.rcpt = "bob@rcpt.example", .sender = "", .seconds = 300};
	struct session s;
	struct frame out, exp, ehlo_out;
	u32 rcpt_seq;
	const char *rcpt = "RCPT TO:<bob@rcpt.example>\r\n";
	u64 injected = stat_sum(GW_RS_REPLIES_INJECTED), masked = stat_sum(GW_RS_PIPELINING_MASKED);

	printf("case: unseen RCPT -> 450 frame, PIPELINING masked, later segments translated\n");
	session_init(&s, "unseen", 0xc6120101, 40001); /* 198.18.1.1 */
	session_open(&s, EHLO_REPLY, &ehlo_out);
	CHECK(memmem(ehlo_out.b, ehlo_out.len, "250-XIPELINING\r\n", 16) != NULL,
	      "PIPELINING is masked for an unknown client network");
	CHECK(frame_csums_ok(&ehlo_out), "masked EHLO reply has valid checksums");
	CHECK(stat_sum(GW_RS_PIPELINING_MASKED) == masked + 1, "mask counted");

	rcpt_seq = s.cseq;
	gw_reply_render(GW_REPLY_GREYLIST_DEFAULT, &v, text, sizeof(text));
	expected_reply(&exp, &s, rcpt_seq, (u32)strlen(rcpt), text);
	CHECK(client_send(&s, rcpt, &out) == XDP_TX, "unseen RCPT is answered with XDP_TX");
	CHECK(out.len == exp.len && !memcmp(out.b, exp.b, exp.len),
	      "the 450 frame is exactly the expected one");
	if (out.len != exp.len || memcmp(out.b, exp.b, exp.len))
		dump_diff(&out, &exp);
	CHECK(stat_sum(GW_RS_REPLIES_INJECTED) == injected + 1, "injection counted");

	/* The client takes our reply and goes on: QUIT, acking our bytes. */
	{
		u32 reply_len = (u32)strlen(text), rcpt_len = (u32)strlen(rcpt);
		struct frame in;

		s.sseq += reply_len; /* the client saw our reply as server bytes */
		build4(&in, &s.client, &s.server, s.cseq, s.sseq, F_ACK | F_PSH, 502, "QUIT\r\n");
		CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "QUIT passes");
		CHECK(tcp_u32(&out, 4) == s.cseq - rcpt_len,
		      "QUIT's seq lost the removed RCPT line (%u, want %u)", tcp_u32(&out, 4),
		      s.cseq - rcpt_len);
		CHECK(tcp_u32(&out, 8) == s.sseq - reply_len,
		      "QUIT's ack lost our inserted reply (%u, want %u)", tcp_u32(&out, 8),
		      s.sseq - reply_len);
		CHECK(frame_csums_ok(&out), "translated QUIT has valid checksums");
		/* the server answers in its own numbering; the client must see ours */
		build4(&in, &s.server, &s.client, s.sseq - reply_len, s.cseq - rcpt_len + 6,
		       F_ACK | F_PSH, 510, "221 2.0.0 Bye\r\n");
		CHECK(run_prog(tc_fd, &in, &out) == 0, "221 passes TC");
		CHECK(tcp_u32(&out, 4) == s.sseq, "221's seq moved past our reply (%u, want %u)",
		      tcp_u32(&out, 4), s.sseq);
		CHECK(tcp_u32(&out, 8) == s.cseq + 6,
		      "221's ack covers the removed line (%u, want %u)", tcp_u32(&out, 8),
		      s.cseq + 6);
		CHECK(frame_csums_ok(&out), "translated 221 has valid checksums");
	}
}

static void case_retry_after_delay_passes(void)
{
	struct session s;
	struct frame out;
	u64 pass = stat_sum(GW_RS_VERDICT_FIRST + GW_V_PASS), early;

	printf("case: early retry greylisted again, retry after the delay passes\n");
	session_init(&s, "early", 0xc6120102, 40002); /* same /24 as the first case */
	session_open(&s, EHLO_REPLY, NULL);
	early = stat_sum(GW_RS_VERDICT_FIRST + GW_V_GREYLIST);
	CHECK(client_send(&s, "RCPT TO:<bob@rcpt.example>\r\n", &out) == XDP_TX,
	      "a retry inside the delay is greylisted again");
	CHECK(stat_sum(GW_RS_VERDICT_FIRST + GW_V_GREYLIST) == early + 1, "greylist counted");

	set_clock_offset(301LL * 1000000000LL);
	session_init(&s, "retry", 0xc6120103, 40003);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "RCPT TO:<bob@rcpt.example>\r\n", &out) == XDP_PASS,
	      "the retry after the delay passes");
	CHECK(stat_sum(GW_RS_VERDICT_FIRST + GW_V_PASS) == pass + 1, "pass counted");
	session_init(&s, "again", 0xc6120104, 40004);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "RCPT TO:<bob@rcpt.example>\r\n", &out) == XDP_PASS,
	      "the passed triplet keeps passing");
	set_clock_offset(0);
}

static u32 expect_reply_frame(struct session *s, const char *rcpt_line, const char *rcpt,
			      const char *tmpl, u32 seconds, const char *what);

/* A client trie entry in list generation 0 (the one in force here): colour and pool. */
static void put_client_pool(u32 net, u32 prefix, u8 color, u64 pool)
{
	struct gw_relay_lpm4 k = {.prefixlen = prefix};
	struct gw_relay_client_value v = {.colors = color, .pool = {pool, 0}};
	u32 be = htonl(net);

	memcpy(k.addr, &be, 4);
	if (bpf_map_update_elem(clients_v4_fd, &k, &v, BPF_ANY))
		fprintf(stderr, "  clients_v4 update failed\n");
}

static void put_client_net(u32 net, u32 prefix, u8 color)
{
	put_client_pool(net, prefix, color, 0);
}

static void case_client_lists(void)
{
	char text[512];
	struct gw_reply_vars v = {.rcpt = "carol@rcpt.example", .sender = ""};
	struct session s;
	struct frame out, exp;
	u32 rcpt_seq;
	const char *rcpt = "RCPT TO:<carol@rcpt.example>\r\n";
	u64 wl = stat_sum(GW_RS_VERDICT_FIRST + GW_V_PASS_WHITELIST);

	printf("case: whitelisted client passes unmasked; blacklisted client gets a 550 frame\n");
	put_client_net(0xc6120500, 24, GW_RELAY_WHITE); /* 198.18.5.0/24 */
	put_client_net(0xc6120600, 24, GW_RELAY_BLACK); /* 198.18.6.0/24 */

	session_init(&s, "white", 0xc6120505, 40005);
	{
		struct frame ehlo_out;

		session_open(&s, EHLO_REPLY, &ehlo_out);
		CHECK(memmem(ehlo_out.b, ehlo_out.len, "250-PIPELINING\r\n", 16) != NULL,
		      "PIPELINING is left alone for a whitelisted client");
	}
	CHECK(client_send(&s, rcpt, &out) == XDP_PASS, "whitelisted client's RCPT passes");
	CHECK(stat_sum(GW_RS_VERDICT_FIRST + GW_V_PASS_WHITELIST) == wl + 1,
	      "whitelist pass counted");

	session_init(&s, "black", 0xc6120606, 40006);
	session_open(&s, EHLO_REPLY, NULL);
	rcpt_seq = s.cseq;
	gw_reply_render(GW_REPLY_BLACKLIST_DEFAULT, &v, text, sizeof(text));
	expected_reply(&exp, &s, rcpt_seq, (u32)strlen(rcpt), text);
	CHECK(client_send(&s, rcpt, &out) == XDP_TX, "blacklisted client's RCPT is answered");
	CHECK(out.len == exp.len && !memcmp(out.b, exp.b, exp.len),
	      "the 550 frame is exactly the expected one");
	if (out.len != exp.len || memcmp(out.b, exp.b, exp.len))
		dump_diff(&out, &exp);
}

/*
 * A sender pool's retry from another of its networks: the first attempt from
 * 198.18.24.5 is greylisted, the retry after the delay from 198.18.25.7 (another
 * /24 of the same pool) passes, and one from 198.18.26.1 (no pool) does not.
 */
static void case_sender_pool(void)
{
	const char *rcpt = "RCPT TO:<dave@rcpt.example>\r\n";
	u64 pool = gw_pool_id("bigsender", 9);
	struct session s;
	struct frame out;

	printf("case: a sender pool's retry from another /24 of the pool passes\n");
	put_client_pool(0xc6121800, 24, 0, pool); /* 198.18.24.0/24 */
	put_client_pool(0xc6121900, 24, 0, pool); /* 198.18.25.0/24 */
	session_init(&s, "pool-first", 0xc6121805, 40020);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, rcpt, &out) == XDP_TX, "the pool's first attempt is greylisted");
	set_clock_offset(301LL * 1000000000LL);
	session_init(&s, "pool-other", 0xc6121a01, 40021);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, rcpt, &out) == XDP_TX,
	      "a retry from outside the pool (198.18.26.1) is greylisted as new");
	session_init(&s, "pool-retry", 0xc6121907, 40022);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, rcpt, &out) == XDP_PASS,
	      "the retry from the pool's other /24 (198.18.25.7) passes");
	set_clock_offset(0);
}

static void case_fail_open(void)
{
	struct session s;
	struct frame in, out;
	u64 split = stat_sum(GW_RF_SPLIT_LINE), mid = stat_sum(GW_RF_MIDSTREAM);
	u64 piped = stat_sum(GW_RF_PIPELINED), refused = stat_sum(GW_RS_PIPELINING_REFUSED);
	u64 closed = stat_sum(GW_RS_CLOSED_DROPPED), bdat = stat_sum(GW_RF_BDAT);

	printf("case: split and mid-stream commands pass, each counted; pipelining while masked "
	       "ends the session with a 421\n");
	session_init(&s, "split", 0xc6120201, 40007);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "RCPT TO:<dave@rc", &out) == XDP_PASS, "first half passes");
	CHECK(client_send(&s, "pt.example>\r\n", &out) == XDP_PASS, "second half passes");
	CHECK(stat_sum(GW_RF_SPLIT_LINE) >= split + 1, "split line counted");

	/*
	 * Pipelining although PIPELINING was masked (RFC 2920 says it must not):
	 * the whole segment is answered with the 421 and the session ends; what
	 * the client sends after that is dropped, never passed un-judged.
	 */
	session_init(&s, "piped", 0xc6120202, 40008);
	session_open(&s, EHLO_REPLY, NULL);
	expect_reply_frame(&s, "RCPT TO:<erin@rcpt.example>\r\nDATA\r\n", "", GW_REPLY_TLS_DEFAULT,
			   0, "pipelined RCPT+DATA while masked");
	CHECK(stat_sum(GW_RS_PIPELINING_REFUSED) == refused + 1, "pipelining refusal counted");
	CHECK(client_send(&s, "RCPT TO:<erin@rcpt.example>\r\n", &out) == XDP_DROP,
	      "an RCPT after our 421 is dropped");
	CHECK(stat_sum(GW_RS_CLOSED_DROPPED) == closed + 1, "the dropped segment counted");
	CHECK(client_send(&s, "QUIT\r\n", &out) == XDP_PASS,
	      "a QUIT after our 421 reaches the server, which closes its side");

	/* BDAT with its chunk in the same segment is not pipelining: it passes, counted */
	session_init(&s, "bdat", 0xc6120204, 40012);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "BDAT 5 LAST\r\nhello", &out) == XDP_PASS,
	      "BDAT and its chunk in one segment pass");
	CHECK(stat_sum(GW_RS_PIPELINING_REFUSED) == refused + 1, "and are not refused");
	CHECK(stat_sum(GW_RF_BDAT) == bdat + 1, "BDAT counted");

	/* a whitelisted network was not masked: its pipelined segment passes, counted */
	put_client_net(0xc6120500, 24, GW_RELAY_WHITE);
	session_init(&s, "piped-trusted", 0xc6120501, 40010);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "RCPT TO:<erin@rcpt.example>\r\nDATA\r\n", &out) == XDP_PASS,
	      "a trusted network's pipelined RCPT+DATA segment passes");
	CHECK(stat_sum(GW_RF_PIPELINED) == piped + 1, "pipelined segment counted");

	session_init(&s, "mid", 0xc6120203, 40009);
	build4(&in, &s.client, &s.server, 7777, 8888, F_ACK | F_PSH, 502,
	       "RCPT TO:<frank@rcpt.example>\r\n");
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "a flow picked up mid-stream passes");
	CHECK(out.len == in.len && !memcmp(out.b, in.b, in.len), "and is left byte for byte");
	CHECK(stat_sum(GW_RF_MIDSTREAM) == mid + 1, "mid-stream pickup counted");
}

static void case_non_smtp_untouched(void)
{
	struct endpoint a = {.mac = {2, 0, 0, 0, 0, 1}, .ip = 0xc6120301, .port = 40010};
	struct endpoint b = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0xc6120002, .port = 80};
	struct frame in, out;
	u64 pkts = stat_sum(GW_RS_PACKETS);

	printf("case: non-SMTP traffic passes byte for byte, uncounted\n");
	build4(&in, &a, &b, 1, 2, F_ACK | F_PSH, 100, "GET / HTTP/1.0\r\n\r\n");
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "HTTP passes XDP");
	CHECK(out.len == in.len && !memcmp(out.b, in.b, in.len), "HTTP frame unchanged by XDP");
	CHECK(run_prog(tc_fd, &in, &out) == 0, "HTTP passes TC");
	CHECK(out.len == in.len && !memcmp(out.b, in.b, in.len), "HTTP frame unchanged by TC");
	CHECK(stat_sum(GW_RS_PACKETS) == pkts, "not counted as SMTP");

	/* IPv6 that is not TCP: ICMPv6 passes uncounted, an extension chain is counted */
	{
		struct session s6;
		u64 ext = stat_sum(GW_RF_IPV6_EXT);

		session_init6(&s6, "icmp6", 0x30, 1, 40011, 0);
		build_frame(&in, &s6.client, &s6.server, 1, 2, F_ACK, 100, NULL, &s6.shape);
		in.b[14 + 6] = 58; /* ICMPv6: neighbour discovery and the like */
		CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "ICMPv6 passes");
		CHECK(stat_sum(GW_RF_IPV6_EXT) == ext,
		      "ICMPv6 is not counted as an extension chain");
		in.b[14 + 6] = 0; /* hop-by-hop options: TCP may follow, unread */
		CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "an extension chain passes");
		CHECK(stat_sum(GW_RF_IPV6_EXT) == ext + 1, "and is counted");
	}
}

/*
 * Session s is open; its RCPT line gets our reply rendered from tmpl. The
 * frame must be exactly the expected one. Returns the reply's length.
 */
static u32 expect_reply_frame(struct session *s, const char *rcpt_line, const char *rcpt,
			      const char *tmpl, u32 seconds, const char *what)
{
	struct gw_reply_vars v = {.rcpt = rcpt, .sender = "", .seconds = seconds};
	struct frame out, exp;
	char text[512];
	int len = gw_reply_render(tmpl, &v, text, sizeof(text));

	expected_reply(&exp, s, s->cseq, (u32)strlen(rcpt_line), text);
	CHECK(client_send(s, rcpt_line, &out) == XDP_TX, "%s: answered with XDP_TX", what);
	CHECK(out.len == exp.len && !memcmp(out.b, exp.b, exp.len),
	      "%s: the reply frame is exactly the expected one", what);
	if (out.len != exp.len || memcmp(out.b, exp.b, exp.len))
		dump_diff(&out, &exp);
	return len > 0 ? (u32)len : 0;
}

/* The client acks our reply and sends QUIT: seq and ack come out in the server's view. */
static void expect_quit_translated(struct session *s, u32 rcpt_len, u32 reply_len)
{
	struct frame in, out;

	s->sseq += reply_len;
	build_frame(&in, &s->client, &s->server, s->cseq, s->sseq, F_ACK | F_PSH, 502, "QUIT\r\n",
		    &s->shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "%s: QUIT passes", s->name);
	CHECK(tcp_u32(&out, 4) == s->cseq - rcpt_len, "%s: QUIT's seq lost the RCPT line", s->name);
	CHECK(tcp_u32(&out, 8) == s->sseq - reply_len, "%s: QUIT's ack lost our reply", s->name);
	CHECK(frame_csums_ok(&out), "%s: translated QUIT has valid checksums", s->name);
}

static void case_ipv6_and_vlan(void)
{
	const char *rcpt_line = "RCPT TO:<ivan@rcpt.example>\r\n";
	struct session s;
	struct frame ehlo_out;
	u32 reply_len;

	printf("case: IPv6, VLAN-tagged IPv4 and VLAN-tagged IPv6 get exact 450 frames\n");
	session_init6(&s, "ipv6", 0x10, 1, 40020, 0);
	session_open(&s, EHLO_REPLY, &ehlo_out);
	CHECK(memmem(ehlo_out.b, ehlo_out.len, "250-XIPELINING\r\n", 16) != NULL,
	      "ipv6: PIPELINING masked");
	CHECK(frame_csums_ok(&ehlo_out), "ipv6: masked EHLO reply has a valid TCP checksum");
	reply_len = expect_reply_frame(&s, rcpt_line, "ivan@rcpt.example",
				       GW_REPLY_GREYLIST_DEFAULT, 300, "ipv6 unseen RCPT");
	expect_quit_translated(&s, (u32)strlen(rcpt_line), reply_len);

	session_init(&s, "vlan4", 0xc6120801, 40021); /* 198.18.8.1 */
	s.shape.vlan = 100;
	session_open(&s, EHLO_REPLY, NULL);
	reply_len = expect_reply_frame(&s, rcpt_line, "ivan@rcpt.example",
				       GW_REPLY_GREYLIST_DEFAULT, 300, "vlan-tagged IPv4 RCPT");
	expect_quit_translated(&s, (u32)strlen(rcpt_line), reply_len);

	session_init6(&s, "vlan6", 0x11, 1, 40022, 4094);
	session_open(&s, EHLO_REPLY, NULL);
	reply_len = expect_reply_frame(&s, rcpt_line, "ivan@rcpt.example",
				       GW_REPLY_GREYLIST_DEFAULT, 300, "vlan-tagged IPv6 RCPT");
	expect_quit_translated(&s, (u32)strlen(rcpt_line), reply_len);
}

static void case_starttls(void)
{
	struct session s;
	struct frame in, out;
	u64 tls = stat_sum(GW_RS_TLS_GREYLISTED), pending = stat_sum(GW_RS_TLS_PENDING_REFUSED);
	u64 reset = stat_sum(GW_RS_SESSIONS_RESET);

	printf("case: STARTTLS from an unknown client network -> the session reset, its "
	       "plaintext fallback refused at the greeting with 421; after the delay both pass\n");
	session_init(&s, "tls", 0xc6120901, 40030); /* 198.18.9.1 */
	session_open(&s, EHLO_REPLY, NULL);
	/*
	 * Not a 421: an opportunistic-TLS client goes on in plaintext after one,
	 * on the same connection. The session is reset: RST|ACK at the server's
	 * next byte, acking the STARTTLS line, and nothing else.
	 */
	{
		struct frame exp;

		build_frame(&exp, &s.server, &s.client, s.sseq, s.cseq + 10, F_RST | F_ACK, 510, "",
			    &s.shape);
		CHECK(client_send(&s, "STARTTLS\r\n", &out) == XDP_TX,
		      "unknown STARTTLS: answered with XDP_TX");
		CHECK(out.len == exp.len && !memcmp(out.b, exp.b, exp.len),
		      "unknown STARTTLS: the reset frame is exactly the expected one");
		if (out.len != exp.len || memcmp(out.b, exp.b, exp.len))
			dump_diff(&out, &exp);
	}
	CHECK(stat_sum(GW_RS_TLS_GREYLISTED) == tls + 1, "tls greylist counted");
	CHECK(stat_sum(GW_RS_SESSIONS_RESET) == reset + 1, "the reset counted");
	CHECK(client_send(&s, "MAIL FROM:<alice@sender.example>\r\n", &out) == XDP_DROP,
	      "a plaintext command after it is dropped, never passed");

	/*
	 * No downgrade: the client falls back to plaintext at once. Its greeting
	 * gets the same 421 (exact frame), before any envelope is sent; a host of
	 * that network under another HELO name is not held up.
	 */
	session_init(&s, "tls-fallback", 0xc6120903, 40032); /* same /24, same HELO */
	session_greet(&s);
	expect_reply_frame(&s, "EHLO client.example\r\n", "", GW_REPLY_TLS_DEFAULT, 0,
			   "plaintext greeting while TLS is pending");
	CHECK(stat_sum(GW_RS_TLS_PENDING_REFUSED) == pending + 1, "refused greeting counted");
	session_init(&s, "tls-other-host", 0xc6120904, 40033);
	session_greet(&s);
	CHECK(client_send(&s, "EHLO other.example\r\n", &out) == XDP_PASS,
	      "another HELO name's greeting passes");
	CHECK(stat_sum(GW_RS_TLS_PENDING_REFUSED) == pending + 1, "nothing more refused");

	set_clock_offset(301LL * 1000000000LL);
	session_init(&s, "tls-retry", 0xc6120902, 40031); /* same /24, same HELO */
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "STARTTLS\r\n", &out) == XDP_PASS, "STARTTLS after the delay passes");
	server_send(&s, "220 2.0.0 Ready to start TLS\r\n", &out);
	/* what follows is ciphertext: never parsed, never touched, even if it looks like SMTP */
	build_frame(&in, &s.client, &s.server, s.cseq, s.sseq, F_ACK | F_PSH, 502,
		    "RCPT TO:<mallory@rcpt.example>\r\n", &s.shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "encrypted segment passes");
	CHECK(out.len == in.len && !memcmp(out.b, in.b, in.len),
	      "encrypted segment is left byte for byte");
	set_clock_offset(0);
}

/*
 * 20 unseen RCPTs, one at a time, each sent after our reply to the one
 * before: more than the ring of 8 edits holds, and every one gets its exact
 * 450 frame, because the edits both sides acked past fold away. The QUIT
 * after them reaches the server where the first RCPT was.
 */
static void case_many_rcpts_fold(void)
{
	u64 folded = stat_sum(GW_RS_EDITS_FOLDED), full = stat_sum(GW_RF_EDITS_FULL);
	u32 removed = 0, replies = 0;
	struct session s;
	char line[64], rcpt[48];

	printf("case: 20 greylisted RCPTs in one session, each an exact 450 frame (edits fold)\n");
	session_init(&s, "many", 0xc6120a01, 40040); /* 198.18.10.1 */
	session_open(&s, EHLO_REPLY, NULL);
	for (int i = 0; i < 20; i++) {
		u32 len;

		snprintf(rcpt, sizeof(rcpt), "m%d@rcpt.example", i);
		snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpt);
		len = expect_reply_frame(&s, line, rcpt, GW_REPLY_GREYLIST_DEFAULT, 300, rcpt);
		s.sseq += len; /* the client read it: its next segment acks it */
		removed += (u32)strlen(line);
		replies += len;
	}
	CHECK(stat_sum(GW_RS_EDITS_FOLDED) >= folded + 20 - GW_RELAY_MAX_EDITS,
	      "acked edits folded (%llu)",
	      (unsigned long long)(stat_sum(GW_RS_EDITS_FOLDED) - folded));
	CHECK(stat_sum(GW_RF_EDITS_FULL) == full, "the edit ring never filled");
	s.sseq -= replies;
	expect_quit_translated(&s, removed, replies);
}

/*
 * After the server resets the connection nothing is cut from it or injected
 * into it: the client's resend of the greylisted line no longer gets our
 * reply again, it goes on translated (the server's stack answers it).
 */
static void case_reset_flow_left_alone(void)
{
	const char *line = "RCPT TO:<rita@rcpt.example>\r\n";
	struct session s;
	struct frame in, out;
	u64 resent = stat_sum(GW_RS_REPLIES_RESENT);

	printf("case: a reset flow is never cut or injected into again\n");
	session_init(&s, "reset", 0xc6120b01, 40050); /* 198.18.11.1 */
	session_open(&s, EHLO_REPLY, NULL);
	expect_reply_frame(&s, line, "rita@rcpt.example", GW_REPLY_GREYLIST_DEFAULT, 300,
			   "reset: unseen RCPT");
	build_frame(&in, &s.server, &s.client, s.sseq, s.cseq - (u32)strlen(line), F_RST | F_ACK, 0,
		    NULL, &s.shape);
	CHECK(run_prog(tc_fd, &in, &out) == 0, "the server's RST passes");
	build_frame(&in, &s.client, &s.server, s.cseq - (u32)strlen(line), s.sseq, F_ACK | F_PSH,
		    502, line, &s.shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "the resent RCPT passes, no reply made up");
	CHECK(stat_sum(GW_RS_REPLIES_RESENT) == resent, "no reply resent");
}

/*
 * Lines as Postfix reads them: a bare LF ends a line (a NOOP so ended once
 * left the filter taking every later line for a split one, passed un-judged),
 * and tabs before and between the words of an RCPT make it no less one. After
 * DATA the client's bytes wait for the reply (dropped, to be resent): only the
 * reply says whether they are message text or commands.
 */
static void case_postfix_spellings(void)
{
	struct session s;
	struct frame out;
	u64 deferred = stat_sum(GW_RS_DEFERRED);
	u32 len;

	printf(
	    "case: a bare LF ends a line, tabs split words, nothing passes before DATA's reply\n");
	session_init(&s, "spell", 0xc6120c01, 40060); /* 198.18.12.1 */
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "NOOP\n", &out) == XDP_PASS, "spell: a bare-LF NOOP passes");
	server_send(&s, "250 2.0.0 Ok\r\n", &out);
	len =
	    expect_reply_frame(&s, "\tRCPT\tTO:<tina@rcpt.example>\r\n", "tina@rcpt.example",
			       GW_REPLY_GREYLIST_DEFAULT, 300, "spell: a tab-spelt RCPT after it");
	s.sseq += len; /* the client read it */
	CHECK(client_send(&s, "RCPT TO:<postmaster@rcpt.example>\r\n", &out) == XDP_PASS,
	      "spell: an exempt RCPT passes");
	server_send(&s, "250 2.1.5 Ok\r\n", &out);
	CHECK(client_send(&s, "DATA\r\n", &out) == XDP_PASS, "spell: DATA passes");
	CHECK(client_send(&s, ".\r\nMAIL FROM:<a@b.example>\r\n", &out) == XDP_DROP,
	      "spell: bytes before DATA's reply are dropped for a resend");
	CHECK(stat_sum(GW_RS_DEFERRED) == deferred + 1, "spell: counted as deferred");
}

/* A client RST away from the next sequence (the server only challenge-ACKs it) changes nothing. */
static void case_stray_client_rst(void)
{
	struct session s;
	struct frame in, out;

	printf("case: a client RST the server would refuse leaves the session judged\n");
	session_init(&s, "rst", 0xc6120d01, 40070); /* 198.18.13.1 */
	session_open(&s, EHLO_REPLY, NULL);
	build_frame(&in, &s.client, &s.server, s.cseq + 1000, s.sseq, F_RST | F_ACK, 0, NULL,
		    &s.shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "rst: the stray RST goes on");
	build_frame(&in, &s.client, &s.server, s.cseq, s.sseq, F_ACK | F_PSH | 0x20, 502,
		    "RCPTX TO:<ursula@rcpt.example>\r\n", &s.shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_DROP, "rst: urgent data is dropped");
	expect_reply_frame(&s, "RCPT TO:<ursula@rcpt.example>\r\n", "ursula@rcpt.example",
			   GW_REPLY_GREYLIST_DEFAULT, 300, "rst: the RCPT after it");
}

static void case_options_and_sack(void)
{
	/* NOP NOP TS(111, 222), NOP NOP SACK[1000, 2000) of the server's stream */
	static const u8 rcpt_opts[24] = {1, 1, 8, 10, 0, 0, 0,	  111,	0, 0, 0,    222,
					 1, 1, 5, 10, 0, 7, 0xa5, 0x28, 0, 7, 0xa9, 0x10};
	/* our reply: timestamps swapped, the SACK block (about the server's data) gone */
	static const u8 reply_opts[24] = {1, 1, 8, 10, 0, 0, 0, 222, 0, 0, 0, 111,
					  1, 1, 1, 1,  1, 1, 1, 1,   1, 1, 1, 1};
	const char *rcpt_line = "RCPT TO:<judy@rcpt.example>\r\n";
	struct gw_reply_vars v = {.rcpt = "judy@rcpt.example", .sender = "", .seconds = 300};
	struct frame_shape with_ts = {.tcp_opts = rcpt_opts, .tcp_opts_len = 24};
	struct frame_shape reply_shape = {.tcp_opts = reply_opts, .tcp_opts_len = 24};
	u8 sack_opts[12] = {1, 1, 5, 10};
	struct frame_shape with_sack = {.tcp_opts = sack_opts, .tcp_opts_len = 12};
	u32 rcpt_len = (u32)strlen(rcpt_line), reply_len, rcpt_seq;
	struct frame in, out, exp;
	struct session s;
	char text[512];

	printf("case: reply options made ours; SACK blocks translated both ways after an edit\n");
	session_init(&s, "sack", 0xc6120a01, 40040); /* 198.18.10.1 */
	session_open(&s, EHLO_REPLY, NULL);
	reply_len = (u32)gw_reply_render(GW_REPLY_GREYLIST_DEFAULT, &v, text, sizeof(text));
	rcpt_seq = s.cseq;
	build_frame(&in, &s.client, &s.server, s.cseq, s.sseq, F_ACK | F_PSH, 502, rcpt_line,
		    &with_ts);
	build_frame(&exp, &s.server, &s.client, s.sseq, rcpt_seq + rcpt_len, F_ACK | F_PSH, 510,
		    text, &reply_shape);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_TX, "RCPT with options answered");
	CHECK(out.len == exp.len && !memcmp(out.b, exp.b, exp.len),
	      "reply frame: timestamps swapped, SACK blanked, exactly as expected");
	if (out.len != exp.len || memcmp(out.b, exp.b, exp.len))
		dump_diff(&out, &exp);
	s.cseq += rcpt_len;
	s.sseq += reply_len;

	/* the client SACKs server bytes past our reply, in its own view */
	put32(sack_opts + 4, s.sseq + 100);
	put32(sack_opts + 8, s.sseq + 200);
	build_frame(&in, &s.client, &s.server, s.cseq, s.sseq, F_ACK, 502, NULL, &with_sack);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "client SACK segment passes");
	CHECK(tcp_u32(&out, 8) == s.sseq - reply_len, "its ack is in the server's view");
	CHECK(tcp_u32(&out, 24) == s.sseq + 100 - reply_len &&
		  tcp_u32(&out, 28) == s.sseq + 200 - reply_len,
	      "its SACK block is in the server's view ([%u, %u), want [%u, %u))", tcp_u32(&out, 24),
	      tcp_u32(&out, 28), s.sseq + 100 - reply_len, s.sseq + 200 - reply_len);
	CHECK(frame_csums_ok(&out), "translated client SACK has a valid checksum");

	/* the server SACKs client bytes past the removed line, in its own view */
	put32(sack_opts + 4, s.cseq - rcpt_len + 50);
	put32(sack_opts + 8, s.cseq - rcpt_len + 80);
	build_frame(&in, &s.server, &s.client, s.sseq - reply_len, s.cseq - rcpt_len, F_ACK, 510,
		    NULL, &with_sack);
	CHECK(run_prog(tc_fd, &in, &out) == 0, "server SACK segment passes TC");
	CHECK(tcp_u32(&out, 4) == s.sseq, "its seq is in the client's view");
	CHECK(tcp_u32(&out, 8) == s.cseq, "its ack is in the client's view");
	CHECK(tcp_u32(&out, 24) == s.cseq + 50 && tcp_u32(&out, 28) == s.cseq + 80,
	      "its SACK block is in the client's view ([%u, %u), want [%u, %u))", tcp_u32(&out, 24),
	      tcp_u32(&out, 28), s.cseq + 50, s.cseq + 80);
	CHECK(frame_csums_ok(&out), "translated server SACK has a valid checksum");
}

/* Loaded by plain bpftool, nobody writes the config: the first packet must install it whole. */
static void case_defaults_installed_by_first_packet(void)
{
	struct endpoint a = {.mac = {2, 0, 0, 0, 0, 1}, .ip = 0xc6120301, .port = 40012};
	struct endpoint b = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0xc6120002, .port = 80};
	struct gw_relay_config got;
	struct frame in, out;
	u32 zero = 0;

	printf("case: the first packet installs the built-in config, every byte of it\n");
	build4(&in, &a, &b, 1, 2, F_ACK, 100, NULL);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "a packet passes before any config");
	CHECK(bpf_map_lookup_elem(config_fd, &zero, &got) == 0, "config readable");
	CHECK(!memcmp(&got, &gw_relay_default_config, sizeof(got)),
	      "config equals gw_relay_default_config (smtp_port %u, delay %u)", got.smtp_port,
	      got.policy.delay);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s greywall.bpf.o\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || (err = bpf_object__load(obj))) {
		fprintf(stderr, "%s: cannot load\n", argv[1]);
		return 1;
	}
	xdp_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "greywall_xdp"));
	tc_fd = bpf_program__fd(bpf_object__find_program_by_name(obj, "greywall_tc_egress"));
	config_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "config"));
	stats_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "stats"));
	clients_v4_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "clients_v4"));
	case_defaults_installed_by_first_packet();
	cfg = gw_relay_default_config;
	set_clock_offset(0);

	case_non_smtp_untouched();
	case_unseen_rcpt_greylisted();
	case_retry_after_delay_passes();
	case_client_lists();
	case_sender_pool();
	case_fail_open();
	case_ipv6_and_vlan();
	case_starttls();
	case_many_rcpts_fold();
	case_reset_flow_left_alone();
	case_postfix_spellings();
	case_stray_client_rst();
	case_options_and_sack();

	bpf_object__close(obj);
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
