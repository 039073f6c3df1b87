// SPDX-License-Identifier: BSD-2-Clause
/*
 * The relay filter against a bare XDP_PASS, both through BPF_PROG_TEST_RUN
 * with repeat, in one run: ns per packet and the ratio, for segments that
 * leave no state behind:
 *   non-SMTP          an HTTP segment (the goal: within 1.2x of XDP_PASS);
 *   SMTP, untracked   a port-25 segment of a flow the filter never saw.
 * RCPT decisions cannot use repeat: test_run runs every repetition on one
 * buffer, and the first rewrites the RCPT into our reply. So each RCPT is
 * timed alone (repeat 1) in a fresh session set up untimed, and so is
 * XDP_PASS; a single run's duration includes the timer's own reads, so the
 * decision's cost is reported as the median difference, next to the ratio:
 *   RCPT miss         an unseen triplet: table insert and the 450 written (XDP_TX);
 *   RCPT hit          a triplet that passed already: lookup, update, XDP_PASS.
 * Usage: bpf_bench GREYWALL_OBJ XDP_PASS_OBJ [REPEAT]
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "greywall/lists.h"
#include "greywall/relay.h"
#include "greywall/relay_defaults.h"

#include "tcp_frame.h"

static double ns_per_pkt(int fd, const struct frame *f, u32 repeat)
{
	u8 out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &o) || o.retval != XDP_PASS)
		return -1;
	return o.duration; /* the kernel reports the mean ns per run */
}

/* One run of prog on frame f, repeat 1: its action, and its duration in *ns. */
static int run_once(int fd, struct frame *f, u32 *ns)
{
	u8 out[FRAME_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(fd, &o))
		return -1;
	if (ns)
		*ns = o.duration;
	return (int)o.retval;
}

struct rcpt_bench {
	int xdp, tc, pass;
	struct endpoint client, server;
	u32 cseq, sseq;
	u32 mail_ns; /* the last session's MAIL: parse and normalise, no decision */
};

/* A client segment through XDP or a server one through TC, untimed. */
static void say(struct rcpt_bench *b, int from_client, const char *text)
{
	struct frame f;

	if (from_client) {
		build4(&f, &b->client, &b->server, b->cseq, b->sseq, F_ACK | F_PSH, 502, text);
		run_once(b->xdp, &f, NULL);
		b->cseq += (u32)strlen(text);
	} else {
		build4(&f, &b->server, &b->client, b->sseq, b->cseq, F_ACK | F_PSH, 510, text);
		run_once(b->tc, &f, NULL);
		b->sseq += (u32)strlen(text);
	}
}

/* A fresh session up to MAIL's reply, then the RCPT timed: its action and ns. */
static int timed_rcpt(struct rcpt_bench *b, u16 port, const char *rcpt, u32 *ns)
{
	struct frame f;

	b->client.port = port;
	b->cseq = 1000;
	b->sseq = 500000;
	build4(&f, &b->client, &b->server, b->cseq++, 0, F_SYN, 64240, NULL);
	run_once(b->xdp, &f, NULL);
	build4(&f, &b->server, &b->client, b->sseq++, b->cseq, F_SYN | F_ACK, 65160, NULL);
	run_once(b->tc, &f, NULL);
	say(b, 0, "220 mx.example ESMTP\r\n");
	say(b, 1, "EHLO client.example\r\n");
	say(b, 0, "250-mx.example\r\n250 8BITMIME\r\n");
	build4(&f, &b->client, &b->server, b->cseq, b->sseq, F_ACK | F_PSH, 502,
	       "MAIL FROM:<alice@sender.example>\r\n");
	run_once(b->xdp, &f, &b->mail_ns);
	b->cseq += (u32)strlen("MAIL FROM:<alice@sender.example>\r\n");
	say(b, 0, "250 2.1.0 Ok\r\n");
	build4(&f, &b->client, &b->server, b->cseq, b->sseq, F_ACK | F_PSH, 502, rcpt);
	return run_once(b->xdp, &f, ns);
}

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static u32 median(u32 *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

#define RCPT_SAMPLES 4000

/*
 * One entry in the client trie, the same size either way: a sender pool over
 * the bench client's /24 (pooled) or over another network, so both runs pay
 * the same LPM lookup and differ only in the key the triplet is made with.
 */
static void put_pool(struct bpf_object *obj, int pooled)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "clients_v4"));
	struct gw_relay_lpm4 k = {.prefixlen = 24, .addr = {198, 18, 1, 0}};
	struct gw_relay_client_value v = {.pool = {gw_pool_id("bench", 5), 0}};
	struct gw_relay_lpm4 other = {.prefixlen = 24, .addr = {198, 18, 200, 0}};

	bpf_map_delete_elem(fd, &k);
	bpf_map_delete_elem(fd, &other);
	bpf_map_update_elem(fd, pooled ? &k : &other, &v, BPF_ANY);
}

