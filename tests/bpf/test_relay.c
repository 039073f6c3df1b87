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

/* Both checksums of an IPv4/TCP frame verify. */
static int frame_csums_ok(const struct frame *f)
{
	const u8 *ip = f->b + 14, *tcp = ip + 20;
	u32 tcp_len = (u32)(ip[2] << 8 | ip[3]) - 20;
	u8 ph[12];

	if (csum_fold(csum_add(0, ip, 20)) != 0)
		return 0;
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 6;
	ph[10] = (u8)(tcp_len >> 8);
	ph[11] = (u8)tcp_len;
	return csum_fold(csum_add(csum_add(0, ph, 12), tcp, tcp_len)) == 0;
}

static u32 tcp_u32(const struct frame *f, u32 off)
{
	u32 v;

	memcpy(&v, f->b + 14 + 20 + off, 4);
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
	u32 cseq, sseq;
	const char *name;
};

static void session_init(struct session *s, const char *name, u32 client_ip, u16 port)
{
	static const u8 cmac[6] = {2, 0, 0, 0, 0, 1}, smac[6] = {2, 0, 0, 0, 0, 2};

	memset(s, 0, sizeof(*s));
	s->name = name;
	memcpy(s->client.mac, cmac, 6);
	memcpy(s->server.mac, smac, 6);
	s->client.ip = client_ip;
	s->client.port = port;
	s->server.ip = 0xc6120002; /* 198.18.0.2 */
	s->server.port = 25;
	s->cseq = 1000;
	s->sseq = 500000;
}

/* A client segment through XDP; returns the action, out holds the frame. */
static int client_send(struct session *s, const char *payload, struct frame *out)
{
	struct frame in;
	int act;

	build4(&in, &s->client, &s->server, s->cseq, s->sseq, F_ACK | F_PSH, 502, payload);
	act = run_prog(xdp_fd, &in, out);
	s->cseq += (u32)strlen(payload);
	return act;
}

/* A server segment through TC egress; returns the action. */
static int server_send(struct session *s, const char *payload, struct frame *out)
{
	struct frame in;
	int act;

	build4(&in, &s->server, &s->client, s->sseq, s->cseq, F_ACK | F_PSH, 510, payload);
	act = run_prog(tc_fd, &in, out);
	s->sseq += (u32)strlen(payload);
	return act;
}

/* SYN, SYN-ACK, greeting, EHLO and its reply, MAIL and its reply. */
static void session_open(struct session *s, const char *ehlo_reply, struct frame *ehlo_out)
{
	struct frame in, out;

	build4(&in, &s->client, &s->server, s->cseq, 0, F_SYN, 64240, NULL);
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "%s: SYN passes", s->name);
	s->cseq++;
	build4(&in, &s->server, &s->client, s->sseq, s->cseq, F_SYN | F_ACK, 65160, NULL);
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
	build4(exp, &s->server, &s->client, s->sseq, rcpt_seq + rcpt_len, F_ACK | F_PSH, 510, text);
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

static void put_client_net(u32 net, u32 prefix, u8 color)
{
	struct gw_relay_lpm4 k = {.prefixlen = prefix};
	u32 be = htonl(net);

	memcpy(k.addr, &be, 4);
	if (bpf_map_update_elem(clients_v4_fd, &k, &color, BPF_ANY))
		fprintf(stderr, "  clients_v4 update failed\n");
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

static void case_fail_open(void)
{
	struct session s;
	struct frame in, out;
	u64 split = stat_sum(GW_RF_SPLIT_LINE), mid = stat_sum(GW_RF_MIDSTREAM);
	u64 piped = stat_sum(GW_RF_PIPELINED);

	printf("case: split, pipelined and mid-stream commands pass, each counted\n");
	session_init(&s, "split", 0xc6120201, 40007);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "RCPT TO:<dave@rc", &out) == XDP_PASS, "first half passes");
	CHECK(client_send(&s, "pt.example>\r\n", &out) == XDP_PASS, "second half passes");
	CHECK(stat_sum(GW_RF_SPLIT_LINE) >= split + 1, "split line counted");

	session_init(&s, "piped", 0xc6120202, 40008);
	session_open(&s, EHLO_REPLY, NULL);
	CHECK(client_send(&s, "RCPT TO:<erin@rcpt.example>\r\nDATA\r\n", &out) == XDP_PASS,
	      "a pipelined RCPT+DATA segment passes");
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
	struct endpoint a = {{2, 0, 0, 0, 0, 1}, 0xc6120301, 40010};
	struct endpoint b = {{2, 0, 0, 0, 0, 2}, 0xc6120002, 80};
	struct frame in, out;
	u64 pkts = stat_sum(GW_RS_PACKETS);

	printf("case: non-SMTP traffic passes byte for byte, uncounted\n");
	build4(&in, &a, &b, 1, 2, F_ACK | F_PSH, 100, "GET / HTTP/1.0\r\n\r\n");
	CHECK(run_prog(xdp_fd, &in, &out) == XDP_PASS, "HTTP passes XDP");
	CHECK(out.len == in.len && !memcmp(out.b, in.b, in.len), "HTTP frame unchanged by XDP");
	CHECK(run_prog(tc_fd, &in, &out) == 0, "HTTP passes TC");
	CHECK(out.len == in.len && !memcmp(out.b, in.b, in.len), "HTTP frame unchanged by TC");
	CHECK(stat_sum(GW_RS_PACKETS) == pkts, "not counted as SMTP");
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
	/* the built-in defaults, as the first packet would install them */
	cfg = gw_relay_default_config;
	set_clock_offset(0);

	case_non_smtp_untouched();
	case_unseen_rcpt_greylisted();
	case_retry_after_delay_passes();
	case_client_lists();
	case_fail_open();

	bpf_object__close(obj);
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