/* Median ns of RCPT decisions (miss, hit) and of XDP_PASS, each run alone. */
static int bench_rcpt(struct bpf_object *obj, int pass, int pooled, u32 medians[2])
{
	static u32 miss[RCPT_SAMPLES], hit[RCPT_SAMPLES], base[RCPT_SAMPLES], mail[RCPT_SAMPLES];
	struct rcpt_bench b = {.pass = pass};
	struct gw_relay_config cfg = gw_relay_default_config;
	const char *who = pooled ? "pool" : "user";
	int config_fd, i, j;
	char rcpt[96];
	struct frame f;
	u32 zero = 0, m_miss, m_hit, m_base;

	b.xdp = bpf_program__fd(bpf_object__find_program_by_name(obj, "greywall_xdp"));
	b.tc = bpf_program__fd(bpf_object__find_program_by_name(obj, "greywall_tc_egress"));
	config_fd = bpf_map__fd(bpf_object__find_map_by_name(obj, "config"));
	b.client = (struct endpoint){.mac = {2, 0, 0, 0, 0, 1}, .ip = 0xc6120101};
	b.server = (struct endpoint){.mac = {2, 0, 0, 0, 0, 2}, .ip = 0xc6120002, .port = 25};
	cfg.policy.awl_clients = 0; /* every hit is a triplet lookup, not the client's awl */
	bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY);
	put_pool(obj, pooled);

	for (i = 0; i < RCPT_SAMPLES; i++) {
		snprintf(rcpt, sizeof(rcpt), "RCPT TO:<%s%d@rcpt.example>\r\n", who, i);
		if (timed_rcpt(&b, (u16)(20000 + i % 16000), rcpt, &miss[i]) != XDP_TX)
			return -1;
		mail[i] = b.mail_ns;
	}
	/* the same triplets after the delay: the first pass updates, then they hit */
	cfg.clock_offset_ns = (s64)(cfg.policy.delay + 1) * 1000000000LL;
	bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY);
	for (j = 0; j < 2; j++)
		for (i = 0; i < RCPT_SAMPLES; i++) {
			snprintf(rcpt, sizeof(rcpt), "RCPT TO:<%s%d@rcpt.example>\r\n", who, i);
			if (timed_rcpt(&b, (u16)(40000 + i % 16000), rcpt, &hit[i]) != XDP_PASS)
				return -1;
		}
	build4(&f, &b.client, &b.server, 1, 1, F_ACK | F_PSH, 4096, "GET / HTTP/1.0\r\n\r\n");
	for (i = 0; i < RCPT_SAMPLES; i++)
		run_once(pass, &f, &base[i]);
	m_miss = median(miss, RCPT_SAMPLES);
	m_hit = median(hit, RCPT_SAMPLES);
	m_base = median(base, RCPT_SAMPLES);
	medians[0] = m_miss;
	medians[1] = m_hit;
	if (pooled)
		return 0;
	printf("%-22s %12u %12u %7.2fx  (decision: %d ns over XDP_PASS)\n", "RCPT miss (450 sent)",
	       m_miss, m_base, (double)m_miss / m_base, (int)m_miss - (int)m_base);
	printf("%-22s %12u %12u %7.2fx  (decision: %d ns over XDP_PASS)\n", "RCPT hit (pass)",
	       m_hit, m_base, (double)m_hit / m_base, (int)m_hit - (int)m_base);
	m_hit = median(mail, RCPT_SAMPLES);
	printf("%-22s %12u %12u %7.2fx  (parse + normalise, no decision)\n", "MAIL FROM", m_hit,
	       m_base, (double)m_hit / m_base);
	return 0;
}

static int prog_fd(const char *path, const char *name, struct bpf_object **obj)
{
	*obj = bpf_object__open_file(path, NULL);
	if (!*obj || bpf_object__load(*obj)) {
		fprintf(stderr, "bpf_bench: cannot load %s\n", path);
		exit(1);
	}
	return bpf_program__fd(bpf_object__find_program_by_name(*obj, name));
}

int main(int argc, char **argv)
{
	struct endpoint client = {.mac = {2, 0, 0, 0, 0, 1}, .ip = 0xc6120001, .port = 40000};
	struct endpoint web = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0xc6120002, .port = 80};
	struct endpoint mx = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0xc6120002, .port = 25};
	struct bpf_object *gw_obj, *pass_obj;
	struct frame http, smtp;
	u32 repeat = argc > 3 ? (u32)atoi(argv[3]) : 2000000;
	int gw, pass, round;

	if (argc < 3) {
		fprintf(stderr, "usage: %s greywall.bpf.o xdp_pass.bpf.o [repeat]\n", argv[0]);
		return 2;
	}
	{
		/* run-time accounting adds the same ~40 ns to both, flattening every ratio */
		FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "r");

		if (f && fgetc(f) == '1')
			fprintf(stderr, "bpf_bench: kernel.bpf_stats_enabled=1 skews the ratios; "
					"set it to 0\n");
		if (f)
			fclose(f);
	}
	gw = prog_fd(argv[1], "greywall_xdp", &gw_obj);
	pass = prog_fd(argv[2], "xdp_pass", &pass_obj);
	build4(&http, &client, &web, 1, 1, F_ACK | F_PSH, 4096, "GET / HTTP/1.0\r\n\r\n");
	build4(&smtp, &client, &mx, 1, 1, F_ACK | F_PSH, 4096, "DATA\r\n");

	printf("%-22s %12s %12s %8s\n", "case (XDP, test_run)", "ns/pkt", "XDP_PASS", "ratio");
	for (round = 0; round < 2; round++) {
		double base = ns_per_pkt(pass, &http, repeat);
		double a = ns_per_pkt(gw, &http, repeat);
		double b = ns_per_pkt(gw, &smtp, repeat);

		if (base <= 0 || a < 0 || b < 0) {
			fprintf(stderr, "bpf_bench: a run failed or did not pass\n");
			return 1;
		}
		printf("%-22s %12.1f %12.1f %7.2fx\n", "non-SMTP", a, base, a / base);
		printf("%-22s %12.1f %12.1f %7.2fx\n", "SMTP, untracked flow", b, base, b / base);
	}
	printf("each RCPT timed alone (repeat 1, median of %d fresh sessions):\n", RCPT_SAMPLES);
	{
		u32 plain[2], pool[2];

		if (bench_rcpt(gw_obj, pass, 0, plain) || bench_rcpt(gw_obj, pass, 1, pool)) {
			fprintf(stderr, "bpf_bench: an RCPT did not get the expected verdict\n");
			return 1;
		}
		printf("sender pool key vs the plain /24 key (the same one-entry client trie):\n");
		printf("%-22s %12u %12u %7.2fx\n", "RCPT miss, pool key", pool[0], plain[0],
		       (double)pool[0] / plain[0]);
		printf("%-22s %12u %12u %7.2fx\n", "RCPT hit, pool key", pool[1], plain[1],
		       (double)pool[1] / plain[1]);
	}
	bpf_object__close(gw_obj);
	bpf_object__close(pass_obj);
	return 0;
}
